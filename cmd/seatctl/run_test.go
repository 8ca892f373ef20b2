package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkfreelance/seatgate/sync/journal"
)

func ctl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String() + errb.String(), err
}

// TestProvisioning walks an operator's first day: HQ key, CA, a broker and
// a gateway certificate that verify against the CA, a signed snapshot that
// the gateway side accepts.
func TestProvisioning(t *testing.T) {
	dir := t.TempDir()
	out, err := ctl(t, "keys", "init", "--dir", dir)
	if err != nil || !strings.Contains(out, "hq_key: ") {
		t.Fatalf("keys init: %v\n%s", err, out)
	}
	if _, err := ctl(t, "keys", "init", "--dir", dir); err == nil {
		t.Error("a second keys init must refuse: gateways pin the first key")
	}
	show, err := ctl(t, "keys", "show", "--dir", dir)
	if err != nil || !strings.Contains(out, strings.Split(show, "\n")[0]) {
		t.Errorf("keys show = %q, %v; want the same hq_key as init", show, err)
	}
	if _, err := ctl(t, "cert", "gateway", "--dir", dir, "--centre", "lhr-01", "--gateway", "gw-1", "--out", t.TempDir()); err == nil {
		t.Error("cert gateway without a CA must fail")
	}
	if out, err := ctl(t, "ca", "init", "--dir", dir); err != nil {
		t.Fatalf("ca init: %v\n%s", err, out)
	}
	gw := t.TempDir()
	if out, err := ctl(t, "cert", "gateway", "--dir", dir, "--centre", "lhr-01", "--gateway", "gw-1", "--out", gw); err != nil || !strings.Contains(out, "lhr-01.gw-1") {
		t.Fatalf("cert gateway: %v\n%s", err, out)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(gw, "gateway.pem"), filepath.Join(gw, "gateway-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(filepath.Join(gw, "hq-ca.pem"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("gateway certificate does not verify against the CA: %v", err)
	}
	if leaf.Subject.CommonName != "lhr-01.gw-1" {
		t.Errorf("CN = %q", leaf.Subject.CommonName)
	}
	if _, err := ctl(t, "cert", "gateway", "--dir", dir, "--centre", "LHR", "--gateway", "gw-1", "--out", gw); err == nil {
		t.Error("an invalid centre id must be refused")
	}
	if out, err := ctl(t, "cert", "server", "--dir", dir, "--host", "hq.example.pk", "--host", "127.0.0.1", "--out", t.TempDir()); err != nil {
		t.Fatalf("cert server: %v\n%s", err, out)
	}

	snap := filepath.Join(t.TempDir(), "members.json")
	os.WriteFile(snap, []byte(`{"centre":"lhr-01","revision":3,"generated_at":"2026-11-26T09:00:00+05:00","plans":[],"members":[]}`), 0o600)
	if out, err := ctl(t, "snapshot", "sign", "--dir", dir, snap); err != nil {
		t.Fatalf("snapshot sign: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(snap)
	sig, _ := os.ReadFile(snap + journal.SigSuffix)
	pubLine := strings.TrimPrefix(strings.Split(show, "\n")[0], "hq_key: ")
	if err := verifyWith(pubLine, data, sig); err != nil {
		t.Errorf("signature written by seatctl does not verify with the printed key: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"centre":"lhr-01"}`), 0o600)
	if _, err := ctl(t, "snapshot", "sign", "--dir", dir, bad); err == nil {
		t.Error("signing an invalid snapshot must fail")
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"keys", "show", "extra"}, {"cert", "gateway", "--centre", "x"}} {
		if _, err := ctl(t, args...); !errors.Is(err, errUsage) && err == nil {
			t.Errorf("%q: err = %v, want an error", args, err)
		}
	}
}

package pki_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/hq/pki"
)

const day = 24 * time.Hour

func newCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA(filepath.Join(t.TempDir(), "ca"))
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

func mustParseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	cert, err := pki.ParseCertPEM(certPEM)
	if err != nil {
		t.Fatalf("ParseCertPEM: %v", err)
	}
	return cert
}

func verifyClient(ca *pki.CA, cert *x509.Certificate, at time.Time) error {
	_, err := cert.Verify(x509.VerifyOptions{
		Roots:       ca.CertPool(),
		CurrentTime: at,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	return err
}

func TestNewCACreatesThenLoads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	ca1, err := pki.NewCA(dir)
	if err != nil {
		t.Fatalf("NewCA (create): %v", err)
	}
	st, err := os.Stat(filepath.Join(dir, pki.CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o600 {
		t.Errorf("key file mode: got %v, want 0600", got)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("CA directory: got %v (err %v), want mode 0700", st.Mode().Perm(), err)
	}
	c := ca1.Certificate()
	if !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA certificate: IsCA=%v KeyUsage=%v, want a signing CA", c.IsCA, c.KeyUsage)
	}
	if _, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || c.PublicKey.(*ecdsa.PublicKey).Curve != elliptic.P256() {
		t.Errorf("CA key: got %T, want ECDSA P-256", c.PublicKey)
	}

	ca2, err := pki.NewCA(dir)
	if err != nil {
		t.Fatalf("NewCA (load): %v", err)
	}
	if !bytes.Equal(ca1.Certificate().Raw, ca2.Certificate().Raw) {
		t.Fatal("loaded CA certificate differs from the created one")
	}
	// A certificate issued by the first instance verifies under the second.
	certPEM, _, err := ca1.IssueGateway("lhr-01", "gw-1", nil, day)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyClient(ca2, mustParseCert(t, certPEM), time.Now()); err != nil {
		t.Errorf("verify under reloaded CA: %v", err)
	}
}

func TestNewCARefusesBadDirectories(t *testing.T) {
	other := filepath.Join(t.TempDir(), "other")
	if _, err := pki.NewCA(other); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		prepare func(dir string)
		want    error // nil: any error
	}{
		{"certificate without key", func(dir string) { os.Remove(filepath.Join(dir, pki.CAKeyFile)) }, pki.ErrIncompleteCA},
		{"key without certificate", func(dir string) { os.Remove(filepath.Join(dir, pki.CACertFile)) }, pki.ErrIncompleteCA},
		{"key readable by others", func(dir string) { os.Chmod(filepath.Join(dir, pki.CAKeyFile), 0o644) }, pki.ErrKeyPermissions},
		{"key of another CA", func(dir string) {
			key, _ := os.ReadFile(filepath.Join(other, pki.CAKeyFile))
			os.WriteFile(filepath.Join(dir, pki.CAKeyFile), key, 0o600)
		}, nil},
		{"garbage certificate", func(dir string) {
			os.WriteFile(filepath.Join(dir, pki.CACertFile), []byte("not pem"), 0o644)
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ca")
			if _, err := pki.NewCA(dir); err != nil {
				t.Fatal(err)
			}
			tt.prepare(dir)
			_, err := pki.NewCA(dir)
			if err == nil {
				t.Fatal("NewCA: got nil error, want refusal")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("NewCA: got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestIssueGatewayCertificate(t *testing.T) {
	ca := newCA(t)
	certPEM, keyPEM, err := ca.IssueGateway("lhr-01", "gw-1", nil, 30*day)
	if err != nil {
		t.Fatal(err)
	}
	cert := mustParseCert(t, certPEM)
	if got, want := cert.Subject.CommonName, "lhr-01.gw-1"; got != want {
		t.Errorf("CN: got %q, want %q", got, want)
	}
	// The subject is exactly CN=..., which is what NATS verify_and_map
	// matches the user "CN=lhr-01.gw-1" against.
	if got, want := cert.Subject.String(), "CN=lhr-01.gw-1"; got != want {
		t.Errorf("subject: got %q, want %q", got, want)
	}
	if len(cert.DNSNames)+len(cert.IPAddresses)+len(cert.EmailAddresses)+len(cert.URIs) != 0 {
		t.Errorf("gateway certificate has SANs %v %v %v %v, want none", cert.DNSNames, cert.IPAddresses, cert.EmailAddresses, cert.URIs)
	}
	if err := verifyClient(ca, cert, time.Now()); err != nil {
		t.Errorf("verify as client: %v", err)
	}
	// A gateway certificate must not serve as a broker certificate.
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.CertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("verify as server: got nil error, want a key usage error")
	}
	key, err := pki.ParseKeyPEM(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) {
		t.Error("returned key does not match the certificate")
	}
}

func TestIssueGatewayForGatewayKey(t *testing.T) {
	ca := newCA(t)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueGateway("isb-02", "gw-7", pub, day)
	if err != nil {
		t.Fatal(err)
	}
	if keyPEM != nil {
		t.Errorf("keyPEM: got %d bytes, want nil when the gateway keeps its own key", len(keyPEM))
	}
	cert := mustParseCert(t, certPEM)
	if !pub.Equal(cert.PublicKey) {
		t.Error("certificate is not for the given public key")
	}
	if err := verifyClient(ca, cert, time.Now()); err != nil {
		t.Errorf("verify: %v", err)
	}
}

func TestIssueServerCertificate(t *testing.T) {
	ca := newCA(t)
	certPEM, _, err := ca.IssueServer([]string{"mqtt.hq.example", "127.0.0.1"}, day)
	if err != nil {
		t.Fatal(err)
	}
	cert := mustParseCert(t, certPEM)
	for _, tt := range []struct {
		host string
		ok   bool
	}{{"mqtt.hq.example", true}, {"127.0.0.1", true}, {"evil.example", false}, {"10.0.0.1", false}} {
		_, err := cert.Verify(x509.VerifyOptions{Roots: ca.CertPool(), DNSName: tt.host})
		if got := err == nil; got != tt.ok {
			t.Errorf("verify for %s: got err %v, want ok=%v", tt.host, err, tt.ok)
		}
	}
	if _, _, err := ca.IssueServer(nil, day); err == nil {
		t.Error("IssueServer(no hosts): got nil error")
	}
}

func TestIssueClusterNodeCertificate(t *testing.T) {
	ca := newCA(t)
	certPEM, _, err := ca.IssueClusterNode([]string{"hq-1"}, day)
	if err != nil {
		t.Fatal(err)
	}
	cert := mustParseCert(t, certPEM)
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.CertPool(), DNSName: "hq-1", KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("verify for usage %v: %v", usage, err)
		}
	}
}

func TestExpiredCertificateRejected(t *testing.T) {
	ca := newCA(t)
	certPEM, _, err := ca.IssueGateway("lhr-01", "gw-1", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert := mustParseCert(t, certPEM)
	if err := verifyClient(ca, cert, time.Now().Add(50*time.Minute)); err != nil {
		t.Errorf("within validity: %v", err)
	}
	err = verifyClient(ca, cert, time.Now().Add(2*time.Hour))
	var inv x509.CertificateInvalidError
	if !errors.As(err, &inv) || inv.Reason != x509.Expired {
		t.Errorf("after expiry: got %v, want x509.Expired", err)
	}
}

func TestOtherCARejected(t *testing.T) {
	hq, rogue := newCA(t), newCA(t)
	certPEM, _, err := rogue.IssueGateway("lhr-01", "gw-1", nil, day)
	if err != nil {
		t.Fatal(err)
	}
	err = verifyClient(hq, mustParseCert(t, certPEM), time.Now())
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) {
		t.Errorf("certificate from another CA with the same CN: got %v, want UnknownAuthorityError", err)
	}
}

func TestIssueRefusesBadInput(t *testing.T) {
	ca := newCA(t)
	tests := []struct {
		name             string
		centre, gateway  string
		validFor         time.Duration
		wantInvalidIDErr bool
	}{
		{"empty centre", "", "gw-1", day, true},
		{"upper case", "LHR-01", "gw-1", day, true},
		{"dot in centre", "lhr.01", "gw-1", day, true},
		{"slash in gateway", "lhr-01", "gw/1", day, true},
		{"MQTT wildcard", "lhr-01", "+", day, true},
		{"NATS wildcard", "lhr-01", ">", day, true},
		{"33 characters", strings.Repeat("a", 33), "gw-1", day, true},
		{"non-ASCII", "lhr-01", "gw-é", day, true},
		{"reserved gateway id", "lhr-01", pki.ReservedGatewayID, day, true},
		{"zero validity", "lhr-01", "gw-1", 0, false},
		{"outlives the CA", "lhr-01", "gw-1", pki.CAValidity + day, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certPEM, _, err := ca.IssueGateway(tt.centre, tt.gateway, nil, tt.validFor)
			if err == nil {
				t.Fatalf("IssueGateway: got certificate %d bytes, want error", len(certPEM))
			}
			if got := errors.Is(err, pki.ErrInvalidID); got != tt.wantInvalidIDErr {
				t.Errorf("errors.Is(%v, ErrInvalidID) = %v, want %v", err, got, tt.wantInvalidIDErr)
			}
		})
	}
}

func TestIssueServiceCertificate(t *testing.T) {
	ca := newCA(t)
	certPEM, _, err := ca.IssueService("seathq", nil, day)
	if err != nil {
		t.Fatal(err)
	}
	cert := mustParseCert(t, certPEM)
	if cert.Subject.CommonName != "seathq" {
		t.Errorf("CN: got %q, want seathq", cert.Subject.CommonName)
	}
	if err := verifyClient(ca, cert, time.Now()); err != nil {
		t.Error(err)
	}
	// A service name can never look like a gateway CN.
	if _, _, err := ca.IssueService("lhr-01.gw-1", nil, day); !errors.Is(err, pki.ErrInvalidID) {
		t.Errorf("IssueService(gateway-like name): got %v, want ErrInvalidID", err)
	}
}

func TestGatewayCN(t *testing.T) {
	long := strings.Repeat("z", 32)
	for _, tt := range []struct{ centre, gateway, want string }{
		{"lhr-01", "gw-1", "lhr-01.gw-1"},
		{"a", "b", "a.b"},
		{long, long, long + "." + long},
	} {
		cn, err := pki.GatewayCN(tt.centre, tt.gateway)
		if err != nil || cn != tt.want {
			t.Errorf("GatewayCN(%q, %q) = %q, %v; want %q", tt.centre, tt.gateway, cn, err, tt.want)
		}
		c, g, err := pki.ParseGatewayCN(cn)
		if err != nil || c != tt.centre || g != tt.gateway {
			t.Errorf("ParseGatewayCN(%q) = %q, %q, %v; want %q, %q", cn, c, g, err, tt.centre, tt.gateway)
		}
	}
	for _, cn := range []string{"", "lhr-01", ".gw-1", "lhr-01.", "lhr-01.gw-1.x", "LHR.gw", "seathq"} {
		if c, g, err := pki.ParseGatewayCN(cn); err == nil {
			t.Errorf("ParseGatewayCN(%q) = %q, %q, nil; want error", cn, c, g)
		}
	}
}

func FuzzParseGatewayCN(f *testing.F) {
	for _, s := range []string{"lhr-01.gw-1", "a.b", "", ".", "a..b", "A.b", "a.b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cn string) {
		c, g, err := pki.ParseGatewayCN(cn)
		if err != nil {
			return
		}
		back, err := pki.GatewayCN(c, g)
		if err != nil || back != cn {
			t.Fatalf("ParseGatewayCN(%q) = %q, %q but GatewayCN gives %q, %v", cn, c, g, back, err)
		}
		for _, id := range []string{c, g} {
			if strings.ContainsAny(id, "./+#*> ") {
				t.Fatalf("ParseGatewayCN(%q) accepted id %q with a separator or wildcard", cn, id)
			}
		}
	})
}

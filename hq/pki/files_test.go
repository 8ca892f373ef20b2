package pki_test

import (
	"crypto"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/hq/pki"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gw.key")
	for _, content := range []string{"first", "second, longer content"} {
		if err := pki.WriteFileAtomic(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read back: got %q, %v; want %q", got, err, content)
		}
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode: got %v, want 0600", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the file (no temporary left)", len(entries))
	}
	if err := pki.WriteFileAtomic(filepath.Join(dir, "missing", "x"), []byte("x"), 0o600); err == nil {
		t.Error("write into a missing directory: got nil error")
	}
}

func TestCertAndKeyFilesRoundTrip(t *testing.T) {
	ca := newCA(t)
	certPEM, keyPEM, err := ca.IssueGateway("lhr-01", "gw-1", nil, day)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "gw.pem"), filepath.Join(dir, "gw-key.pem")
	if err := pki.WriteFileAtomic(certPath, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := pki.ReadCertFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	key, err := pki.ReadKeyFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(cert.PublicKey) {
		t.Error("key read back does not match certificate read back")
	}
	if _, err := pki.ReadCertFile(keyPath); err == nil {
		t.Error("ReadCertFile(key file): got nil error")
	}
	if _, err := pki.ReadKeyFile(certPath); err == nil {
		t.Error("ReadKeyFile(certificate file): got nil error")
	}
}

// TestTLSHandshake runs real handshakes with the configurations built from
// issued certificates: a gateway of this CA is accepted, one from another
// CA or without a certificate is refused.
func TestTLSHandshake(t *testing.T) {
	ca, rogue := newCA(t), newCA(t)
	srvCert, srvKey, err := ca.IssueServer([]string{"localhost"}, day)
	if err != nil {
		t.Fatal(err)
	}
	srvConf, err := pki.ServerTLSConfig(srvCert, srvKey, ca.CertPool())
	if err != nil {
		t.Fatal(err)
	}
	good, goodKey, _ := ca.IssueGateway("lhr-01", "gw-1", nil, day)
	bad, badKey, _ := rogue.IssueGateway("lhr-01", "gw-1", nil, day)

	goodConf, err := pki.ClientTLSConfig(good, goodKey, ca.CertPool(), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	badConf, err := pki.ClientTLSConfig(bad, badKey, ca.CertPool(), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	noCertConf := &tls.Config{RootCAs: ca.CertPool(), ServerName: "localhost", MinVersion: tls.VersionTLS12}

	for _, tt := range []struct {
		name   string
		client *tls.Config
		ok     bool
	}{{"gateway of this CA", goodConf, true}, {"gateway of another CA", badConf, false}, {"no client certificate", noCertConf, false}} {
		t.Run(tt.name, func(t *testing.T) {
			cn, err := handshake(srvConf, tt.client)
			if got := err == nil; got != tt.ok {
				t.Fatalf("handshake: got err %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && cn != "lhr-01.gw-1" {
				t.Errorf("server saw client CN %q, want lhr-01.gw-1", cn)
			}
		})
	}
}

// handshake connects a client and a server over a pipe and returns the
// CN of the client certificate the server verified.
func handshake(srvConf, cliConf *tls.Config) (string, error) {
	a, b := net.Pipe()
	deadline := time.Now().Add(5 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	srv, cli := tls.Server(a, srvConf), tls.Client(b, cliConf)
	errc := make(chan error, 1)
	go func() {
		err := cli.Handshake()
		if err == nil {
			// TLS 1.3 reports a refused client certificate on first read.
			_, err = cli.Read(make([]byte, 1))
		}
		cli.Close()
		errc <- err
	}()
	srvErr := srv.Handshake()
	cn := ""
	if srvErr == nil {
		cn = srv.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	srv.Close()
	<-errc
	return cn, srvErr
}

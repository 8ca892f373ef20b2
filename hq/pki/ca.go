package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// File names inside a CA directory.
const (
	CACertFile = "ca.pem"
	CAKeyFile  = "ca-key.pem"
)

// CAValidity is how long a newly created CA certificate is valid.
const CAValidity = 20 * 365 * 24 * time.Hour

// backdate is how far before "now" issued certificates start, to tolerate
// clocks that differ by a few minutes.
const backdate = 5 * time.Minute

var (
	// ErrIncompleteCA: the CA directory holds the certificate or the key
	// but not both.
	ErrIncompleteCA = errors.New("incomplete CA directory")
	// ErrKeyPermissions: the CA key file may be read by group or others.
	ErrKeyPermissions = errors.New("CA key file is readable by group or others")
)

// CA is the HQ certificate authority. Its methods are safe for concurrent
// use.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
}

// NewCA loads the CA kept in dir, or creates a new ECDSA P-256 CA there
// if dir holds neither file. It refuses a directory holding only one of
// the two files, a key file with group or other permissions, and a key
// that does not match the certificate.
func NewCA(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	_, certErr := os.Stat(certPath)
	_, keyErr := os.Stat(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		return loadCA(certPath, keyPath)
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		return createCA(dir, certPath, keyPath)
	case certErr != nil && !errors.Is(certErr, fs.ErrNotExist):
		return nil, fmt.Errorf("open CA: %w", certErr)
	case keyErr != nil && !errors.Is(keyErr, fs.ErrNotExist):
		return nil, fmt.Errorf("open CA: %w", keyErr)
	default:
		return nil, fmt.Errorf("open CA in %s: %w: want both %s and %s", dir, ErrIncompleteCA, CACertFile, CAKeyFile)
	}
}

func loadCA(certPath, keyPath string) (*CA, error) {
	st, err := os.Stat(keyPath)
	if err != nil {
		return nil, fmt.Errorf("open CA: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("open CA: %s has mode %v: %w (want 0600)", keyPath, st.Mode().Perm(), ErrKeyPermissions)
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("open CA: %w", err)
	}
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("open CA: %s: %w", certPath, err)
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("open CA: %s is not a CA certificate", certPath)
	}
	key, err := ReadKeyFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("open CA: %w", err)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("open CA: %s does not match the key in %s", certPath, keyPath)
	}
	return &CA{cert: cert, certPEM: EncodeCertPEM(cert), key: key}, nil
}

func createCA(dir, certPath, keyPath string) (*CA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "seatgate HQ CA", Organization: []string{"seatgate"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	keyPEM, err := EncodeKeyPEM(key)
	if err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	certPEM := EncodeCertPEM(cert)
	// Key first: a crash in between leaves a directory NewCA refuses
	// (ErrIncompleteCA) rather than a certificate without its key.
	if err := WriteFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	if err := WriteFileAtomic(certPath, certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	return &CA{cert: cert, certPEM: certPEM, key: key}, nil
}

// Certificate returns the CA certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// CertPEM returns the CA certificate in PEM form, the file gateways pin.
func (ca *CA) CertPEM() []byte { return append([]byte(nil), ca.certPEM...) }

// CertPool returns a new pool holding only the CA certificate: the roots
// a gateway verifies the broker with, and the client CAs the broker
// verifies gateways with.
func (ca *CA) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// IssueServer issues a broker certificate for hosts (DNS names or IP
// addresses; the first is also the CN), valid for validFor from now. It
// returns the certificate and a new P-256 private key, both PEM.
func (ca *CA) IssueServer(hosts []string, validFor time.Duration) (certPEM, keyPEM []byte, err error) {
	certPEM, keyPEM, err = ca.issueHost(hosts, validFor, x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, nil, fmt.Errorf("issue server certificate: %w", err)
	}
	return certPEM, keyPEM, nil
}

// IssueClusterNode issues the certificate a NATS cluster node presents on
// its routes, where it is the TLS server to some peers and the client of
// others: like IssueServer, with both the serverAuth and clientAuth key
// usages.
func (ca *CA) IssueClusterNode(hosts []string, validFor time.Duration) (certPEM, keyPEM []byte, err error) {
	certPEM, keyPEM, err = ca.issueHost(hosts, validFor, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, nil, fmt.Errorf("issue cluster node certificate: %w", err)
	}
	return certPEM, keyPEM, nil
}

func (ca *CA) issueHost(hosts []string, validFor time.Duration, usage ...x509.ExtKeyUsage) (certPEM, keyPEM []byte, err error) {
	if len(hosts) == 0 {
		return nil, nil, errors.New("no hosts")
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: hosts[0]},
		ExtKeyUsage: usage,
	}
	for _, h := range hosts {
		if h == "" {
			return nil, nil, errors.New("empty host")
		}
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return ca.issue(tmpl, nil, validFor)
}

// IssueGateway issues the client certificate of gateway in centre, with
// CN = GatewayCN(centre, gateway) and nothing else in its subject. If pub
// is nil a new P-256 key is generated and returned as keyPEM; otherwise
// the certificate is for pub (an *ecdsa.PublicKey, ed25519.PublicKey or
// *rsa.PublicKey whose private half stays on the gateway) and keyPEM is
// nil.
func (ca *CA) IssueGateway(centre, gateway string, pub crypto.PublicKey, validFor time.Duration) (certPEM, keyPEM []byte, err error) {
	cn, err := GatewayCN(centre, gateway)
	if err != nil {
		return nil, nil, fmt.Errorf("issue gateway certificate: %w", err)
	}
	certPEM, keyPEM, err = ca.issueClient(cn, pub, validFor)
	if err != nil {
		return nil, nil, fmt.Errorf("issue gateway certificate %s: %w", cn, err)
	}
	return certPEM, keyPEM, nil
}

// IssueService issues a client certificate for one of HQ's own services
// (such as "seathq"), CN = name. name follows the ID rules, so it never
// contains the dot of a gateway CN. pub and keyPEM are as in IssueGateway.
func (ca *CA) IssueService(name string, pub crypto.PublicKey, validFor time.Duration) (certPEM, keyPEM []byte, err error) {
	if err := ValidID(name); err != nil {
		return nil, nil, fmt.Errorf("issue service certificate: %w", err)
	}
	certPEM, keyPEM, err = ca.issueClient(name, pub, validFor)
	if err != nil {
		return nil, nil, fmt.Errorf("issue service certificate %s: %w", name, err)
	}
	return certPEM, keyPEM, nil
}

func (ca *CA) issueClient(cn string, pub crypto.PublicKey, validFor time.Duration) (certPEM, keyPEM []byte, err error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return ca.issue(tmpl, pub, validFor)
}

// issue completes tmpl (serial, validity, key usage), signs it for pub or
// for a new key, and returns the PEM certificate and, for a new key, the
// PEM key.
func (ca *CA) issue(tmpl *x509.Certificate, pub crypto.PublicKey, validFor time.Duration) (certPEM, keyPEM []byte, err error) {
	if validFor <= 0 {
		return nil, nil, fmt.Errorf("validity %v: want a positive duration", validFor)
	}
	now := time.Now()
	tmpl.NotBefore = now.Add(-backdate)
	tmpl.NotAfter = now.Add(validFor)
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		return nil, nil, fmt.Errorf("validity %v: would end after the CA certificate (%s)", validFor, ca.cert.NotAfter.UTC().Format(time.RFC3339))
	}
	if tmpl.SerialNumber, err = randomSerial(); err != nil {
		return nil, nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.BasicConstraintsValid = true
	if pub == nil {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		if keyPEM, err = EncodeKeyPEM(key); err != nil {
			return nil, nil, err
		}
		pub = key.Public()
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey:
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, nil, fmt.Errorf("RSA key of %d bits: want at least 2048", k.N.BitLen())
		}
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	default:
		return nil, nil, fmt.Errorf("public key type %T: want ECDSA, Ed25519 or RSA", pub)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

func randomSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

package release_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/releasetest"
)

func TestKeyFilesRoundTrip(t *testing.T) {
	pubKey, priv, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	privPEM, err := release.EncodePrivateKeyPEM(priv)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := release.EncodePublicKeyPEM(pubKey)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(privPEM, []byte("-----BEGIN PRIVATE KEY-----\n")) ||
		!bytes.HasPrefix(pubPEM, []byte("-----BEGIN PUBLIC KEY-----\n")) {
		t.Fatalf("PEM blocks:\n%s%s", privPEM, pubPEM)
	}
	gotPriv, err := release.ParsePrivateKeyPEM(privPEM)
	if err != nil || !gotPriv.Equal(priv) {
		t.Fatalf("ParsePrivateKeyPEM: %v; equal %v", err, gotPriv.Equal(priv))
	}
	gotPub, err := release.ParsePublicKeyPEM(pubPEM)
	if err != nil || !gotPub.Equal(pubKey) {
		t.Fatalf("ParsePublicKeyPEM: %v; equal %v", err, gotPub.Equal(pubKey))
	}
}

// A key openssl wrote (`openssl genpkey -algorithm ed25519`, RFC 8410
// §10.3 test vector) reads as the same key.
func TestParseOpenSSLKey(t *testing.T) {
	const privPEM = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
-----END PRIVATE KEY-----
`
	const pubPEM = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=
-----END PUBLIC KEY-----
`
	priv, err := release.ParsePrivateKeyPEM([]byte(privPEM))
	if err != nil {
		t.Fatal(err)
	}
	pubKey, err := release.ParsePublicKeyPEM([]byte(pubPEM))
	if err != nil {
		t.Fatal(err)
	}
	if !releasetest.Public(priv).Equal(pubKey) {
		t.Errorf("public key of the private key %x, want %x", releasetest.Public(priv), pubKey)
	}
}

func TestParseKeyFilesRefuse(t *testing.T) {
	privPEM, _ := release.EncodePrivateKeyPEM(k1)
	pubPEM, _ := release.EncodePublicKeyPEM(releasetest.Public(k1))
	ec, err := ecdsa.GenerateKey(elliptic.P256(), bytes.NewReader(bytes.Repeat([]byte{7}, 1024)))
	if err != nil {
		t.Fatal(err)
	}
	ecPriv, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPub, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	withHeader := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"},
		Bytes: mustBlock(t, privPEM)})

	for _, tt := range []struct {
		name  string
		parse func([]byte) error
		in    []byte
	}{
		{"private: empty", parsePriv, nil},
		{"private: public key file", parsePriv, pubPEM},
		{"private: ECDSA", parsePriv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecPriv})},
		{"private: with headers", parsePriv, withHeader},
		{"private: trailing data", parsePriv, append(bytes.Clone(privPEM), "junk"...)},
		{"private: two keys", parsePriv, append(bytes.Clone(privPEM), privPEM...)},
		{"private: bad DER", parsePriv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0}})},
		{"public: private key file", parsePub, privPEM},
		{"public: ECDSA", parsePub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecPub})},
		{"public: raw base64", parsePub, []byte("GbNECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse(tt.in)
			wantErr(t, err, release.ErrMalformed)
			if !strings.Contains(err.Error(), "key") {
				t.Errorf("error %q does not say which key", err)
			}
		})
	}
	if _, err := release.EncodePrivateKeyPEM(k1[:32]); err == nil {
		t.Error("encoded a 32-byte private key")
	}
	if _, err := release.EncodePublicKeyPEM(releasetest.Public(k1)[:31]); err == nil {
		t.Error("encoded a 31-byte public key")
	}
}

func parsePriv(b []byte) error { _, err := release.ParsePrivateKeyPEM(b); return err }
func parsePub(b []byte) error  { _, err := release.ParsePublicKeyPEM(b); return err }

func mustBlock(t testing.TB, b []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("no PEM block")
	}
	return block.Bytes
}

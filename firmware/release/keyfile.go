package release

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// Key files are PEM: a private key is PKCS #8 in a "PRIVATE KEY" block, a
// public key PKIX in a "PUBLIC KEY" block, as openssl writes them
// (`openssl genpkey -algorithm ed25519`, `openssl pkey -pubout`).
const (
	pemPrivate = "PRIVATE KEY"
	pemPublic  = "PUBLIC KEY"
)

// EncodePrivateKeyPEM returns k as a PKCS #8 "PRIVATE KEY" PEM block.
func EncodePrivateKeyPEM(k ed25519.PrivateKey) ([]byte, error) {
	if len(k) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("release: encode private key: %d bytes, want %d", len(k), ed25519.PrivateKeySize)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("release: encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivate, Bytes: der}), nil
}

// ParsePrivateKeyPEM reads an ed25519 private key from one PKCS #8
// "PRIVATE KEY" PEM block. Errors wrap ErrMalformed.
func ParsePrivateKeyPEM(b []byte) (ed25519.PrivateKey, error) {
	der, err := pemBlock(b, pemPrivate)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, malformed("private key", "", "%v", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, malformed("private key", "", "a %T, want an ed25519 key", k)
	}
	return priv, nil
}

// EncodePublicKeyPEM returns k as a PKIX "PUBLIC KEY" PEM block.
func EncodePublicKeyPEM(k ed25519.PublicKey) ([]byte, error) {
	if len(k) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("release: encode public key: %d bytes, want %d", len(k), ed25519.PublicKeySize)
	}
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, fmt.Errorf("release: encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublic, Bytes: der}), nil
}

// ParsePublicKeyPEM reads an ed25519 public key from one PKIX "PUBLIC KEY"
// PEM block. Errors wrap ErrMalformed.
func ParsePublicKeyPEM(b []byte) (ed25519.PublicKey, error) {
	der, err := pemBlock(b, pemPublic)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, malformed("public key", "", "%v", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, malformed("public key", "", "a %T, want an ed25519 key", k)
	}
	return pub, nil
}

// pemBlock returns the bytes of the one PEM block in b, which must be of
// type typ, without headers, and followed by nothing but white space.
func pemBlock(b []byte, typ string) ([]byte, error) {
	doc := "private key"
	if typ == pemPublic {
		doc = "public key"
	}
	block, rest := pem.Decode(b)
	switch {
	case block == nil:
		return nil, malformed(doc, "", "no PEM block")
	case block.Type != typ:
		return nil, malformed(doc, "", "PEM block %.40q, want %q", block.Type, typ)
	case len(block.Headers) > 0:
		return nil, malformed(doc, "", "PEM block has headers (encrypted?); want a plain %q block", typ)
	case len(bytes.TrimSpace(rest)) > 0:
		return nil, malformed(doc, "", "data after the PEM block")
	}
	return block.Bytes, nil
}

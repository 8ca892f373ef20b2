package release

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"
)

// Key is a public key as a root lists it: a root key (no expiry) or a
// release key (with one).
type Key struct {
	ID      string    `json:"id"`               // KeyID(public)
	Public  string    `json:"public"`           // standard base64 of the 32-byte ed25519 key
	Expires time.Time `json:"expires,omitzero"` // release keys only
}

// KeyID names a public key: the lower-case hex of the first 8 bytes of its
// SHA-256, 16 characters (the same as sync/wire.KeyID).
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// NewKey returns the Key for pub: its ID, its base64 and expires in UTC.
// Pass the zero time for a root key and the end of its validity for a
// release key.
func NewKey(pub ed25519.PublicKey, expires time.Time) Key {
	return Key{ID: KeyID(pub), Public: base64.StdEncoding.EncodeToString(pub), Expires: expires.UTC()}
}

// PublicKey decodes k.Public and checks that k.ID names it.
func (k Key) PublicKey() (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(k.Public)
	if err != nil {
		return nil, fmt.Errorf("key %.20q: public key is not standard base64: %v", k.ID, err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("key %.20q: public key is %d bytes, want %d", k.ID, len(b), ed25519.PublicKeySize)
	}
	pub := ed25519.PublicKey(b)
	if id := KeyID(pub); k.ID != id {
		return nil, fmt.Errorf("key %.20q: the public key's ID is %s", k.ID, id)
	}
	return pub, nil
}

// GenerateKey returns a new ed25519 key pair from crypto/rand.
func GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("release: generate key: %w", err)
	}
	return pub, priv, nil
}

// keyRing is a verified key list: public keys by ID, with their expiry.
type keyRing map[string]ringKey

type ringKey struct {
	pub     ed25519.PublicKey
	expires time.Time // zero: never
}

// newKeyRing checks the keys of one list of a root (field names it) and
// returns them by ID: every key decodes, its ID matches, no key is listed
// twice, and release keys (expiring) have an expiry while root keys have
// none.
func newKeyRing(field string, keys []Key, expiring bool) (keyRing, error) {
	ring := make(keyRing, len(keys))
	for i, k := range keys {
		f := fmt.Sprintf("%s[%d]", field, i)
		pub, err := k.PublicKey()
		if err != nil {
			return nil, malformed("root", f, "%v", err)
		}
		if _, dup := ring[k.ID]; dup {
			return nil, malformed("root", f, "key %s is listed twice", k.ID)
		}
		switch {
		case expiring && k.Expires.IsZero():
			return nil, malformed("root", f+".expires", "release key %s has no expiry", k.ID)
		case !expiring && !k.Expires.IsZero():
			return nil, malformed("root", f+".expires", "root key %s has an expiry; root keys last as long as the root", k.ID)
		}
		ring[k.ID] = ringKey{pub: pub, expires: k.Expires}
	}
	return ring, nil
}

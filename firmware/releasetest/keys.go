package releasetest

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
)

// SeedKey returns the ed25519 key whose seed is b repeated, so that keys,
// key IDs and signatures are the same in every run.
func SeedKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

// Public returns k's public key.
func Public(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// RootKey returns k as a root key of root metadata: it does not expire.
func RootKey(k ed25519.PrivateKey) release.Key { return release.NewKey(Public(k), time.Time{}) }

// ReleaseKey returns k as a release key valid until expires.
func ReleaseKey(k ed25519.PrivateKey, expires time.Time) release.Key {
	return release.NewKey(Public(k), expires)
}

// Root returns root metadata version v, valid until expires, with the one
// root key root (threshold 1) and the release keys rel, valid as long.
func Root(v uint64, expires time.Time, root ed25519.PrivateKey, rel ...ed25519.PrivateKey) release.Root {
	r := release.Root{Version: v, Expires: expires, RootKeys: []release.Key{RootKey(root)}, RootThreshold: 1}
	for _, k := range rel {
		r.ReleaseKeys = append(r.ReleaseKeys, ReleaseKey(k, expires))
	}
	return r
}

// SignRoot returns r signed by keys, failing t if release.SignRoot
// refuses.
func SignRoot(t testing.TB, r release.Root, keys ...ed25519.PrivateKey) []byte {
	t.Helper()
	b, err := release.SignRoot(r, keys...)
	if err != nil {
		t.Fatalf("SignRoot: %v", err)
	}
	return b
}

// Keys is a release manager's keys, fresh for one test: a root key, a
// release key, and the root metadata a gateway ships with.
type Keys struct {
	Root    ed25519.PrivateKey
	Release ed25519.PrivateKey
	// RootJSON is root version 1, signed by Root: Root with threshold 1
	// and the release key Release, valid for a year from NewKeys.
	RootJSON []byte
}

// NewKeys returns new random Keys.
func NewKeys(t testing.TB) Keys {
	t.Helper()
	_, root, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	_, rel, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	doc := SignRoot(t, Root(1, time.Now().AddDate(1, 0, 0), root, rel), root)
	return Keys{Root: root, Release: rel, RootJSON: doc}
}

// RootFile writes RootJSON to root.json in a new temporary directory of t
// and returns its path, as a gateway's agent is configured with.
func (k Keys) RootFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "root.json")
	if err := os.WriteFile(path, k.RootJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

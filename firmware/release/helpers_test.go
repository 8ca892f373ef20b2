package release_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
)

// Fixed keys, so that failures and the example are reproducible: root
// keys r1…r4, release keys k1…k3, and a stranger the roots never list.
var (
	r1, r2, r3, r4 = seedKey(0x11), seedKey(0x12), seedKey(0x13), seedKey(0x14)
	k1, k2, k3     = seedKey(0x21), seedKey(0x22), seedKey(0x23)
	stranger       = seedKey(0x99)
)

// now is the time the tests verify at; roots and keys of the fixtures are
// valid from before it until a year after.
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func seedKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func rootKey(k ed25519.PrivateKey) release.Key { return release.NewKey(pub(k), time.Time{}) }

func releaseKey(k ed25519.PrivateKey, expires time.Time) release.Key {
	return release.NewKey(pub(k), expires)
}

// testRoot is root version 1: root keys r1, r2, r3 with threshold 2,
// release keys k1 and k2, all valid for a year from now.
func testRoot() release.Root {
	return release.Root{
		Version:       1,
		Expires:       now.AddDate(1, 0, 0),
		RootKeys:      []release.Key{rootKey(r1), rootKey(r2), rootKey(r3)},
		RootThreshold: 2,
		ReleaseKeys:   []release.Key{releaseKey(k1, now.AddDate(1, 0, 0)), releaseKey(k2, now.AddDate(1, 0, 0))},
	}
}

func signRoot(t testing.TB, r release.Root, keys ...ed25519.PrivateKey) []byte {
	t.Helper()
	b, err := release.SignRoot(r, keys...)
	if err != nil {
		t.Fatalf("SignRoot: %v", err)
	}
	return b
}

func newTrust(t testing.TB) *release.Trust {
	t.Helper()
	tr, err := release.NewTrust(signRoot(t, testRoot(), r1, r2))
	if err != nil {
		t.Fatalf("NewTrust: %v", err)
	}
	return tr
}

// artifact returns n bytes of deterministic content.
func artifact(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// testManifest is version 1.4.2 of the binary for linux/arm64 on stable,
// built from a 10 KiB artifact in 4 KiB chunks (3 chunks, the last 2 KiB).
func testManifest(t testing.TB) release.Manifest {
	t.Helper()
	m, err := release.Build(bytes.NewReader(artifact(10<<10)), release.Manifest{
		Product: release.ProductBinary, Version: "1.4.2", Channel: "stable", Arch: "linux/arm64",
		Hardware: []string{"rpi4", "cm4"}, MinFrom: "1.2", ChunkSize: 4 << 10,
		Created: now.Add(-time.Hour), Notes: "fixes the desk LED <blink> & friends",
	})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return m
}

func signManifest(t testing.TB, m release.Manifest, key ed25519.PrivateKey) []byte {
	t.Helper()
	b, err := release.SignManifest(m, key)
	if err != nil {
		t.Fatalf("SignManifest: %v", err)
	}
	return b
}

// wantErr fails t unless err wraps want (want nil: err is nil).
func wantErr(t testing.TB, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("got error %v, want none", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("got error %v, want %v", err, want)
	}
}

// replace returns b with the first old replaced by new, failing t if b
// has no old.
func replace(t testing.TB, b []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s has no %q", b, old)
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

package releasetest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/pkfreelance/seatgate/firmware/release"
)

// Bytes returns n bytes of deterministic pseudo-random content (xorshift);
// seed varies it, and the same n and seed give the same bytes.
func Bytes(n int, seed uint32) []byte {
	b := make([]byte, n)
	x := 2463534242 ^ seed
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// RandomBytes returns n bytes from crypto/rand: a different artifact in
// every run.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// Build returns the manifest of data made from m (release.Build fills in
// the size, the hash and the chunks), failing t if it is refused.
func Build(t testing.TB, data []byte, m release.Manifest) release.Manifest {
	t.Helper()
	m, err := release.Build(bytes.NewReader(data), m)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return m
}

// SignManifest returns m signed by key, failing t if release.SignManifest
// refuses.
func SignManifest(t testing.TB, m release.Manifest, key ed25519.PrivateKey) []byte {
	t.Helper()
	b, err := release.SignManifest(m, key)
	if err != nil {
		t.Fatalf("SignManifest: %v", err)
	}
	return b
}

// Artifact is a release as HQ publishes it: the artifact, its manifest and
// the manifest's signed envelope.
type Artifact struct {
	Data     []byte
	Manifest release.Manifest
	Signed   []byte
}

// NewArtifact returns a release of size random bytes, its manifest built
// from m and signed by key.
func NewArtifact(t testing.TB, m release.Manifest, size int, key ed25519.PrivateKey) Artifact {
	t.Helper()
	data := RandomBytes(size)
	m = Build(t, data, m)
	return Artifact{Data: data, Manifest: m, Signed: SignManifest(t, m, key)}
}

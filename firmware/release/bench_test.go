package release_test

import (
	"bytes"
	"testing"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/releasetest"
)

// BenchmarkVerifyChunk is the gateway's work per downloaded chunk of the
// default size: length and SHA-256 check (BENCHMARKS.md, chunk
// verification throughput).
func BenchmarkVerifyChunk(b *testing.B) {
	data := releasetest.Bytes(4*release.DefaultChunkSize, 0)
	m, err := release.Build(bytes.NewReader(data), release.Manifest{Product: release.ProductBinary, Version: "1",
		Channel: "stable", Arch: "linux/arm64", Created: now})
	if err != nil {
		b.Fatal(err)
	}
	chunk := data[release.DefaultChunkSize : 2*release.DefaultChunkSize]
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		if err := m.VerifyChunk(1, chunk); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyManifest is the gateway's work per assignment: decode,
// verify and check the signed manifest of a 256 MiB image (1024 chunks).
func BenchmarkVerifyManifest(b *testing.B) {
	tr := newTrust(b)
	m, err := release.Build(bytes.NewReader(make([]byte, 256<<20)), release.Manifest{Product: release.ProductImage,
		Version: "1", Channel: "stable", Arch: "linux/arm64", Created: now})
	if err != nil {
		b.Fatal(err)
	}
	signed := releasetest.SignManifest(b, m, k1)
	b.SetBytes(int64(len(signed)))
	for b.Loop() {
		if _, err := tr.VerifyManifest(signed, now); err != nil {
			b.Fatal(err)
		}
	}
}

package firmware_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/releasetest"
	"github.com/pkfreelance/seatgate/hq/firmware"
)

// BenchmarkRangeChunk reads 256 KiB ranges at random offsets of a 20 MiB
// artifact over HTTP, as gateways do: "aligned" asks for one manifest chunk
// (one chunk message), "unaligned" for 256 KiB that straddle two.
func BenchmarkRangeChunk(b *testing.B) {
	e := newEnv(b).withRoot1(b)
	data := releasetest.Bytes(20<<20, 9)
	m := manifest(b, "1.4.2", data)
	if _, err := e.store.Publish(e.ctx, releasetest.SignManifest(b, m, k1), bytes.NewReader(data)); err != nil {
		b.Fatal(err)
	}
	url := e.srv.URL + firmware.ArtifactPath(m.SHA256)
	const n = release.DefaultChunkSize
	for _, bc := range []struct {
		name  string
		shift int64
	}{{"aligned", 0}, {"unaligned", n / 2}} {
		b.Run(bc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 4))
			buf := make([]byte, n)
			b.SetBytes(n)
			for b.Loop() {
				from := int64(rng.IntN(m.NumChunks()-1))*n + bc.shift
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", from, from+n-1))
				resp, err := e.srv.Client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				got, err := io.ReadFull(resp.Body, buf)
				io.Copy(io.Discard, resp.Body) // to EOF, so the connection is reused
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusPartialContent || !bytes.Equal(buf[:got], data[from:from+n]) {
					b.Fatalf("range at %d: %s, %d bytes, %v", from, resp.Status, got, err)
				}
			}
		})
	}
}

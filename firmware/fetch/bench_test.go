package fetch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
)

const benchSize = 20 << 20 // a 20 MiB artifact

// BenchmarkResumeRefetch measures what an interruption costs: each
// iteration downloads the artifact over TLS loopback, is cancelled after a
// random number of bytes, and resumes. refetched-B/op is the bytes served
// beyond the artifact's size (fetched twice), refetch/chunk that divided
// by the chunk size, and max-refetch/chunk the worst iteration.
func BenchmarkResumeRefetch(b *testing.B) {
	for _, cs := range []int64{64 << 10, 256 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("chunk=%dKiB", cs>>10), func(b *testing.B) {
			data, m := artifact(b, 50, benchSize, cs)
			hq := newMirror(b, data)
			c := client(b, hq.Server)
			r := rand.New(rand.NewPCG(1, uint64(cs)))
			var refetched, worst int64
			for b.Loop() {
				target, bm := paths(b)
				ctx, cancel := context.WithCancel(b.Context())
				start := hq.served.Load()
				hq.set(func(hq *mirror) { hq.tripAt, hq.trip = start+1+r.Int64N(benchSize-1), cancel })
				if _, err := Download(ctx, m, target, bm, Options{Client: c, Sources: []Source{{"hq", hq.URL}}}); !errors.Is(err, context.Canceled) {
					b.Fatalf("interrupted Download = %v, want context.Canceled", err)
				}
				cancel()
				if _, err := Download(b.Context(), m, target, bm, Options{Client: c, Sources: []Source{{"hq", hq.URL}}}); err != nil {
					b.Fatalf("resumed Download: %v", err)
				}
				extra := hq.served.Load() - start - benchSize
				refetched += extra
				worst = max(worst, extra)
				os.Remove(target)
				os.Remove(bm)
			}
			perOp := float64(refetched) / float64(b.N)
			b.ReportMetric(perOp, "refetched-B/op")
			b.ReportMetric(perOp/float64(cs), "refetch/chunk")
			b.ReportMetric(float64(worst)/float64(cs), "max-refetch/chunk")
		})
	}
}

// BenchmarkDownloadLoopback: a whole 20 MiB artifact over TLS loopback,
// each chunk verified, written, fsynced and recorded.
func BenchmarkDownloadLoopback(b *testing.B) {
	for _, cs := range []int64{64 << 10, 256 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("chunk=%dKiB", cs>>10), func(b *testing.B) {
			data, m := artifact(b, 51, benchSize, cs)
			hq := newMirror(b, data)
			c := client(b, hq.Server)
			b.SetBytes(benchSize)
			for b.Loop() {
				target, bm := paths(b)
				if _, err := Download(b.Context(), m, target, bm, Options{Client: c, Sources: []Source{{"hq", hq.URL}}}); err != nil {
					b.Fatal(err)
				}
				os.Remove(target)
				os.Remove(bm)
			}
		})
	}
}

package scan_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/device/emu"
	"github.com/pkfreelance/seatgate/device/iso14443"
	"github.com/pkfreelance/seatgate/device/scan"
)

func transfers(b *bench) int {
	n := 0
	for _, c := range b.chips {
		n += c.Stats().Transfers
	}
	return n
}

// BenchmarkScanCycle: one idle scan cycle (no card anywhere) over n readers
// on one bus, with 30 µs per SPI ioctl. Metrics: emulated bus time per
// cycle and transfers per cycle. Buses run in parallel, so 16 readers on
// 4 buses cost what 4 on one bus cost.
func BenchmarkScanCycle(b *testing.B) {
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("%dreaders", n), func(b *testing.B) {
			bb := newBench(b, n, scan.Options{})
			bb.cycles(3)
			t0, n0 := bb.clk.Now(), transfers(bb)
			for b.Loop() {
				bb.s.Cycle(func(scan.Event) {})
			}
			b.ReportMetric(float64(bb.clk.Now().Sub(t0).Microseconds())/float64(b.N), "emu-µs/cycle")
			b.ReportMetric(float64(transfers(bb)-n0)/float64(b.N), "transfers/cycle")
		})
	}
}

// BenchmarkTapLatency: a card arrives on a random one of 16 readers on one
// bus at a random moment of the scan schedule (5 ms, the default, or 2 ms); the metric is the
// emulated time from its arrival until the scanner reports its UID (p50,
// p99, max), for 4-, 7- and 10-byte UIDs, with cards that answer as soon as
// they are in the field and with the emulator's default 1 ms power-up.
// Conservatively, a card arriving during a cycle is only seen by the next
// one: arrival is drawn uniformly from the interval before a cycle starts.
func BenchmarkTapLatency(b *testing.B) {
	for _, interval := range []time.Duration{5 * time.Millisecond, 2 * time.Millisecond} {
		for _, size := range []int{4, 7, 10} {
			for _, boot := range []time.Duration{0, time.Millisecond} {
				b.Run(fmt.Sprintf("interval=%v/%dbyte/powerup=%v", interval, size, boot), func(b *testing.B) {
					bb := newBench(b, 16, scan.Options{Interval: interval})
					bb.cycles(3)
					rng := rand.New(rand.NewPCG(1, uint64(size)))
					var lat []time.Duration
					for b.Loop() {
						u := randomUID(rng, size)
						r := rng.IntN(16)
						early := time.Duration(rng.Int64N(int64(interval)))
						c := bb.clk.Now() // a cycle starts now; the card came `early` before
						bb.chips[r].Place(emu.NewCard(u, emu.WithPowerUp(max(0, boot-early))))
						var at time.Time
						for at.IsZero() {
							t0 := bb.clk.Now()
							bb.s.Cycle(func(e scan.Event) {
								if e.Kind == scan.Tap && e.UID.Equal(u) {
									at = e.At
								}
							})
							if at.IsZero() {
								bb.clk.AdvanceTo(t0.Add(interval))
							}
							if bb.clk.Now().Sub(c) > time.Second {
								b.Fatalf("card %s never reported", u)
							}
						}
						lat = append(lat, early+at.Sub(c))
						bb.chips[r].RemoveAll()
						bb.cycles(60) // the scanner notices the removal
					}
					slices.Sort(lat)
					q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
					b.ReportMetric(q(0.5), "p50-emu-µs")
					b.ReportMetric(q(0.99), "p99-emu-µs")
					b.ReportMetric(q(1), "max-emu-µs")
				})
			}
		}
	}
}

// randomUID makes a valid UID of size bytes (no cascade tag where the
// standard forbids one).
func randomUID(rng *rand.Rand, size int) iso14443.UID {
	for {
		u := make(iso14443.UID, size)
		for j := range u {
			u[j] = byte(rng.Uint32())
		}
		if u.Valid() {
			return u
		}
	}
}

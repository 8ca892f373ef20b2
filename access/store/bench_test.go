package store_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
)

const (
	benchMembers = 100_000
	benchSeats   = 200
	// Seats from benchFreeSeats on are taken before a benchmark starts, by
	// members from benchBusyFrom on, whom the benchmarks never tap.
	benchFreeSeats = 50
	benchBusyFrom  = 99_000
)

var (
	benchDir      string // removed by TestMain
	benchOnce     sync.Once
	benchErr      error
	benchPolicy   = access.Policy{DailyCutoff: access.Clock(3, 0), WarnDays: 5, Location: karachi}
	benchNow      = at("2026-11-04 10:00")
	benchTemplate string
)

func benchUID(i int) string { return fmt.Sprintf("04%012X", i) } // 7 bytes

// benchMembership has 100,000 members, one card each, on an all-day plan.
func benchMembership() store.Membership {
	m := store.Membership{
		Centre: "lhr-01", Revision: 1, GeneratedAt: benchNow,
		Plans: []access.Plan{{ID: "open", Name: "Open access", PricePKR: 4000}},
	}
	for i := range benchMembers {
		id := fmt.Sprintf("m-%06d", i)
		m.Members = append(m.Members, access.Member{
			ID: id, Name: "Member " + id, Status: access.StatusActive, PlanID: "open",
			ValidFrom: access.Date{Year: 2026, Month: 1, Day: 1}, ValidUntil: access.Date{Year: 2026, Month: 12, Day: 31},
			Seats: access.SeatRule{Kind: access.SeatAny},
		})
		m.Cards = append(m.Cards, access.Card{UID: benchUID(i), MemberID: id})
	}
	return m
}

// benchStore opens a copy of a store holding the benchmark membership and
// seats; the first call builds it.
func benchStore(b *testing.B, noSync bool) *store.Store {
	b.Helper()
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "seatgate-bench-")
		if benchErr != nil {
			return
		}
		benchTemplate = filepath.Join(benchDir, "template.db")
		s, err := store.Open(benchTemplate, store.Options{Policy: benchPolicy, NoSync: true})
		if err != nil {
			benchErr = err
			return
		}
		defer s.Close()
		seats := make([]access.Seat, benchSeats)
		for i := range seats {
			seats[i] = access.Seat{ID: fmt.Sprintf("S%03d", i), Zone: "A", Reader: fmt.Sprintf("r-%03d", i)}
		}
		if benchErr = s.SetSeats(seats); benchErr != nil {
			return
		}
		if benchErr = s.ReplaceMembership(benchMembership()); benchErr != nil {
			return
		}
		// A busy centre: the members from benchBusyFrom on hold the
		// seats from benchFreeSeats on; taps go to the free ones.
		for i := benchFreeSeats; i < benchSeats; i++ {
			tap := access.Tap{Reader: fmt.Sprintf("r-%03d", i), UID: benchUID(benchBusyFrom + i)}
			if _, _, benchErr = s.Tap(tap, benchNow.Add(-time.Hour)); benchErr != nil {
				return
			}
		}
	})
	if benchErr != nil {
		b.Fatalf("build benchmark store: %v", benchErr)
	}
	path := filepath.Join(b.TempDir(), "bench.db")
	if err := copyFile(benchTemplate, path); err != nil {
		b.Fatal(err)
	}
	s, err := store.Open(path, store.Options{Policy: benchPolicy, NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// reportPercentiles adds p50 and p99 of the per-operation durations.
func reportPercentiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	pct := func(p float64) float64 { return float64(d[min(len(d)-1, int(float64(len(d))*p))].Nanoseconds()) }
	b.ReportMetric(pct(0.50), "p50-ns/op")
	b.ReportMetric(pct(0.99), "p99-ns/op")
}

// BenchmarkDecide100k measures the pure decision on a read snapshot of a
// store with 100,000 members and cards and 150 of 200 seats taken: card,
// member, plan, seat and occupancy lookups in bbolt, and the rules.
func BenchmarkDecide100k(b *testing.B) {
	s := benchStore(b, true)
	var durations []time.Duration
	err := s.View(func(snap access.Snapshot, _ []access.Session) error {
		for i := 0; b.Loop(); i++ {
			m := (i * 7919) % benchBusyFrom
			tap := access.Tap{Reader: fmt.Sprintf("r-%03d", i%benchFreeSeats), UID: benchUID(m)}
			start := time.Now()
			d := access.Decide(snap, benchPolicy, benchNow, tap)
			durations = append(durations, time.Since(start))
			if d.Outcome != access.OutcomeCheckin {
				return fmt.Errorf("tap %d: got %+v, want checkin", i, d)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	reportPercentiles(b, durations)
}

// BenchmarkTapCommit100k measures a whole tap with fsync on: the write
// transaction, due check-outs, the decision, the occupancy change, the
// event, commit and fsync, in the same busy centre. Members check in and
// out in turn.
func BenchmarkTapCommit100k(b *testing.B) {
	s := benchStore(b, false)
	var durations []time.Duration
	for i := 0; b.Loop(); i++ {
		m := (i / 2 * 7919) % benchBusyFrom
		tap := access.Tap{Reader: fmt.Sprintf("r-%03d", (i/2)%benchFreeSeats), UID: benchUID(m)}
		wall := benchNow.Add(time.Duration(i) * time.Second)
		start := time.Now()
		d, _, err := s.Tap(tap, wall)
		durations = append(durations, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if want := []access.Outcome{access.OutcomeCheckin, access.OutcomeCheckout}[i%2]; d.Outcome != want {
			b.Fatalf("tap %d: got %+v, want %s", i, d, want)
		}
	}
	reportPercentiles(b, durations)
}

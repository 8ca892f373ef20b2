package journal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/journal"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// BenchmarkApplySnapshot100k: a gateway far behind receives HQ's signed,
// chunked snapshot of 100,000 members (each with a card) and applies it:
// verify every chunk, join and hash-check, parse strictly, replace the
// membership in one bbolt transaction (fsync on). Metrics: seconds per
// snapshot and the peak Go heap while applying it.
func BenchmarkApplySnapshot100k(b *testing.B) {
	m := store.Membership{Centre: "lhr-01", Revision: 1000, GeneratedAt: when,
		Plans: []access.Plan{{ID: "day", Name: "Day", Windows: []access.Window{{Start: access.Clock(9, 0), End: access.Clock(18, 0)}}}}}
	for i := range 100_000 {
		id := fmt.Sprintf("m-%06d", i)
		m.Members = append(m.Members, access.Member{ID: id, Name: "Member " + id, Status: access.StatusActive, PlanID: "day",
			ValidFrom: day, ValidUntil: day.AddDays(30), Seats: access.SeatRule{Kind: access.SeatAny}})
		m.Cards = append(m.Cards, access.Card{UID: fmt.Sprintf("04%012X", i+1), MemberID: id})
	}
	data, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	cs, err := wire.ChunkSnapshot("lhr-01", 1000, data)
	if err != nil {
		b.Fatal(err)
	}
	var payloads [][]byte
	for i := range cs {
		wire.Sign(hqKey, &cs[i])
		p, _ := wire.Encode(&cs[i])
		payloads = append(payloads, p)
	}
	m, data, cs = store.Membership{}, nil, nil
	b.ReportMetric(float64(len(payloads)), "chunks")
	var peak uint64
	for b.Loop() {
		b.StopTimer()
		s, err := store.Open(filepath.Join(b.TempDir(), "seatgate.db"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		a := journal.New(s, &asks{}, journal.Options{Topics: topics, HQKey: hqPub})
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var maxHeap atomic.Uint64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > maxHeap.Load() {
					maxHeap.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		b.StartTimer()
		for _, p := range payloads {
			if err := a.HandleCatchUp(context.Background(), p); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		close(stop)
		<-done
		if h := maxHeap.Load() - min(maxHeap.Load(), base.HeapInuse); h > peak {
			peak = h
		}
		info, _ := s.MembershipInfo()
		if info.Members != 100_000 || info.Revision != 1000 {
			b.Fatalf("applied %+v", info)
		}
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

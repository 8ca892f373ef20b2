package journal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/metrics"
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
// verify every chunk and keep it in the store, hash-check the whole, parse
// it strictly as a stream into staging buckets, switch the membership in
// one transaction (fsync on). Metrics: seconds per snapshot and the peak
// Go heap in use (runtime.MemStats.HeapInuse, garbage not yet collected
// included) while the chunks are handled, above what was live before.
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
		// Twice: the first collection moves what sync.Pools hold (json's
		// buffers from building the payloads) to their victim caches and
		// only the second frees it, which would otherwise count as live.
		runtime.GC()
		runtime.GC()
		heap := newHeapGauge()
		base := heap.inUse()
		var maxHeap atomic.Uint64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for {
				if h := heap.inUse(); h > maxHeap.Load() {
					maxHeap.Store(h)
				}
				select {
				case <-stop:
					return
				case <-tick.C:
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
		if h := maxHeap.Load() - min(maxHeap.Load(), base); h > peak {
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

// heapGauge reads runtime.MemStats.HeapInuse, the bytes in spans holding
// heap objects, live or not yet collected, without stopping the world
// (runtime.ReadMemStats does) or allocating, so it can be sampled often.
type heapGauge []metrics.Sample

func newHeapGauge() heapGauge {
	return heapGauge{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
}

func (g heapGauge) inUse() uint64 {
	metrics.Read(g)
	return g[0].Value.Uint64() + g[1].Value.Uint64()
}

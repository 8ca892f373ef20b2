package ingest

import (
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// chain returns events 1..n of a log whose events differ from another
// log's by variant.
func chain(n int, variant int) []store.Event {
	prev := wire.GenesisHash
	out := make([]store.Event, n)
	for i := range out {
		e := store.Event{Seq: uint64(i + 1), Kind: access.OutcomeDeny, Seat: "A1", ClockTrusted: true,
			Time: time.Date(2026, 11, 26, 9, i, variant, 0, time.UTC)}
		h, err := wire.EventHash(prev, e)
		if err != nil {
			panic(err)
		}
		e.Hash, prev = h, h
		out[i] = e
	}
	return out
}

// batchOf is the (unsigned) batch of events first..last of log.
func batchOf(log []store.Event, first, last uint64) *wire.EventBatch {
	prev := wire.GenesisHash
	if first > 1 {
		prev = log[first-2].Hash
	}
	return &wire.EventBatch{V: 1, Centre: "lhr-01", Gateway: "gw-1", Boot: 1, First: first, Last: last,
		PrevHash: prev, Events: log[first-1 : last]}
}

// TestHeadConflict: which batches agree with what HQ holds of a chain.
func TestHeadConflict(t *testing.T) {
	ours := chain(40, 0)
	forkAt := func(n int) []store.Event { // ours up to n-1, then another history
		other := append([]store.Event(nil), ours[:n-1]...)
		rest := chain(40, 1)
		prev := other[n-2].Hash
		for _, e := range rest[n-1:] {
			e.Hash = ""
			h, _ := wire.EventHash(prev, e)
			e.Hash, prev = h, h
			other = append(other, e)
		}
		return other
	}
	fork7 := forkAt(7)
	reset := chain(40, 2)

	// HQ holds 1..30, stored as batches ending at 10, 20 and 30.
	var h Head
	for _, last := range []uint64{10, 20, 30} {
		h = h.advance(batchOf(ours, last-9, last), last, time.Now())
	}

	tests := []struct {
		name  string
		batch *wire.EventBatch
		want  AnomalyKind // "" for none
		seq   uint64
	}{
		{"the next batch", batchOf(ours, 31, 40), "", 0},
		{"a batch overlapping the head", batchOf(ours, 25, 35), "", 0},
		{"a resent old batch", batchOf(ours, 11, 20), "", 0},
		{"an old batch from event 1", batchOf(ours, 1, 5), "", 0},
		{"another history beyond the head", batchOf(fork7, 25, 35), AnomalyFork, 30},
		{"another history resent after a checkpoint", batchOf(fork7, 11, 15), AnomalyFork, 11},
		{"another history ending at a checkpoint", batchOf(fork7, 15, 20), AnomalyFork, 20},
		{"a restarted log", batchOf(reset, 1, 5), AnomalyReset, 1},
		{"a restarted log longer than HQ's", batchOf(reset, 1, 40), AnomalyReset, 1},
		// Between checkpoints HQ holds no hash to compare with: taken for a
		// duplicate (HQ keeps its own copy; nothing is stored).
		{"another history wholly between checkpoints", batchOf(fork7, 12, 18), "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := wire.VerifyChain(tt.batch.PrevHash, tt.batch.Events); err != nil {
				t.Fatalf("test batch does not chain: %v", err)
			}
			a := h.conflict(tt.batch)
			switch {
			case tt.want == "" && a != nil:
				t.Errorf("got %s at %d (%s), want none", a.Kind, a.Seq, a.Detail)
			case tt.want != "" && a == nil:
				t.Errorf("got none, want %s at %d", tt.want, tt.seq)
			case a != nil && (a.Kind != tt.want || a.Seq != tt.seq):
				t.Errorf("got %s at %d, want %s at %d", a.Kind, a.Seq, tt.want, tt.seq)
			}
		})
	}
}

// TestHeadAnomalies: an anomaly is recorded once per kind and seq; forks
// and resets make the gateway suspect, gaps do not; the list is bounded.
func TestHeadAnomalies(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var h Head
	h, added := h.withAnomaly(Anomaly{Kind: AnomalyGap, Seq: 11, At: t0})
	if !added || !h.SuspectSince.IsZero() {
		t.Fatalf("gap: added %v, suspect since %v; want added, not suspect", added, h.SuspectSince)
	}
	if _, added := h.withAnomaly(Anomaly{Kind: AnomalyGap, Seq: 11, At: t0.Add(time.Minute)}); added {
		t.Errorf("the same gap again: added")
	}
	h, _ = h.withAnomaly(Anomaly{Kind: AnomalyFork, Seq: 30, At: t0.Add(time.Hour)})
	h, _ = h.withAnomaly(Anomaly{Kind: AnomalyReset, Seq: 1, At: t0.Add(2 * time.Hour)})
	if !h.SuspectSince.Equal(t0.Add(time.Hour)) {
		t.Errorf("suspect since: got %v, want the first fork's time", h.SuspectSince)
	}
	for i := range 2 * MaxAnomalies {
		h, _ = h.withAnomaly(Anomaly{Kind: AnomalyGap, Seq: uint64(100 + i), At: t0})
	}
	if len(h.Anomalies) != MaxAnomalies || h.AnomalyCounts[AnomalyGap] != 1+2*MaxAnomalies || h.AnomalyCounts[AnomalyFork] != 1 {
		t.Errorf("got %d anomalies kept, counts %v", len(h.Anomalies), h.AnomalyCounts)
	}
}

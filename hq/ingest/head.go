package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/sync/wire"
)

// Head is what HQ holds about one gateway's event chain: bucket CHAINS, key
// {centre}.{gateway}, JSON. Seq, Hash and StreamSeq only move forward, by
// compare-and-set on the key's revision.
type Head struct {
	Seq       uint64 `json:"seq"`        // last event stored in EVENTS; 0 before the first
	Hash      string `json:"hash"`       // its chain hash
	StreamSeq uint64 `json:"stream_seq"` // its sequence in EVENTS
	Genesis   string `json:"genesis"`    // hash of event 1, to tell a reset from a duplicate
	Boot      uint64 `json:"boot"`       // boot counter of the last batch stored
	// Checkpoints are the ends of the most recent batches stored (at most
	// MaxCheckpoints, oldest first): a resent batch usually starts right
	// after one, so HQ can check that it is the same history (a fork
	// otherwise) without reading EVENTS.
	Checkpoints []Checkpoint `json:"checkpoints,omitempty"`
	// Anomalies are the most recent anomalies (at most MaxAnomalies,
	// oldest first); AnomalyCounts counts all of them by kind.
	Anomalies     []Anomaly              `json:"anomalies,omitempty"`
	AnomalyCounts map[AnomalyKind]uint64 `json:"anomaly_counts,omitempty"`
	// SuspectSince is HQ's time of the gateway's first fork or reset, zero
	// when there has been none: from then on its data is in doubt.
	SuspectSince time.Time `json:"suspect_since,omitzero"`
	Updated      time.Time `json:"updated,omitzero"`
}

// Checkpoint is the hash of one event of the chain.
type Checkpoint struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// AnomalyKind says how a batch broke the chain.
type AnomalyKind string

// Anomaly kinds.
const (
	// AnomalyGap: the batch started beyond head+1 and its predecessor did
	// not arrive within Options.GapWait. Nothing is missing from what HQ
	// holds; the gateway resends from the head.
	AnomalyGap AnomalyKind = "gap"
	// AnomalyFork: the batch holds another event than HQ's at some seq, or
	// its events do not chain: the gateway's log was changed.
	AnomalyFork AnomalyKind = "fork"
	// AnomalyReset: the batch restarts at seq 1 with an event 1 other than
	// HQ's: the gateway's log was started afresh.
	AnomalyReset AnomalyKind = "reset"
)

// Anomaly is one break of a gateway's chain, as HQ saw it.
type Anomaly struct {
	Kind   AnomalyKind `json:"kind"`
	Seq    uint64      `json:"seq"`  // gap: the first missing seq; fork, reset: where the batch disagrees with HQ
	At     time.Time   `json:"at"`   // HQ's clock
	Boot   uint64      `json:"boot"` // the batch's boot counter
	Detail string      `json:"detail,omitempty"`
}

// Limits of a Head.
const (
	MaxCheckpoints = 64
	MaxAnomalies   = 32
)

// LoadHead reads gateway's head from bucket CHAINS (kv). A gateway HQ has
// never heard from has the zero Head and revision 0.
func LoadHead(ctx context.Context, kv jetstream.KeyValue, centre, gateway string) (Head, uint64, error) {
	e, err := kv.Get(ctx, HeadKey(centre, gateway))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Head{}, 0, nil
	}
	if err != nil {
		return Head{}, 0, fmt.Errorf("read chain head of %s/%s: %w", centre, gateway, err)
	}
	var h Head
	if err := json.Unmarshal(e.Value(), &h); err != nil {
		return Head{}, 0, fmt.Errorf("chain head of %s/%s: %w", centre, gateway, err)
	}
	return h, e.Revision(), nil
}

// errConflict: the head changed since it was read.
var errConflict = errors.New("chain head changed meanwhile")

// saveHead writes h if the key is still at revision rev (0: absent), else
// returns errConflict.
func saveHead(ctx context.Context, kv jetstream.KeyValue, t wire.Topics, h Head, rev uint64) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	key := HeadKey(t.Centre, t.Gateway)
	if rev == 0 {
		_, err = kv.Create(ctx, key, b)
	} else {
		_, err = kv.Update(ctx, key, b, rev)
	}
	switch {
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return errConflict
	case err != nil:
		return fmt.Errorf("write chain head of %s: %w", t.Gateway, err)
	}
	return nil
}

// known lists the hashes HQ holds for h's chain.
func (h Head) known() []Checkpoint {
	if h.Seq == 0 {
		return nil
	}
	k := make([]Checkpoint, 0, len(h.Checkpoints)+2)
	if h.Genesis != "" {
		k = append(k, Checkpoint{1, h.Genesis})
	}
	k = append(k, h.Checkpoints...)
	return append(k, Checkpoint{h.Seq, h.Hash})
}

// conflict checks b, whose events chain from its PrevHash, against every
// hash HQ knows in its range. It returns the anomaly, or nil when b agrees.
func (h Head) conflict(b *wire.EventBatch) *Anomaly {
	for _, k := range h.known() {
		var got string
		switch {
		case k.Seq+1 == b.First:
			got = b.PrevHash
		case k.Seq >= b.First && k.Seq <= b.Last:
			got = b.Events[k.Seq-b.First].Hash
		default:
			continue
		}
		if got == k.Hash {
			continue
		}
		if b.First == 1 && h.Genesis != "" && b.Events[0].Hash != h.Genesis {
			return &Anomaly{Kind: AnomalyReset, Seq: 1, Boot: b.Boot,
				Detail: fmt.Sprintf("batch %d..%d restarts the chain; HQ holds %d events", b.First, b.Last, h.Seq)}
		}
		return &Anomaly{Kind: AnomalyFork, Seq: max(k.Seq, b.First), Boot: b.Boot,
			Detail: fmt.Sprintf("batch %d..%d disagrees with HQ's hash of event %d", b.First, b.Last, k.Seq)}
	}
	return nil
}

// advance returns h moved to the last event of b, stored at stream
// sequence streamSeq.
func (h Head) advance(b *wire.EventBatch, streamSeq uint64, now time.Time) Head {
	last := b.Events[len(b.Events)-1]
	if h.Seq == 0 {
		h.Genesis = b.Events[0].Hash // b starts at 1: a gap otherwise
	}
	h.Seq, h.Hash, h.StreamSeq = last.Seq, last.Hash, streamSeq
	h.Boot = max(h.Boot, b.Boot)
	h.Updated = now
	h.Checkpoints = appendCheckpoint(h.Checkpoints, Checkpoint{last.Seq, last.Hash})
	return h
}

func appendCheckpoint(cps []Checkpoint, c Checkpoint) []Checkpoint {
	cps = append(append([]Checkpoint(nil), cps...), c)
	if len(cps) > MaxCheckpoints {
		cps = cps[len(cps)-MaxCheckpoints:]
	}
	return cps
}

// withAnomaly returns h with a recorded, and false when h already holds an
// anomaly of that kind at that seq (a gateway resending the same batch).
func (h Head) withAnomaly(a Anomaly) (Head, bool) {
	for _, old := range h.Anomalies {
		if old.Kind == a.Kind && old.Seq == a.Seq {
			return h, false
		}
	}
	h.Anomalies = append(append([]Anomaly(nil), h.Anomalies...), a)
	if len(h.Anomalies) > MaxAnomalies {
		h.Anomalies = h.Anomalies[len(h.Anomalies)-MaxAnomalies:]
	}
	counts := make(map[AnomalyKind]uint64, len(h.AnomalyCounts)+1)
	for k, n := range h.AnomalyCounts {
		counts[k] = n
	}
	counts[a.Kind]++
	h.AnomalyCounts = counts
	if a.Kind != AnomalyGap && h.SuspectSince.IsZero() {
		h.SuspectSince = a.At
	}
	h.Updated = a.At
	return h, true
}

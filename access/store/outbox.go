package store

import (
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// The event log is also the outbox to HQ: events keep their gap-free
// sequence numbers, a single drain loop publishes them in order, and HQ
// acknowledges a watermark once it has stored them durably. Delivered
// events may be pruned after a retention age; undelivered events are never
// dropped.

var keyPrunedHash = []byte("pruned_hash") // hash of the last pruned event (since v3)

// OutboxState is the outbox at a glance.
type OutboxState struct {
	LastSeq   uint64 `json:"last_seq"`
	Delivered uint64 `json:"delivered"` // HQ has stored every event up to this seq
	Pruned    uint64 `json:"pruned"`    // events up to this seq are gone from the log
	Depth     uint64 `json:"depth"`     // undelivered events
	// OldestUndelivered is the time of the first undelivered event (zero
	// when everything is delivered).
	OldestUndelivered time.Time `json:"oldest_undelivered,omitzero"`
	ChainHead         string    `json:"chain_head"`
}

// ErrAckBeyondLog is returned by MarkDelivered for a watermark past the last
// event: HQ cannot have stored what the gateway never wrote.
var ErrAckBeyondLog = errors.New("acknowledged sequence number is beyond the event log")

// Outbox reports the outbox's state.
func (s *Store) Outbox() (OutboxState, error) {
	var o OutboxState
	err := s.db.View(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		next, _ := getU64(meta, keyNextSeq)
		o.LastSeq = next - 1
		o.Delivered, _ = getU64(meta, keyDelivered)
		o.Pruned, _ = getU64(meta, keyPruned)
		o.Depth = o.LastSeq - o.Delivered
		o.ChainHead = string(meta.Get(keyChainHead))
		if o.Depth > 0 {
			v := tx.Bucket(bucketEvents).Get(seqKey(o.Delivered + 1))
			var ev Event
			if v == nil || decode(v, &ev) != nil {
				return fmt.Errorf("outbox: first undelivered event %d unreadable", o.Delivered+1)
			}
			o.OldestUndelivered = ev.Time
		}
		return nil
	})
	return o, err
}

// MarkDelivered records that HQ has stored every event up to upto. The
// watermark only moves forward: a lower or equal value (a duplicate or
// reordered acknowledgement) changes nothing and is not an error.
func (s *Store) MarkDelivered(upto uint64) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		next, _ := getU64(meta, keyNextSeq)
		if upto > next-1 {
			return fmt.Errorf("%w: ack up to %d, last event %d", ErrAckBeyondLog, upto, next-1)
		}
		cur, _ := getU64(meta, keyDelivered)
		if upto <= cur {
			return nil
		}
		return meta.Put(keyDelivered, u64(upto))
	})
}

// PrevHash is the chain hash before event seq: the hash of event seq-1,
// GenesisHash for seq 1, or the remembered hash of the last pruned event.
func (s *Store) PrevHash(seq uint64) (string, error) {
	var h string
	err := s.db.View(func(tx *bbolt.Tx) error {
		if seq <= 1 {
			h = GenesisHash
			return nil
		}
		meta := tx.Bucket(bucketMeta)
		if pruned, _ := getU64(meta, keyPruned); seq-1 == pruned {
			h = string(meta.Get(keyPrunedHash))
			return nil
		}
		v := tx.Bucket(bucketEvents).Get(seqKey(seq - 1))
		if v == nil {
			return fmt.Errorf("event %d is not in the log (pruned or not written)", seq-1)
		}
		var ev Event
		if err := decode(v, &ev); err != nil {
			return fmt.Errorf("event %d: %w", seq-1, err)
		}
		h = ev.Hash
		return nil
	})
	return h, err
}

// pruneBatch bounds one pruning transaction.
const pruneBatch = 5000

// Prune deletes delivered events whose time is before before, oldest
// first, keeping the log contiguous (it stops at the first event it must
// keep), at most pruneBatch at a time. Undelivered events are never
// pruned, whatever their age. It returns how many events it deleted.
func (s *Store) Prune(before time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		delivered, _ := getU64(meta, keyDelivered)
		pruned, _ := getU64(meta, keyPruned)
		events := tx.Bucket(bucketEvents)
		var lastHash string
		for seq := pruned + 1; seq <= delivered && n < pruneBatch; seq++ {
			v := events.Get(seqKey(seq))
			if v == nil {
				return fmt.Errorf("prune: event %d missing from the log", seq)
			}
			var ev Event
			if err := decode(v, &ev); err != nil {
				return fmt.Errorf("prune: event %d: %w", seq, err)
			}
			if !ev.Time.Before(before) {
				break
			}
			if err := events.Delete(seqKey(seq)); err != nil {
				return err
			}
			lastHash, pruned = ev.Hash, seq
			n++
		}
		if n == 0 {
			return nil
		}
		if err := meta.Put(keyPrunedHash, []byte(lastHash)); err != nil {
			return err
		}
		return meta.Put(keyPruned, u64(pruned))
	})
	return n, err
}

// Chain errors, for VerifyChain's callers to branch on.
var (
	ErrChainGap    = errors.New("event log has a gap")
	ErrChainBroken = errors.New("event hash chain broken")
)

// VerifyChain checks that events are consecutive from the one after prev
// and that each hash follows from its predecessor.
func VerifyChain(prev string, events []Event) error {
	for i, ev := range events {
		if i > 0 && ev.Seq != events[i-1].Seq+1 {
			return fmt.Errorf("%w: event %d follows %d", ErrChainGap, ev.Seq, events[i-1].Seq)
		}
		h, err := ChainHash(prev, ev)
		if err != nil {
			return err
		}
		if h != ev.Hash {
			return fmt.Errorf("%w at event %d", ErrChainBroken, ev.Seq)
		}
		prev = h
	}
	return nil
}

var keyBoot = []byte("boot") // uint64: how many times the gateway has started

// NextBoot counts one more start of the gateway and returns the new boot
// counter (1 at the first start). Birth and last-will messages carry it so
// HQ can tell a late "offline" from an earlier run.
func (s *Store) NextBoot() (uint64, error) {
	var boot uint64
	err := s.db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		boot, _ = getU64(meta, keyBoot)
		boot++
		return meta.Put(keyBoot, u64(boot))
	})
	return boot, err
}

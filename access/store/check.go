package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
)

// Check verifies the database: bbolt's own page-level consistency check,
// then the store's invariants: the schema version, both indexes against
// what they index, every card's member and every member's plan, an
// event log numbered from the first unpruned event to LastSeq without a
// gap, its hash chain, the outbox watermarks, and no staged membership
// left over when no replacement is running. It returns nil, or an error
// listing every problem found.
func (s *Store) Check() error {
	var problems []error
	report := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	idle := s.replacing.TryLock() // else a replacement is running, and staging is its work
	if idle {
		defer s.replacing.Unlock()
	}
	err := s.db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			problems = append(problems, fmt.Errorf("bbolt: %w", err))
		}
		meta := tx.Bucket(bucketMeta)
		if v, _ := getU64(meta, keySchema); v != SchemaVersion {
			report("schema version %d, want %d", v, SchemaVersion)
		}
		if idle && tx.Bucket(bucketStaging) != nil {
			report("a staged membership (bucket %s) is left over", bucketStaging)
		}
		st := &txState{tx: tx}

		// Sessions and the member index agree both ways.
		seen := make(map[string]string)
		for _, sess := range st.sessions() {
			if other, dup := seen[sess.Member]; dup {
				report("member %q holds seats %q and %q", sess.Member, other, sess.Seat)
			}
			seen[sess.Member] = sess.Seat
			if got := tx.Bucket(bucketMemberSession).Get([]byte(sess.Member)); string(got) != sess.Seat {
				report("session index: member %q points at seat %q, session is at %q", sess.Member, got, sess.Seat)
			}
		}
		_ = tx.Bucket(bucketMemberSession).ForEach(func(k, v []byte) error {
			if seen[string(k)] != string(v) {
				report("session index: member %q points at seat %q, which it does not hold", k, v)
			}
			return nil
		})

		// Seats and the reader index agree both ways.
		readers := make(map[string]string)
		_ = tx.Bucket(bucketSeats).ForEach(func(k, v []byte) error {
			var r seatRecord
			if err := decode(v, &r); err != nil {
				report("seat %q: %v", k, err)
				return nil
			}
			readers[r.Reader] = string(k)
			if got := tx.Bucket(bucketReaders).Get([]byte(r.Reader)); string(got) != string(k) {
				report("reader index: reader %q points at seat %q, want %q", r.Reader, got, k)
			}
			return nil
		})
		_ = tx.Bucket(bucketReaders).ForEach(func(k, v []byte) error {
			if readers[string(k)] != string(v) {
				report("reader index: reader %q points at seat %q, which has another reader", k, v)
			}
			return nil
		})

		// Membership references.
		_ = tx.Bucket(bucketCards).ForEach(func(k, v []byte) error {
			var r cardRecord
			if err := decode(v, &r); err != nil {
				report("card %q: %v", k, err)
			} else if tx.Bucket(bucketMembers).Get([]byte(r.Member)) == nil {
				report("card %q: unknown member %q", k, r.Member)
			}
			return nil
		})
		_ = tx.Bucket(bucketMembers).ForEach(func(k, v []byte) error {
			var r memberRecord
			if err := decode(v, &r); err != nil {
				report("member %q: %v", k, err)
			} else if tx.Bucket(bucketPlans).Get([]byte(r.Plan)) == nil {
				report("member %q: unknown plan %q", k, r.Plan)
			}
			return nil
		})

		// The event log is pruned+1..next-1 without a gap, hash-chained
		// from the pruned head, and the watermarks are in order.
		next, ok := getU64(meta, keyNextSeq)
		if !ok || next == 0 {
			report("meta: no next_seq")
		}
		pruned, _ := getU64(meta, keyPruned)
		delivered, _ := getU64(meta, keyDelivered)
		if pruned > delivered || delivered >= next {
			report("outbox: pruned %d, delivered %d, next %d out of order", pruned, delivered, next)
		}
		prev := GenesisHash
		if pruned > 0 {
			prev = string(meta.Get(keyPrunedHash))
		}
		want := pruned + 1
		_ = tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				report("event key %x: not 8 bytes", k)
				return nil
			}
			seq := binary.BigEndian.Uint64(k)
			var ev Event
			switch {
			case seq != want:
				report("event log: got seq %d, want %d", seq, want)
			case decode(v, &ev) != nil:
				report("event %d: does not decode", seq)
			case ev.Seq != seq:
				report("event %d: holds seq %d", seq, ev.Seq)
			default:
				if h, err := ChainHash(prev, ev); err != nil || h != ev.Hash {
					report("event %d: hash chain broken", seq)
				}
			}
			prev = ev.Hash
			want = seq + 1
			return nil
		})
		if ok && want != next {
			report("event log: last seq %d, next_seq is %d", want-1, next)
		}
		if head := string(meta.Get(keyChainHead)); head != prev {
			report("event log: chain head %q, last event's hash %q", head, prev)
		}
		if st.err != nil {
			problems = append(problems, st.err)
		}
		return nil
	})
	if err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("store check: %d problems: %w", len(problems), errors.Join(problems...))
	}
	return nil
}

package store

import (
	"fmt"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/pkfreelance/seatgate/access"
)

// txState reads and writes the model inside one bbolt transaction. It
// implements access.Snapshot; a record that does not decode is reported
// as absent and remembered in err, which fails the transaction.
type txState struct {
	tx  *bbolt.Tx
	err error
}

var _ access.Snapshot = (*txState)(nil)

func (t *txState) fail(err error) {
	if t.err == nil {
		t.err = err
	}
}

// get decodes the record at key of bucket into v.
func (t *txState) get(bucket []byte, key string, v any) bool {
	b := t.tx.Bucket(bucket).Get([]byte(key))
	if b == nil {
		return false
	}
	if err := decode(b, v); err != nil {
		t.fail(fmt.Errorf("decode %s %q: %w", bucket, key, err))
		return false
	}
	return true
}

// put encodes v as the record at key of bucket.
func (t *txState) put(bucket []byte, key string, v any) error {
	b, err := encode(v)
	if err != nil {
		return fmt.Errorf("encode %s %q: %w", bucket, key, err)
	}
	return t.tx.Bucket(bucket).Put([]byte(key), b)
}

// Card implements access.Snapshot.
func (t *txState) Card(uid string) (access.Card, bool) {
	var r cardRecord
	if !t.get(bucketCards, uid, &r) {
		return access.Card{}, false
	}
	return access.Card{UID: uid, MemberID: r.Member, Revoked: r.Revoked}, true
}

// Member implements access.Snapshot.
func (t *txState) Member(id string) (access.Member, bool) {
	var r memberRecord
	if !t.get(bucketMembers, id, &r) {
		return access.Member{}, false
	}
	return r.member(id), true
}

// Plan implements access.Snapshot.
func (t *txState) Plan(id string) (access.Plan, bool) {
	var r planRecord
	if !t.get(bucketPlans, id, &r) {
		return access.Plan{}, false
	}
	return r.plan(id), true
}

// Seat implements access.Snapshot.
func (t *txState) Seat(id string) (access.Seat, bool) {
	var r seatRecord
	if !t.get(bucketSeats, id, &r) {
		return access.Seat{}, false
	}
	return access.Seat{ID: id, Zone: r.Zone, Reader: r.Reader}, true
}

// SeatByReader implements access.Snapshot.
func (t *txState) SeatByReader(reader string) (access.Seat, bool) {
	id := t.tx.Bucket(bucketReaders).Get([]byte(reader))
	if id == nil {
		return access.Seat{}, false
	}
	return t.Seat(string(id))
}

// Occupant implements access.Snapshot.
func (t *txState) Occupant(seat string) (access.Session, bool) {
	var r sessionRecord
	if !t.get(bucketSessions, seat, &r) {
		return access.Session{}, false
	}
	return access.Session{Member: r.Member, Seat: seat, Since: r.Since}, true
}

// SessionOf implements access.Snapshot.
func (t *txState) SessionOf(member string) (access.Session, bool) {
	seat := t.tx.Bucket(bucketMemberSession).Get([]byte(member))
	if seat == nil {
		return access.Session{}, false
	}
	return t.Occupant(string(seat))
}

// sessions returns every open session, by seat.
func (t *txState) sessions() []access.Session {
	var out []access.Session
	_ = t.tx.Bucket(bucketSessions).ForEach(func(k, v []byte) error {
		var r sessionRecord
		if err := decode(v, &r); err != nil {
			t.fail(fmt.Errorf("decode session at seat %q: %w", k, err))
			return nil
		}
		out = append(out, access.Session{Member: r.Member, Seat: string(k), Since: r.Since})
		return nil
	})
	return out
}

// sit opens a session, keeping the member index.
func (t *txState) sit(s access.Session) error {
	if err := t.put(bucketSessions, s.Seat, sessionRecord{Member: s.Member, Since: s.Since}); err != nil {
		return err
	}
	return t.tx.Bucket(bucketMemberSession).Put([]byte(s.Member), []byte(s.Seat))
}

// leave ends the session at seat, if any, keeping the member index.
func (t *txState) leave(seat string) error {
	s, ok := t.Occupant(seat)
	if !ok {
		return nil
	}
	if err := t.tx.Bucket(bucketSessions).Delete([]byte(seat)); err != nil {
		return err
	}
	idx := t.tx.Bucket(bucketMemberSession)
	if string(idx.Get([]byte(s.Member))) == seat {
		return idx.Delete([]byte(s.Member))
	}
	return nil
}

// View calls fn with a consistent read-only snapshot of the store, valid
// only until fn returns: a long fn holds a read transaction open, which
// keeps bbolt from reusing freed pages, so keep it short. It is how other
// packages run access.Decide or access.DueCheckouts without changing
// anything, e.g. to preview a tap.
func (s *Store) View(fn func(snap access.Snapshot, sessions []access.Session) error) error {
	return s.db.View(func(tx *bbolt.Tx) error {
		st := &txState{tx: tx}
		sessions := st.sessions()
		if st.err != nil {
			return st.err
		}
		if err := fn(st, slices.Clip(sessions)); err != nil {
			return err
		}
		return st.err
	})
}

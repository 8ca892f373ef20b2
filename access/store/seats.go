package store

import (
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/pkfreelance/seatgate/access"
)

// Seat states.
const (
	SeatFree     = "free"
	SeatOccupied = "occupied"
)

// SeatState is a seat and who sits there.
type SeatState struct {
	Seat       string    `json:"seat"`
	Zone       string    `json:"zone"`
	State      string    `json:"state"` // SeatFree or SeatOccupied
	Member     string    `json:"member,omitempty"`
	MemberName string    `json:"member_name,omitempty"`
	Since      time.Time `json:"since,omitzero"`
}

// SetSeats replaces the configured seats (they come from the gateway's
// configuration) in one transaction. IDs and readers must be non-empty and
// unique. Open sessions are kept; a session at a seat no longer configured
// is ended by the next auto check-out, reason seat_removed.
func (s *Store) SetSeats(seats []access.Seat) error {
	ids := make(map[string]bool, len(seats))
	readers := make(map[string]string, len(seats))
	for i, seat := range seats {
		switch {
		case seat.ID == "":
			return fmt.Errorf("set seats: seats[%d]: empty id", i)
		case ids[seat.ID]:
			return fmt.Errorf("set seats: seats[%d]: duplicate id %q", i, seat.ID)
		case seat.Reader == "":
			return fmt.Errorf("set seats: seat %q: empty reader", seat.ID)
		case readers[seat.Reader] != "":
			return fmt.Errorf("set seats: seat %q: reader %q already serves seat %q", seat.ID, seat.Reader, readers[seat.Reader])
		}
		ids[seat.ID], readers[seat.Reader] = true, seat.ID
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		if err := recreate(tx, bucketSeats, bucketReaders); err != nil {
			return err
		}
		st := &txState{tx: tx}
		for _, seat := range seats {
			if err := st.put(bucketSeats, seat.ID, seatRecord{Zone: seat.Zone, Reader: seat.Reader}); err != nil {
				return err
			}
			if err := tx.Bucket(bucketReaders).Put([]byte(seat.Reader), []byte(seat.ID)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set seats: %w", err)
	}
	return nil
}

// Seats returns every configured seat, sorted by ID, with its occupant.
func (s *Store) Seats() ([]SeatState, error) {
	var out []SeatState
	err := s.db.View(func(tx *bbolt.Tx) error {
		st := &txState{tx: tx}
		err := tx.Bucket(bucketSeats).ForEach(func(k, v []byte) error {
			var r seatRecord
			if err := decode(v, &r); err != nil {
				return fmt.Errorf("decode seat %q: %w", k, err)
			}
			ss := SeatState{Seat: string(k), Zone: r.Zone, State: SeatFree}
			if sess, ok := st.Occupant(ss.Seat); ok {
				ss.State, ss.Member, ss.Since = SeatOccupied, sess.Member, sess.Since.In(s.loc)
				if m, ok := st.Member(sess.Member); ok {
					ss.MemberName = m.Name
				}
			}
			out = append(out, ss)
			return nil
		})
		if err != nil {
			return err
		}
		return st.err
	})
	if err != nil {
		return nil, fmt.Errorf("read seats: %w", err)
	}
	return out, nil
}

// recreate empties buckets by deleting and creating them again.
func recreate(tx *bbolt.Tx, names ...[]byte) error {
	for _, name := range names {
		if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, bbolt.ErrBucketNotFound) {
			return fmt.Errorf("delete bucket %s: %w", name, err)
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

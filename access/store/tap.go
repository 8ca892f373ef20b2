package store

import (
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/pkfreelance/seatgate/access"
)

// Tap decides a tap and applies it in one write transaction, which
// returns only after it has committed (and, unless Options.NoSync, been
// fsynced): first it ends those of the sessions the tap touches (the one
// at the tapped seat, the tapper's own) that are due, an auto_checkout
// event each as AutoCheckout would write, so that the tap never sees a
// session that should be over; then it decides with access.Decide at
// the store's time for wall (see Now), changes occupancy and appends the
// tap's event, deny included. The decision and that event are returned; on
// an error nothing was changed and the desk must not show green.
func (s *Store) Tap(tap access.Tap, wall time.Time) (access.Decision, Event, error) {
	var (
		d  access.Decision
		ev Event
	)
	err := s.db.Update(func(tx *bbolt.Tx) error {
		st := &txState{tx: tx}
		now, trusted, err := s.clock(tx.Bucket(bucketMeta), wall)
		if err != nil {
			return err
		}
		if _, err := s.endDue(st, st.touchedBy(tap), now, trusted); err != nil {
			return err
		}
		d = access.Decide(st, s.policy, now, tap)
		if st.err != nil {
			return st.err
		}
		ev = Event{
			Time: now, Kind: d.Outcome, Seat: d.Seat, PrevSeat: d.PrevSeat, Member: d.Member,
			Card: logUID(tap.UID), Reader: tap.Reader, Reason: d.Reason, Warning: d.Warning, ClockTrusted: trusted,
		}
		switch d.Outcome {
		case access.OutcomeCheckin:
			err = st.sit(access.Session{Member: d.Member, Seat: d.Seat, Since: now})
		case access.OutcomeCheckout:
			ev.Since = st.since(d.Seat).In(s.loc)
			err = st.leave(d.Seat)
		case access.OutcomeMove:
			ev.Since = st.since(d.PrevSeat).In(s.loc)
			if err = st.leave(d.PrevSeat); err == nil {
				err = st.sit(access.Session{Member: d.Member, Seat: d.Seat, Since: now})
			}
		}
		if err != nil {
			return err
		}
		if err := st.appendEvent(&ev); err != nil {
			return err
		}
		return st.err
	})
	if err != nil {
		return access.Decision{}, Event{}, fmt.Errorf("tap at reader %q: %w", tap.Reader, err)
	}
	return d, ev, nil
}

// AutoCheckout ends every session that access.DueCheckouts says is due at
// the store's time for wall, in one transaction, appending one
// auto_checkout event per session with the reason, and returns those events.
func (s *Store) AutoCheckout(wall time.Time) ([]Event, error) {
	var events []Event
	err := s.db.Update(func(tx *bbolt.Tx) error {
		now, trusted, err := s.clock(tx.Bucket(bucketMeta), wall)
		if err != nil {
			return err
		}
		st := &txState{tx: tx}
		sessions := st.sessions()
		if st.err != nil {
			return st.err
		}
		events, err = s.endDue(st, sessions, now, trusted)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("auto check-out: %w", err)
	}
	return events, nil
}

// endDue ends those of sessions that are due at now.
func (s *Store) endDue(st *txState, sessions []access.Session, now time.Time, trusted bool) ([]Event, error) {
	due := access.DueCheckouts(st, sessions, s.policy, now)
	if st.err != nil {
		return nil, st.err
	}
	events := make([]Event, 0, len(due))
	for _, ac := range due {
		if err := st.leave(ac.Session.Seat); err != nil {
			return nil, err
		}
		ev := Event{
			Time: ac.At.In(s.loc), Kind: access.OutcomeAutoCheckout, Seat: ac.Session.Seat, Member: ac.Session.Member,
			Reason: ac.Reason, ClockTrusted: trusted, Since: ac.Session.Since.In(s.loc),
		}
		if err := st.appendEvent(&ev); err != nil {
			return nil, err
		}
		events = append(events, ev)
	}
	return events, nil
}

// touchedBy returns the sessions a tap could be decided on: the one at the
// tapped seat and the tapping member's own.
func (t *txState) touchedBy(tap access.Tap) []access.Session {
	var out []access.Session
	if seat, ok := t.SeatByReader(tap.Reader); ok {
		if s, ok := t.Occupant(seat.ID); ok {
			out = append(out, s)
		}
	}
	if uid, err := access.CanonicalUID(tap.UID); err == nil {
		if c, ok := t.Card(uid); ok {
			if s, ok := t.SessionOf(c.MemberID); ok && (len(out) == 0 || out[0].Seat != s.Seat) {
				out = append(out, s)
			}
		}
	}
	return out
}

// since returns the start of the session at seat.
func (t *txState) since(seat string) time.Time {
	s, _ := t.Occupant(seat)
	return s.Since
}

// logUID is the card as written to the event log: canonical when it is a
// UID, else what the reader sent, cut to 32 bytes, invalid UTF-8 replaced.
func logUID(raw string) string {
	if uid, err := access.CanonicalUID(raw); err == nil {
		return uid
	}
	if len(raw) > 32 {
		raw = raw[:32]
	}
	return strings.ToValidUTF8(raw, "\uFFFD")
}

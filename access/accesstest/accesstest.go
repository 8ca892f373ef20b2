// Package accesstest provides an in-memory access.Snapshot for tests,
// examples and demos. It models the store's rules: a member holds at most
// one seat, and Apply changes occupancy the way the store does.
package accesstest

import (
	"cmp"
	"slices"
	"time"

	"github.com/pkfreelance/seatgate/access"
)

// Snapshot is an in-memory access.Snapshot. The zero value is empty and
// ready to use; the Add methods return it for chaining. It is not safe for
// concurrent use.
type Snapshot struct {
	Cards    map[string]access.Card    // by UID
	Members  map[string]access.Member  // by ID
	Plans    map[string]access.Plan    // by ID
	SeatsBy  map[string]access.Seat    // by ID
	Sessions map[string]access.Session // by seat
}

var _ access.Snapshot = (*Snapshot)(nil)

// New returns an empty Snapshot.
func New() *Snapshot { return &Snapshot{} }

func put[V any](m *map[string]V, k string, v V) {
	if *m == nil {
		*m = make(map[string]V)
	}
	(*m)[k] = v
}

// AddPlan adds or replaces a plan.
func (s *Snapshot) AddPlan(p access.Plan) *Snapshot { put(&s.Plans, p.ID, p); return s }

// AddMember adds or replaces a member with cards of the given UIDs (in any
// form access.CanonicalUID accepts; it panics on a bad one).
func (s *Snapshot) AddMember(m access.Member, uids ...string) *Snapshot {
	put(&s.Members, m.ID, m)
	for _, u := range uids {
		s.AddCard(access.Card{UID: u, MemberID: m.ID})
	}
	return s
}

// AddCard adds or replaces a card, canonicalising its UID (it panics on a
// bad one).
func (s *Snapshot) AddCard(c access.Card) *Snapshot {
	uid, err := access.CanonicalUID(c.UID)
	if err != nil {
		panic(err)
	}
	c.UID = uid
	put(&s.Cards, c.UID, c)
	return s
}

// AddSeat adds or replaces a seat.
func (s *Snapshot) AddSeat(seat access.Seat) *Snapshot { put(&s.SeatsBy, seat.ID, seat); return s }

// Sit seats a member, as a checkin would, without any checks.
func (s *Snapshot) Sit(member, seat string, since time.Time) *Snapshot {
	put(&s.Sessions, seat, access.Session{Member: member, Seat: seat, Since: since})
	return s
}

// Card implements access.Snapshot.
func (s *Snapshot) Card(uid string) (access.Card, bool) { c, ok := s.Cards[uid]; return c, ok }

// Member implements access.Snapshot.
func (s *Snapshot) Member(id string) (access.Member, bool) { m, ok := s.Members[id]; return m, ok }

// Plan implements access.Snapshot.
func (s *Snapshot) Plan(id string) (access.Plan, bool) { p, ok := s.Plans[id]; return p, ok }

// Seat implements access.Snapshot.
func (s *Snapshot) Seat(id string) (access.Seat, bool) { st, ok := s.SeatsBy[id]; return st, ok }

// SeatByReader implements access.Snapshot.
func (s *Snapshot) SeatByReader(reader string) (access.Seat, bool) {
	for _, st := range s.SeatsBy {
		if st.Reader == reader {
			return st, true
		}
	}
	return access.Seat{}, false
}

// Occupant implements access.Snapshot.
func (s *Snapshot) Occupant(seat string) (access.Session, bool) {
	x, ok := s.Sessions[seat]
	return x, ok
}

// SessionOf implements access.Snapshot.
func (s *Snapshot) SessionOf(member string) (access.Session, bool) {
	for _, x := range s.Sessions {
		if x.Member == member {
			return x, true
		}
	}
	return access.Session{}, false
}

// AllSessions returns the open sessions sorted by seat.
func (s *Snapshot) AllSessions() []access.Session {
	out := make([]access.Session, 0, len(s.Sessions))
	for _, x := range s.Sessions {
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b access.Session) int { return cmp.Compare(a.Seat, b.Seat) })
	return out
}

// Apply changes occupancy as the store does for decision d made at now.
func (s *Snapshot) Apply(d access.Decision, now time.Time) {
	switch d.Outcome {
	case access.OutcomeCheckin:
		s.Sit(d.Member, d.Seat, now)
	case access.OutcomeCheckout:
		delete(s.Sessions, d.Seat)
	case access.OutcomeMove:
		delete(s.Sessions, d.PrevSeat)
		s.Sit(d.Member, d.Seat, now)
	}
}

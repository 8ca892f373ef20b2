package access

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// MemberStatus says whether a member may use the centre at all.
type MemberStatus string

// Member statuses. Any other value is treated like StatusSuspended.
const (
	StatusActive    MemberStatus = "active"
	StatusSuspended MemberStatus = "suspended"
)

// Member is a freelancer with a plan. ValidFrom and ValidUntil are civil
// dates in the centre's time zone, both inclusive.
type Member struct {
	ID, Name   string
	Status     MemberStatus
	PlanID     string
	ValidFrom  Date
	ValidUntil Date
	Seats      SeatRule
}

// Seat rule kinds.
const (
	SeatAny   = "any"   // any seat of the centre
	SeatZones = "zones" // any seat whose Zone is listed in Zones
	SeatFixed = "fixed" // only the seat whose ID is Seat
)

// SeatRule says which seats a member may take. The zero SeatRule allows any
// seat; a Kind other than the three above allows none.
type SeatRule struct {
	Kind  string
	Seat  string
	Zones []string
}

// Allows reports whether the rule lets its member sit at seat.
func (r SeatRule) Allows(seat Seat) bool {
	switch r.Kind {
	case "", SeatAny:
		return true
	case SeatZones:
		return slices.Contains(r.Zones, seat.Zone)
	case SeatFixed:
		return r.Seat == seat.ID
	}
	return false
}

// Card is an RFID card of a member. UID is canonical (see CanonicalUID). A
// member may have several cards; revoking one leaves the others working.
type Card struct {
	UID      string
	MemberID string
	Revoked  bool
}

// Plan is what a member pays for: the days and hours the centre may be used.
type Plan struct {
	ID, Name string
	// Days are the days of the week a window may start on; empty means every day.
	Days []time.Weekday
	// Windows are the opening hours; empty means all day (00:00–00:00).
	Windows []Window
	// GraceDays is how many days after ValidUntil a member may still check in,
	// with Warning "grace".
	GraceDays int
	PricePKR  int64
}

// Window is a span of opening hours. When End is before Start the window
// crosses midnight: 20:00–06:00 runs from 20:00 on the day it starts until
// 06:00 the next day, and belongs to the day it starts on. When Start equals
// End the window lasts 24 hours from Start. Start is inclusive, End exclusive.
type Window struct {
	Start, End TimeOfDay
}

// Duration returns the length of the window: between a minute and 24 hours.
func (w Window) Duration() time.Duration {
	d := time.Duration(w.End-w.Start) * time.Minute
	if d <= 0 {
		d += 24 * time.Hour
	}
	return d
}

// String returns HH:MM–HH:MM.
func (w Window) String() string { return w.Start.String() + "–" + w.End.String() }

// Seat is a desk with its reader. Zone groups seats for SeatRule "zones".
type Seat struct {
	ID, Zone, Reader string
}

// Session is a member sitting at a seat since a time.
type Session struct {
	Member, Seat string
	Since        time.Time
}

// Tap is a card presented at a reader. At is when the reader saw it; Decide
// decides at the time it is given, which the store takes from its clock
// floor (see package store), so At is informational.
type Tap struct {
	Reader, UID string
	At          time.Time
}

// Policy holds the centre-wide rules.
type Policy struct {
	// DailyCutoff is the time of day at which every session still open is
	// ended (reason daily_cutoff), e.g. 03:00. A centre with night windows
	// sets it outside them, or its night members are checked out at the
	// cut-off and must tap again.
	DailyCutoff TimeOfDay
	// MaxSession ends a session that has lasted this long (reason
	// max_session). Zero means no limit.
	MaxSession time.Duration
	// WarnDays: a member whose plan ends within WarnDays days of the day of
	// a tap gets Warning "plan_ending". Zero turns the warning off.
	WarnDays int
	// Location is the centre's time zone, Asia/Karachi. Nil means a fixed
	// UTC+05:00, which is the same as long as Pakistan keeps no daylight saving.
	Location *time.Location
}

// DefaultPolicy returns the policy a centre starts with: cut-off 03:00,
// sessions of at most 16 hours, warnings 5 days before a plan ends, in loc
// (nil: fixed UTC+05:00).
func DefaultPolicy(loc *time.Location) Policy {
	return Policy{DailyCutoff: Clock(3, 0), MaxSession: 16 * time.Hour, WarnDays: 5, Location: loc}
}

var pkt = time.FixedZone("PKT", 5*60*60)

// location returns the policy's time zone.
func (p Policy) location() *time.Location {
	if p.Location == nil {
		return pkt
	}
	return p.Location
}

// Validate reports the first field of p out of range.
func (p Policy) Validate() error {
	switch {
	case !p.DailyCutoff.Valid():
		return fmt.Errorf("policy: daily cutoff %d minutes: out of range", int(p.DailyCutoff))
	case p.MaxSession < 0:
		return errors.New("policy: max session is negative")
	case p.WarnDays < 0:
		return errors.New("policy: warn days is negative")
	}
	return nil
}

// Snapshot is the read-only view of members, cards, plans, seats and
// occupancy that the decision needs. Every lookup reports whether the thing
// exists. The store implements it over one read transaction; package
// accesstest has an in-memory one.
type Snapshot interface {
	Card(uid string) (Card, bool)
	Member(id string) (Member, bool)
	Plan(id string) (Plan, bool)
	Seat(id string) (Seat, bool)
	SeatByReader(reader string) (Seat, bool)
	Occupant(seat string) (Session, bool)
	SessionOf(member string) (Session, bool)
}

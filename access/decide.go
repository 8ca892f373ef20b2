package access

import "time"

// Outcome is what a tap (or the auto check-out sweep) did.
type Outcome string

// Outcomes.
const (
	OutcomeCheckin      Outcome = "checkin"       // the member now sits at the seat
	OutcomeCheckout     Outcome = "checkout"      // the member left the seat
	OutcomeMove         Outcome = "move"          // the member left PrevSeat and now sits at Seat
	OutcomeDeny         Outcome = "deny"          // nothing changed; Reason says why
	OutcomeAutoCheckout Outcome = "auto_checkout" // the sweep ended a session; Reason says why
)

// Reason explains a deny or an auto check-out. The deny reasons are listed
// in order of precedence in the package documentation.
type Reason string

// Deny reasons, in order of precedence.
const (
	ReasonUnknownSeat     Reason = "unknown_seat"     // the reader belongs to no configured seat
	ReasonUnknownCard     Reason = "unknown_card"     // no such card, or its member is unknown
	ReasonCardRevoked     Reason = "card_revoked"     // this card is revoked (the member's others may work)
	ReasonMemberSuspended Reason = "member_suspended" // the member's status is not active
	ReasonUnknownPlan     Reason = "unknown_plan"     // the member's plan is not in the membership
	ReasonPlanNotStarted  Reason = "plan_not_started" // the service day is before ValidFrom
	ReasonPlanExpired     Reason = "plan_expired"     // the service day is after ValidUntil plus grace days
	ReasonOutsideHours    Reason = "outside_hours"    // no window of the plan is open now
	ReasonSeatNotAllowed  Reason = "seat_not_allowed" // the member's seat rule excludes this seat
	ReasonSeatTaken       Reason = "seat_taken"       // someone else sits here
)

// Auto check-out reasons.
const (
	ReasonWindowEnd     Reason = "window_end"     // the member's permitted hours (or plan dates) ended
	ReasonDailyCutoff   Reason = "daily_cutoff"   // the daily cut-off passed
	ReasonMaxSession    Reason = "max_session"    // the session reached Policy.MaxSession
	ReasonMemberRemoved Reason = "member_removed" // the member left the membership
	ReasonSeatRemoved   Reason = "seat_removed"   // the seat left the gateway's configuration
)

// DenyReasons returns the deny reasons in order of precedence: when several
// apply, Decide reports the first.
func DenyReasons() []Reason {
	return []Reason{
		ReasonUnknownSeat, ReasonUnknownCard, ReasonCardRevoked, ReasonMemberSuspended,
		ReasonUnknownPlan, ReasonPlanNotStarted, ReasonPlanExpired, ReasonOutsideHours,
		ReasonSeatNotAllowed, ReasonSeatTaken,
	}
}

// Warning is an amber light on an allowed tap.
type Warning string

// Warnings.
const (
	WarningPlanEnding Warning = "plan_ending" // ValidUntil is within Policy.WarnDays of the service day
	WarningGrace      Warning = "grace"       // ValidUntil has passed; the member is in grace days
)

// Decision is the answer to a tap. Member and MemberName are set whenever
// the card is known; Seat whenever the reader is. DaysLeft goes with
// Warning: with plan_ending it counts the days from the service day to
// ValidUntil (0: the plan ends today), with grace the grace days left after
// the service day (0: the last one); without a warning it is 0.
type Decision struct {
	Outcome    Outcome
	Reason     Reason
	Warning    Warning
	DaysLeft   int
	Member     string
	MemberName string
	Seat       string
	PrevSeat   string
}

// Allowed reports whether the tap was accepted (anything but a deny).
func (d Decision) Allowed() bool { return d.Outcome != OutcomeDeny && d.Outcome != "" }

// Decide decides a tap at time now. It reads s and nothing else, changes
// nothing and is deterministic; the store applies the result. See the
// package documentation for the rules and the precedence of deny reasons.
func Decide(s Snapshot, p Policy, now time.Time, tap Tap) Decision {
	loc := p.location()
	now = now.In(loc)

	seat, ok := s.SeatByReader(tap.Reader)
	if !ok {
		return deny(Decision{}, ReasonUnknownSeat)
	}
	d := Decision{Seat: seat.ID}

	var card Card
	if uid, err := CanonicalUID(tap.UID); err == nil {
		card, ok = s.Card(uid)
	} else {
		ok = false
	}
	if !ok {
		return deny(d, ReasonUnknownCard)
	}
	m, ok := s.Member(card.MemberID)
	if !ok {
		return deny(d, ReasonUnknownCard)
	}
	d.Member, d.MemberName = m.ID, m.Name
	plan, hasPlan := s.Plan(m.PlanID)

	// A checkout is always allowed: never trap someone at a desk.
	cur, seated := s.SessionOf(m.ID)
	if seated && cur.Seat == seat.ID {
		d.Outcome = OutcomeCheckout
		if hasPlan {
			d.warn(m, plan, p, m.standingAt(plan, now, loc))
		}
		return d
	}

	if card.Revoked {
		return deny(d, ReasonCardRevoked)
	}
	if m.Status != StatusActive {
		return deny(d, ReasonMemberSuspended)
	}
	if !hasPlan {
		return deny(d, ReasonUnknownPlan)
	}
	st := m.standingAt(plan, now, loc)
	switch {
	case st.validity == notStarted:
		return deny(d, ReasonPlanNotStarted)
	case st.validity == expired:
		return deny(d, ReasonPlanExpired)
	case !st.inHours:
		return deny(d, ReasonOutsideHours)
	}
	if !m.Seats.Allows(seat) {
		return deny(d, ReasonSeatNotAllowed)
	}
	if occ, taken := s.Occupant(seat.ID); taken && occ.Member != m.ID {
		return deny(d, ReasonSeatTaken)
	}

	d.Outcome = OutcomeCheckin
	if seated {
		d.Outcome, d.PrevSeat = OutcomeMove, cur.Seat
	}
	d.warn(m, plan, p, st)
	return d
}

func deny(d Decision, r Reason) Decision {
	d.Outcome, d.Reason = OutcomeDeny, r
	return d
}

// warn sets the warning for a member at standing st.
func (d *Decision) warn(m Member, pl Plan, p Policy, st standing) {
	switch st.validity {
	case inGrace:
		d.Warning = WarningGrace
		d.DaysLeft = m.ValidUntil.AddDays(pl.GraceDays).DaysSince(st.day)
	case valid:
		if left := m.ValidUntil.DaysSince(st.day); p.WarnDays > 0 && left <= p.WarnDays {
			d.Warning, d.DaysLeft = WarningPlanEnding, left
		}
	}
}

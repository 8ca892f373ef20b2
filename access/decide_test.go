package access_test

import (
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/accesstest"
)

var names = map[string]string{
	"m-ayesha": "Ayesha Khan", "m-bilal": "Bilal Ahmed", "m-sana": "Sana Mir",
	"m-usman": "Usman Ali", "m-hina": "Hina Baig",
}

const (
	ayesha  = "04A1B2C3"
	ayeshaR = "04A1B2C3D4E5F6" // revoked
	bilal   = "11111111"
	sana    = "22222222"
	usman   = "33333333"
	hina    = "44444444"
)

var readerOf = map[string]string{"A1": "r-a1", "A2": "r-a2", "B1": "r-b1"}

func checkin(member, seat string) access.Decision {
	return access.Decision{Outcome: access.OutcomeCheckin, Member: member, MemberName: names[member], Seat: seat}
}

func checkout(member, seat string) access.Decision {
	d := checkin(member, seat)
	d.Outcome = access.OutcomeCheckout
	return d
}

func move(member, from, to string) access.Decision {
	d := checkin(member, to)
	d.Outcome, d.PrevSeat = access.OutcomeMove, from
	return d
}

func denied(r access.Reason, member, seat string) access.Decision {
	d := checkin(member, seat)
	d.Outcome, d.Reason = access.OutcomeDeny, r
	return d
}

func warned(d access.Decision, w access.Warning, left int) access.Decision {
	d.Warning, d.DaysLeft = w, left
	return d
}

type decideCase struct {
	name   string
	setup  func(*accesstest.Snapshot)
	policy *access.Policy
	now    time.Time
	seat   string // the reader of this seat is tapped; see reader to override
	reader string
	uid    string
	want   access.Decision
}

func sit(member, seat, since string) func(*accesstest.Snapshot) {
	return func(s *accesstest.Snapshot) { s.Sit(member, seat, at(since)) }
}

func both(fs ...func(*accesstest.Snapshot)) func(*accesstest.Snapshot) {
	return func(s *accesstest.Snapshot) {
		for _, f := range fs {
			f(s)
		}
	}
}

func runDecide(t *testing.T, tests []decideCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fixture()
			if tt.setup != nil {
				tt.setup(s)
			}
			p := policy
			if tt.policy != nil {
				p = *tt.policy
			}
			reader := tt.reader
			if reader == "" {
				reader = readerOf[tt.seat]
			}
			got := access.Decide(s, p, tt.now, access.Tap{Reader: reader, UID: tt.uid, At: tt.now})
			if got.Outcome == "" {
				t.Fatalf("got empty outcome: %+v", got)
			}
			if !equalDecision(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func equalDecision(a, b access.Decision) bool { return a == b }

func TestDecideOccupancy(t *testing.T) {
	runDecide(t, []decideCase{
		{name: "free seat: checkin", now: at("2026-11-04 10:00"), seat: "A1", uid: ayesha,
			want: checkin("m-ayesha", "A1")},
		{name: "own seat: checkout", setup: sit("m-ayesha", "A1", "2026-11-04 09:00"),
			now: at("2026-11-04 10:00"), seat: "A1", uid: ayesha, want: checkout("m-ayesha", "A1")},
		{name: "free seat while seated elsewhere: move", setup: sit("m-ayesha", "A1", "2026-11-04 09:00"),
			now: at("2026-11-04 10:00"), seat: "A2", uid: ayesha, want: move("m-ayesha", "A1", "A2")},
		{name: "someone else's seat: seat_taken", setup: sit("m-bilal", "A1", "2026-11-04 09:00"),
			now: at("2026-11-04 10:00"), seat: "A1", uid: ayesha, want: denied(access.ReasonSeatTaken, "m-ayesha", "A1")},
		{name: "move onto someone else's seat: seat_taken",
			setup: both(sit("m-bilal", "A1", "2026-11-04 09:00"), sit("m-ayesha", "A2", "2026-11-04 09:00")),
			now:   at("2026-11-04 10:00"), seat: "A1", uid: ayesha, want: denied(access.ReasonSeatTaken, "m-ayesha", "A1")},
		{name: "card uid in lower case with colons", now: at("2026-11-04 10:00"), seat: "A1", uid: "04:a1:b2:c3",
			want: checkin("m-ayesha", "A1")},
		{name: "now given in UTC is judged in Karachi", now: at("2026-11-04 10:00").UTC(), seat: "A1", uid: bilal,
			want: checkin("m-bilal", "A1")},
	})
}

func TestDecideCards(t *testing.T) {
	runDecide(t, []decideCase{
		{name: "reader of no seat: unknown_seat", now: at("2026-11-04 10:00"), reader: "r-zz", uid: ayesha,
			want: access.Decision{Outcome: access.OutcomeDeny, Reason: access.ReasonUnknownSeat}},
		{name: "unknown card", now: at("2026-11-04 10:00"), seat: "A1", uid: "DEADBEEF",
			want: access.Decision{Outcome: access.OutcomeDeny, Reason: access.ReasonUnknownCard, Seat: "A1"}},
		{name: "unparsable uid: unknown_card", now: at("2026-11-04 10:00"), seat: "A1", uid: "not a uid",
			want: access.Decision{Outcome: access.OutcomeDeny, Reason: access.ReasonUnknownCard, Seat: "A1"}},
		{name: "card of an unknown member: unknown_card",
			setup: func(s *accesstest.Snapshot) { s.AddCard(access.Card{UID: "55555555", MemberID: "m-ghost"}) },
			now:   at("2026-11-04 10:00"), seat: "A1", uid: "55555555",
			want: access.Decision{Outcome: access.OutcomeDeny, Reason: access.ReasonUnknownCard, Seat: "A1"}},
		{name: "revoked card", now: at("2026-11-04 10:00"), seat: "A1", uid: ayeshaR,
			want: denied(access.ReasonCardRevoked, "m-ayesha", "A1")},
		{name: "revoked card while the member's other card works", now: at("2026-11-04 10:00"), seat: "A1", uid: ayesha,
			want: checkin("m-ayesha", "A1")},
		{name: "revoked card can check out", setup: sit("m-ayesha", "A1", "2026-11-04 09:00"),
			now: at("2026-11-04 10:00"), seat: "A1", uid: ayeshaR, want: checkout("m-ayesha", "A1")},
	})
}

func TestDecideMemberStatus(t *testing.T) {
	runDecide(t, []decideCase{
		{name: "suspended member", now: at("2026-11-04 10:00"), seat: "A1", uid: usman,
			want: denied(access.ReasonMemberSuspended, "m-usman", "A1")},
		{name: "suspended member can still check out", setup: sit("m-usman", "A1", "2026-11-04 09:00"),
			now: at("2026-11-04 10:00"), seat: "A1", uid: usman, want: checkout("m-usman", "A1")},
		{name: "suspended member cannot move", setup: sit("m-usman", "A1", "2026-11-04 09:00"),
			now: at("2026-11-04 10:00"), seat: "A2", uid: usman, want: denied(access.ReasonMemberSuspended, "m-usman", "A2")},
		{name: "unknown status counts as suspended", setup: edit("m-ayesha", func(m *access.Member) { m.Status = "banned" }),
			now: at("2026-11-04 10:00"), seat: "A1", uid: ayesha, want: denied(access.ReasonMemberSuspended, "m-ayesha", "A1")},
		{name: "plan missing from the membership", setup: edit("m-ayesha", func(m *access.Member) { m.PlanID = "gone" }),
			now: at("2026-11-04 10:00"), seat: "A1", uid: ayesha, want: denied(access.ReasonUnknownPlan, "m-ayesha", "A1")},
		{name: "plan missing: can still check out",
			setup: both(edit("m-ayesha", func(m *access.Member) { m.PlanID = "gone" }), sit("m-ayesha", "A1", "2026-11-04 09:00")),
			now:   at("2026-11-04 10:00"), seat: "A1", uid: ayesha, want: checkout("m-ayesha", "A1")},
	})
}

func TestDecidePlanDates(t *testing.T) {
	noWarn := policy
	noWarn.WarnDays = 0
	graceDay := func(s *accesstest.Snapshot) { p := s.Plans["any"]; p.GraceDays = 1; s.Plans["any"] = p }
	runDecide(t, []decideCase{
		{name: "before ValidFrom, last second", now: at("2026-10-31 23:59:59"), seat: "A1", uid: ayesha,
			want: denied(access.ReasonPlanNotStarted, "m-ayesha", "A1")},
		{name: "ValidFrom at midnight", now: at("2026-11-01 00:00:00"), seat: "A1", uid: ayesha,
			want: checkin("m-ayesha", "A1")},
		{name: "six days before ValidUntil: no warning", now: at("2026-11-24 10:00"), seat: "A1", uid: bilal,
			want: checkin("m-bilal", "A1")},
		{name: "five days before ValidUntil: plan_ending", now: at("2026-11-25 10:00"), seat: "A1", uid: bilal,
			want: warned(checkin("m-bilal", "A1"), access.WarningPlanEnding, 5)},
		{name: "ValidUntil itself: plan_ending, 0 left", now: at("2026-11-30 10:00"), seat: "A1", uid: bilal,
			want: warned(checkin("m-bilal", "A1"), access.WarningPlanEnding, 0)},
		{name: "WarnDays 0: no warning", policy: &noWarn, now: at("2026-11-30 10:00"), seat: "A1", uid: bilal,
			want: checkin("m-bilal", "A1")},
		{name: "first grace day", now: at("2026-12-01 10:00"), seat: "A1", uid: bilal,
			want: warned(checkin("m-bilal", "A1"), access.WarningGrace, 2)},
		{name: "last grace day", now: at("2026-12-03 17:59"), seat: "A1", uid: bilal,
			want: warned(checkin("m-bilal", "A1"), access.WarningGrace, 0)},
		{name: "after grace: plan_expired", now: at("2026-12-04 09:00"), seat: "A1", uid: bilal,
			want: denied(access.ReasonPlanExpired, "m-bilal", "A1")},
		{name: "ValidUntil, last second (no grace)", now: at("2026-11-30 23:59:59"), seat: "A1", uid: ayesha,
			want: warned(checkin("m-ayesha", "A1"), access.WarningPlanEnding, 0)},
		{name: "midnight after ValidUntil (no grace): plan_expired", now: at("2026-12-01 00:00:00"), seat: "A1", uid: ayesha,
			want: denied(access.ReasonPlanExpired, "m-ayesha", "A1")},
		{name: "midnight Karachi is 19:00 UTC: one second before", now: time.Date(2026, 11, 30, 18, 59, 59, 0, time.UTC),
			seat: "A1", uid: ayesha, want: warned(checkin("m-ayesha", "A1"), access.WarningPlanEnding, 0)},
		{name: "midnight Karachi is 19:00 UTC", now: time.Date(2026, 11, 30, 19, 0, 0, 0, time.UTC),
			seat: "A1", uid: ayesha, want: denied(access.ReasonPlanExpired, "m-ayesha", "A1")},
		{name: "one grace day, last second", setup: graceDay, now: at("2026-12-01 23:59:59"), seat: "A1", uid: ayesha,
			want: warned(checkin("m-ayesha", "A1"), access.WarningGrace, 0)},
		{name: "one grace day, over at midnight", setup: graceDay, now: at("2026-12-02 00:00:00"), seat: "A1", uid: ayesha,
			want: denied(access.ReasonPlanExpired, "m-ayesha", "A1")},
		{name: "expired member can still check out", setup: sit("m-ayesha", "A1", "2026-11-30 22:00"),
			now: at("2026-12-01 00:30"), seat: "A1", uid: ayesha, want: checkout("m-ayesha", "A1")},
		{name: "checkout carries the warning", setup: sit("m-ayesha", "A1", "2026-11-28 09:00"),
			now: at("2026-11-28 17:00"), seat: "A1", uid: ayesha, want: warned(checkout("m-ayesha", "A1"), access.WarningPlanEnding, 2)},
		{name: "move carries the warning", setup: sit("m-ayesha", "A1", "2026-11-29 09:00"),
			now: at("2026-11-29 17:00"), seat: "A2", uid: ayesha, want: warned(move("m-ayesha", "A1", "A2"), access.WarningPlanEnding, 1)},
	})
}

func TestDecideHours(t *testing.T) {
	nightFrom := func(from, until string) func(*accesstest.Snapshot) {
		return edit("m-sana", func(m *access.Member) { m.ValidFrom, m.ValidUntil = date(from), date(until) })
	}
	runDecide(t, []decideCase{
		{name: "day window: a minute before opening", now: at("2026-11-04 08:59"), seat: "A1", uid: bilal,
			want: denied(access.ReasonOutsideHours, "m-bilal", "A1")},
		{name: "day window: opening minute", now: at("2026-11-04 09:00"), seat: "A1", uid: bilal,
			want: checkin("m-bilal", "A1")},
		{name: "day window: last minute", now: at("2026-11-04 17:59:59"), seat: "A1", uid: bilal,
			want: checkin("m-bilal", "A1")},
		{name: "day window: closing time is outside", now: at("2026-11-04 18:00"), seat: "A1", uid: bilal,
			want: denied(access.ReasonOutsideHours, "m-bilal", "A1")},
		{name: "day window: Saturday", now: at("2026-11-07 10:00"), seat: "A1", uid: bilal,
			want: denied(access.ReasonOutsideHours, "m-bilal", "A1")},
		{name: "day window: checkout after hours", setup: sit("m-bilal", "A1", "2026-11-04 17:00"),
			now: at("2026-11-04 19:00"), seat: "A1", uid: bilal, want: checkout("m-bilal", "A1")},

		{name: "night window: Monday 23:00", now: at("2026-11-02 23:00"), seat: "B1", uid: sana,
			want: checkin("m-sana", "B1")},
		{name: "night window: Tuesday 02:00 is Monday's night", now: at("2026-11-03 02:00"), seat: "B1", uid: sana,
			want: checkin("m-sana", "B1")},
		{name: "night window: Saturday 02:00 is Friday's night", now: at("2026-11-07 02:00"), seat: "B1", uid: sana,
			want: checkin("m-sana", "B1")},
		{name: "night window: Saturday 23:00", now: at("2026-11-07 23:00"), seat: "B1", uid: sana,
			want: denied(access.ReasonOutsideHours, "m-sana", "B1")},
		{name: "night window: Monday 02:00 is Sunday's night", now: at("2026-11-02 02:00"), seat: "B1", uid: sana,
			want: denied(access.ReasonOutsideHours, "m-sana", "B1")},
		{name: "night window: a minute before opening", now: at("2026-11-02 19:59"), seat: "B1", uid: sana,
			want: denied(access.ReasonOutsideHours, "m-sana", "B1")},
		{name: "night window: last minute", now: at("2026-11-03 05:59"), seat: "B1", uid: sana,
			want: checkin("m-sana", "B1")},
		{name: "night window: closing time is outside", now: at("2026-11-03 06:00"), seat: "B1", uid: sana,
			want: denied(access.ReasonOutsideHours, "m-sana", "B1")},
		{name: "night window: the start day decides ValidFrom", setup: nightFrom("2026-11-03", "2026-11-30"),
			now: at("2026-11-03 02:00"), seat: "B1", uid: sana, want: denied(access.ReasonPlanNotStarted, "m-sana", "B1")},
		{name: "night window: first night", setup: nightFrom("2026-11-03", "2026-11-30"),
			now: at("2026-11-03 20:00"), seat: "B1", uid: sana, want: checkin("m-sana", "B1")},
		{name: "night window: the start day decides ValidUntil", setup: nightFrom("2026-11-01", "2026-11-02"),
			now: at("2026-11-03 02:00"), seat: "B1", uid: sana, want: warned(checkin("m-sana", "B1"), access.WarningPlanEnding, 0)},
		{name: "night window: the night after ValidUntil", setup: nightFrom("2026-11-01", "2026-11-02"),
			now: at("2026-11-03 21:00"), seat: "B1", uid: sana, want: denied(access.ReasonPlanExpired, "m-sana", "B1")},
		{name: "night window: expired outside hours reports the dates", setup: nightFrom("2026-11-01", "2026-11-02"),
			now: at("2026-11-03 10:00"), seat: "B1", uid: sana, want: denied(access.ReasonPlanExpired, "m-sana", "B1")},
		{name: "night window: last night of the month", now: at("2026-12-01 02:00"), seat: "B1", uid: sana,
			want: warned(checkin("m-sana", "B1"), access.WarningPlanEnding, 0)},

		{name: "24 h window: opening", now: at("2026-11-02 08:00"), seat: "A1", uid: hina,
			want: checkin("m-hina", "A1")},
		{name: "24 h window: next morning, last minute", now: at("2026-11-03 07:59"), seat: "A1", uid: hina,
			want: checkin("m-hina", "A1")},
		{name: "24 h window: over after 24 hours", now: at("2026-11-03 08:00"), seat: "A1", uid: hina,
			want: denied(access.ReasonOutsideHours, "m-hina", "A1")},
		{name: "24 h window: Sunday's does not exist", now: at("2026-11-02 07:59"), seat: "A1", uid: hina,
			want: denied(access.ReasonOutsideHours, "m-hina", "A1")},
		{name: "no windows: all day", now: at("2026-11-08 00:00"), seat: "A1", uid: ayesha,
			want: checkin("m-ayesha", "A1")},
	})
}

func TestDecideSeatRules(t *testing.T) {
	runDecide(t, []decideCase{
		{name: "zones: seat in zone", now: at("2026-11-04 10:00"), seat: "A2", uid: bilal, want: checkin("m-bilal", "A2")},
		{name: "zones: seat in another zone", now: at("2026-11-04 10:00"), seat: "B1", uid: bilal,
			want: denied(access.ReasonSeatNotAllowed, "m-bilal", "B1")},
		{name: "zones: move to another zone", setup: sit("m-bilal", "A1", "2026-11-04 09:00"),
			now: at("2026-11-04 10:00"), seat: "B1", uid: bilal, want: denied(access.ReasonSeatNotAllowed, "m-bilal", "B1")},
		{name: "fixed: own seat", now: at("2026-11-04 21:00"), seat: "B1", uid: sana, want: checkin("m-sana", "B1")},
		{name: "fixed: another seat", now: at("2026-11-04 21:00"), seat: "A1", uid: sana,
			want: denied(access.ReasonSeatNotAllowed, "m-sana", "A1")},
		{name: "any: every seat", now: at("2026-11-04 10:00"), seat: "B1", uid: ayesha, want: checkin("m-ayesha", "B1")},
		{name: "unknown kind allows nothing", setup: edit("m-ayesha", func(m *access.Member) { m.Seats.Kind = "vip" }),
			now: at("2026-11-04 10:00"), seat: "B1", uid: ayesha, want: denied(access.ReasonSeatNotAllowed, "m-ayesha", "B1")},
	})
}

// TestDecidePrecedence starts from a tap that fails every check and removes
// the causes one at a time in the documented order: each step must report
// the next reason, and the last must check in.
func TestDecidePrecedence(t *testing.T) {
	s := fixture()
	s.AddCard(access.Card{UID: "66666666", MemberID: "m-ayesha", Revoked: true})
	s.AddMember(access.Member{ID: "m-other", Name: "Other", Status: access.StatusActive, PlanID: "any",
		ValidFrom: date("2026-01-01"), ValidUntil: date("2026-12-31")}, "77777777")
	s.Sit("m-other", "B1", at("2026-11-04 09:00"))
	edit("m-ayesha", func(m *access.Member) {
		m.Status = access.StatusSuspended
		m.PlanID = "gone"
		m.Seats = access.SeatRule{Kind: access.SeatZones, Zones: []string{"A"}}
	})(s)
	uid := "DEADBEEF"
	reader := "r-zz"
	now := at("2026-12-07 20:00") // Monday: Ayesha's plan will have ended; day plan closed

	fixAyesha := func(f func(*access.Member)) func() { return func() { edit("m-ayesha", f)(s) } }
	fixes := []struct {
		reason access.Reason
		fix    func()
	}{
		{access.ReasonUnknownSeat, func() { reader = "r-b1" }},
		{access.ReasonUnknownCard, func() { uid = "66666666" }},
		{access.ReasonCardRevoked, func() { c := s.Cards["66666666"]; c.Revoked = false; s.Cards["66666666"] = c }},
		{access.ReasonMemberSuspended, fixAyesha(func(m *access.Member) { m.Status = access.StatusActive })},
		{access.ReasonUnknownPlan, fixAyesha(func(m *access.Member) { m.PlanID = "day"; m.ValidFrom = date("2026-12-08") })},
		{access.ReasonPlanNotStarted, fixAyesha(func(m *access.Member) { m.ValidFrom = date("2026-11-01") })},
		{access.ReasonPlanExpired, fixAyesha(func(m *access.Member) { m.ValidUntil = date("2026-12-31") })},
		{access.ReasonOutsideHours, func() { now = at("2026-12-07 10:00") }},
		{access.ReasonSeatNotAllowed, fixAyesha(func(m *access.Member) { m.Seats = access.SeatRule{Kind: access.SeatAny} })},
		{access.ReasonSeatTaken, func() { delete(s.Sessions, "B1") }},
	}
	if len(fixes) != len(access.DenyReasons()) {
		t.Fatalf("test covers %d reasons, DenyReasons lists %d", len(fixes), len(access.DenyReasons()))
	}
	for i, f := range fixes {
		got := access.Decide(s, policy, now, access.Tap{Reader: reader, UID: uid})
		if got.Outcome != access.OutcomeDeny || got.Reason != f.reason {
			t.Fatalf("step %d: got %s/%s, want deny/%s", i, got.Outcome, got.Reason, f.reason)
		}
		if access.DenyReasons()[i] != f.reason {
			t.Errorf("DenyReasons[%d]: got %s, want %s", i, access.DenyReasons()[i], f.reason)
		}
		f.fix()
	}
	if got := access.Decide(s, policy, now, access.Tap{Reader: reader, UID: uid}); got.Outcome != access.OutcomeCheckin {
		t.Errorf("all fixed: got %+v, want checkin", got)
	}
}

// TestDecideNeverTraps checks that whatever is wrong with a member, tapping
// the seat they hold checks them out.
func TestDecideNeverTraps(t *testing.T) {
	breakages := map[string]func(*accesstest.Snapshot){
		"suspended":     edit("m-bilal", func(m *access.Member) { m.Status = access.StatusSuspended }),
		"expired":       edit("m-bilal", func(m *access.Member) { m.ValidUntil = date("2026-10-01") }),
		"not started":   edit("m-bilal", func(m *access.Member) { m.ValidFrom = date("2026-12-01") }),
		"seat excluded": edit("m-bilal", func(m *access.Member) { m.Seats = access.SeatRule{Kind: access.SeatFixed, Seat: "B1"} }),
		"revoked card":  func(s *accesstest.Snapshot) { c := s.Cards[bilal]; c.Revoked = true; s.Cards[bilal] = c },
		"no plan":       func(s *accesstest.Snapshot) { delete(s.Plans, "day") },
	}
	for name, brk := range breakages {
		t.Run(name, func(t *testing.T) {
			s := fixture()
			s.Sit("m-bilal", "A1", at("2026-11-04 17:00"))
			brk(s)
			for _, now := range []time.Time{at("2026-11-04 17:30"), at("2026-11-04 23:00"), at("2026-11-07 11:00")} {
				got := access.Decide(s, policy, now, access.Tap{Reader: "r-a1", UID: bilal})
				if got.Outcome != access.OutcomeCheckout {
					t.Errorf("at %s: got %+v, want checkout", now.Format(time.DateTime), got)
				}
			}
		})
	}
}

// TestDecideSequence follows one member through a day with the in-memory
// store, checking that one member holds at most one seat.
func TestDecideSequence(t *testing.T) {
	s := fixture()
	steps := []struct {
		at, seat string
		want     access.Outcome
	}{
		{"2026-11-04 09:00", "A1", access.OutcomeCheckin},
		{"2026-11-04 11:00", "A2", access.OutcomeMove},
		{"2026-11-04 12:00", "A1", access.OutcomeMove},
		{"2026-11-04 17:00", "A1", access.OutcomeCheckout},
		{"2026-11-04 17:30", "A2", access.OutcomeCheckin},
	}
	for _, st := range steps {
		now := at(st.at)
		d := access.Decide(s, policy, now, access.Tap{Reader: readerOf[st.seat], UID: bilal})
		if d.Outcome != st.want {
			t.Fatalf("%s at %s: got %s, want %s", st.at, st.seat, d.Outcome, st.want)
		}
		s.Apply(d, now)
		held := 0
		for _, x := range s.Sessions {
			if x.Member == "m-bilal" {
				held++
			}
		}
		if want := map[bool]int{true: 0, false: 1}[d.Outcome == access.OutcomeCheckout]; held != want {
			t.Fatalf("%s: member holds %d seats, want %d", st.at, held, want)
		}
	}
}

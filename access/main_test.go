package access_test

import (
	"testing"
	"time"
	_ "time/tzdata" // Asia/Karachi on any machine

	"go.uber.org/goleak"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/accesstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var karachi = mustLoad("Asia/Karachi")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at parses "2006-01-02 15:04" (seconds optional) in Karachi.
func at(s string) time.Time {
	layout := "2006-01-02 15:04"
	if len(s) > len(layout) {
		layout = time.DateTime
	}
	t, err := time.ParseInLocation(layout, s, karachi)
	if err != nil {
		panic(err)
	}
	return t
}

func date(s string) access.Date {
	d, err := access.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

var weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}

var policy = access.Policy{
	DailyCutoff: access.Clock(3, 0),
	WarnDays:    5,
	Location:    karachi,
}

// November 2026: the 2nd is a Monday, the 7th a Saturday, the 8th a Sunday.
//
// Cards: 04A1B2C3 Ayesha (any seat, any time), 04A1B2C3D4E5F6 Ayesha's
// revoked old card, 11111111 Bilal (zone A, Mon–Fri 09:00–18:00, 3 grace
// days), 22222222 Sana (seat B1 only, Mon–Fri nights 20:00–06:00), 33333333
// Usman (suspended), 44444444 Hina (24-hour window from Monday 08:00).
func fixture() *accesstest.Snapshot {
	nov := func(m access.Member) access.Member {
		m.ValidFrom, m.ValidUntil = date("2026-11-01"), date("2026-11-30")
		if m.Status == "" {
			m.Status = access.StatusActive
		}
		return m
	}
	s := accesstest.New().
		AddPlan(access.Plan{ID: "any", Name: "Open"}).
		AddPlan(access.Plan{ID: "day", Name: "Day shift", Days: weekdays,
			Windows: []access.Window{{Start: access.Clock(9, 0), End: access.Clock(18, 0)}}, GraceDays: 3}).
		AddPlan(access.Plan{ID: "night", Name: "Night shift", Days: weekdays,
			Windows: []access.Window{{Start: access.Clock(20, 0), End: access.Clock(6, 0)}}}).
		AddPlan(access.Plan{ID: "round", Name: "Monday round the clock", Days: []time.Weekday{time.Monday},
			Windows: []access.Window{{Start: access.Clock(8, 0), End: access.Clock(8, 0)}}}).
		AddSeat(access.Seat{ID: "A1", Zone: "A", Reader: "r-a1"}).
		AddSeat(access.Seat{ID: "A2", Zone: "A", Reader: "r-a2"}).
		AddSeat(access.Seat{ID: "B1", Zone: "B", Reader: "r-b1"}).
		AddMember(nov(access.Member{ID: "m-ayesha", Name: "Ayesha Khan", PlanID: "any", Seats: access.SeatRule{Kind: access.SeatAny}}), "04a1b2c3").
		AddCard(access.Card{UID: "04:A1:B2:C3:D4:E5:F6", MemberID: "m-ayesha", Revoked: true}).
		AddMember(nov(access.Member{ID: "m-bilal", Name: "Bilal Ahmed", PlanID: "day", Seats: access.SeatRule{Kind: access.SeatZones, Zones: []string{"A"}}}), "11111111").
		AddMember(nov(access.Member{ID: "m-sana", Name: "Sana Mir", PlanID: "night", Seats: access.SeatRule{Kind: access.SeatFixed, Seat: "B1"}}), "22222222").
		AddMember(nov(access.Member{ID: "m-usman", Name: "Usman Ali", Status: access.StatusSuspended, PlanID: "any"}), "33333333").
		AddMember(nov(access.Member{ID: "m-hina", Name: "Hina Baig", PlanID: "round"}), "44444444")
	return s
}

// edit returns a setup that changes one member.
func edit(id string, f func(*access.Member)) func(*accesstest.Snapshot) {
	return func(s *accesstest.Snapshot) {
		m := s.Members[id]
		f(&m)
		s.Members[id] = m
	}
}

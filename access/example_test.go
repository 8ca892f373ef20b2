package access_test

import (
	"fmt"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/accesstest"
)

func ExampleDecide() {
	loc, _ := time.LoadLocation("Asia/Karachi")
	snap := accesstest.New().
		AddPlan(access.Plan{ID: "night", Name: "Night shift",
			Days:    []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
			Windows: []access.Window{{Start: access.Clock(20, 0), End: access.Clock(6, 0)}}}).
		AddSeat(access.Seat{ID: "A1", Zone: "A", Reader: "desk-a1"}).
		AddMember(access.Member{ID: "m-001", Name: "Ayesha Khan", Status: access.StatusActive, PlanID: "night",
			ValidFrom:  access.Date{Year: 2026, Month: time.November, Day: 1},
			ValidUntil: access.Date{Year: 2026, Month: time.November, Day: 30},
			Seats:      access.SeatRule{Kind: access.SeatZones, Zones: []string{"A"}}}, "04:a1:b2:c3:d4:e5:f6")
	policy := access.DefaultPolicy(loc)
	tap := func(when string) {
		now, _ := time.ParseInLocation(time.DateTime, when, loc)
		d := access.Decide(snap, policy, now, access.Tap{Reader: "desk-a1", UID: "04A1B2C3D4E5F6", At: now})
		fmt.Println(when, d.Outcome, d.Reason, d.Warning, d.DaysLeft)
		snap.Apply(d, now)
	}
	tap("2026-11-06 22:00:00") // Friday night: in
	tap("2026-11-07 01:30:00") // still Friday's night: out
	tap("2026-11-07 22:00:00") // Saturday night is not in the plan
	tap("2026-11-27 21:00:00") // three days left
	// Output:
	// 2026-11-06 22:00:00 checkin   0
	// 2026-11-07 01:30:00 checkout   0
	// 2026-11-07 22:00:00 deny outside_hours  0
	// 2026-11-27 21:00:00 checkin  plan_ending 3
}

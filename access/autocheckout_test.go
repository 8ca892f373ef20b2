package access_test

import (
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/accesstest"
)

func TestDueCheckouts(t *testing.T) {
	withPolicy := func(f func(*access.Policy)) *access.Policy { p := policy; f(&p); return &p }
	maxFour := withPolicy(func(p *access.Policy) { p.MaxSession = 4 * time.Hour })
	split := func(s *accesstest.Snapshot) {
		s.AddPlan(access.Plan{ID: "split", Windows: []access.Window{
			{Start: access.Clock(13, 0), End: access.Clock(18, 0)},
			{Start: access.Clock(9, 0), End: access.Clock(13, 0)},
		}})
		edit("m-bilal", func(m *access.Member) { m.PlanID = "split" })(s)
	}
	type due struct {
		seat   string
		reason access.Reason
		at     string
	}
	tests := []struct {
		name   string
		setup  func(*accesstest.Snapshot)
		policy *access.Policy
		now    string
		want   []due
	}{
		{name: "nobody seated", now: "2026-11-04 18:00"},
		{name: "window open", setup: sit("m-bilal", "A1", "2026-11-04 17:00"), now: "2026-11-04 17:59:59"},
		{name: "window end", setup: sit("m-bilal", "A1", "2026-11-04 17:00"), now: "2026-11-04 18:00",
			want: []due{{"A1", access.ReasonWindowEnd, "2026-11-04 18:00"}}},
		{name: "late sweep: ended at the window end", setup: sit("m-bilal", "A1", "2026-11-04 17:00"), now: "2026-11-04 21:30",
			want: []due{{"A1", access.ReasonWindowEnd, "2026-11-04 18:00"}}},
		{name: "window end during grace", setup: sit("m-bilal", "A1", "2026-12-01 10:00"), now: "2026-12-01 18:00",
			want: []due{{"A1", access.ReasonWindowEnd, "2026-12-01 18:00"}}},
		{name: "windows that touch are one span", setup: both(split, sit("m-bilal", "A1", "2026-11-04 10:00")), now: "2026-11-04 13:30"},
		{name: "windows that touch end together", setup: both(split, sit("m-bilal", "A1", "2026-11-04 10:00")), now: "2026-11-04 18:00",
			want: []due{{"A1", access.ReasonWindowEnd, "2026-11-04 18:00"}}},
		{name: "night window crosses the cut-off", setup: sit("m-sana", "B1", "2026-11-02 23:00"), now: "2026-11-03 03:00",
			want: []due{{"B1", access.ReasonDailyCutoff, "2026-11-03 03:00"}}},
		{name: "night window end", setup: sit("m-sana", "B1", "2026-11-02 23:00"), now: "2026-11-03 06:00",
			policy: withPolicy(func(p *access.Policy) { p.DailyCutoff = access.Clock(7, 0) }),
			want:   []due{{"B1", access.ReasonWindowEnd, "2026-11-03 06:00"}}},
		{name: "Friday night ends Saturday morning", setup: sit("m-sana", "B1", "2026-11-06 20:00"), now: "2026-11-07 12:00",
			policy: withPolicy(func(p *access.Policy) { p.DailyCutoff = access.Clock(7, 0) }),
			want:   []due{{"B1", access.ReasonWindowEnd, "2026-11-07 06:00"}}},
		{name: "24 h window ends after a day", setup: sit("m-hina", "A1", "2026-11-02 12:00"), now: "2026-11-03 09:00",
			policy: withPolicy(func(p *access.Policy) { p.DailyCutoff = access.Clock(12, 0) }),
			want:   []due{{"A1", access.ReasonWindowEnd, "2026-11-03 08:00"}}},
		{name: "daily cut-off not yet", setup: sit("m-ayesha", "A1", "2026-11-04 22:00"), now: "2026-11-05 02:59:59"},
		{name: "daily cut-off", setup: sit("m-ayesha", "A1", "2026-11-04 22:00"), now: "2026-11-05 03:00",
			want: []due{{"A1", access.ReasonDailyCutoff, "2026-11-05 03:00"}}},
		{name: "seated at the cut-off: next one", setup: sit("m-ayesha", "A1", "2026-11-05 03:00"), now: "2026-11-05 23:00"},
		{name: "seated at the cut-off: a day later", setup: sit("m-ayesha", "A1", "2026-11-05 03:00"), now: "2026-11-06 03:00",
			want: []due{{"A1", access.ReasonDailyCutoff, "2026-11-06 03:00"}}},
		{name: "max session not yet", policy: maxFour, setup: sit("m-ayesha", "A1", "2026-11-04 09:00"), now: "2026-11-04 12:59:59"},
		{name: "max session", policy: maxFour, setup: sit("m-ayesha", "A1", "2026-11-04 09:00"), now: "2026-11-04 13:00",
			want: []due{{"A1", access.ReasonMaxSession, "2026-11-04 13:00"}}},
		{name: "earliest wins", policy: maxFour, setup: sit("m-bilal", "A1", "2026-11-04 15:00"), now: "2026-11-04 19:00",
			want: []due{{"A1", access.ReasonWindowEnd, "2026-11-04 18:00"}}},
		{name: "tie: window end before cut-off", setup: sit("m-bilal", "A1", "2026-11-04 09:00"), now: "2026-11-04 18:00",
			policy: withPolicy(func(p *access.Policy) { p.DailyCutoff = access.Clock(18, 0) }),
			want:   []due{{"A1", access.ReasonWindowEnd, "2026-11-04 18:00"}}},
		{name: "plan dates end at midnight", setup: sit("m-ayesha", "A1", "2026-11-30 22:00"), now: "2026-12-01 00:30",
			want: []due{{"A1", access.ReasonWindowEnd, "2026-12-01 00:00"}}},
		{name: "plan replaced: session outside the new hours ends now",
			setup: both(sit("m-ayesha", "A1", "2026-11-04 10:00"), edit("m-ayesha", func(m *access.Member) { m.PlanID = "night" })),
			now:   "2026-11-04 10:05", want: []due{{"A1", access.ReasonWindowEnd, "2026-11-04 10:05"}}},
		{name: "plan gone ends now",
			setup: both(sit("m-ayesha", "A1", "2026-11-04 10:00"), edit("m-ayesha", func(m *access.Member) { m.PlanID = "gone" })),
			now:   "2026-11-04 10:05", want: []due{{"A1", access.ReasonWindowEnd, "2026-11-04 10:05"}}},
		{name: "member removed", setup: both(sit("m-ayesha", "A1", "2026-11-04 10:00"), func(s *accesstest.Snapshot) { delete(s.Members, "m-ayesha") }),
			now: "2026-11-04 10:05", want: []due{{"A1", access.ReasonMemberRemoved, "2026-11-04 10:05"}}},
		{name: "seat removed", setup: both(sit("m-ayesha", "A1", "2026-11-04 10:00"), func(s *accesstest.Snapshot) { delete(s.SeatsBy, "A1") }),
			now: "2026-11-04 10:05", want: []due{{"A1", access.ReasonSeatRemoved, "2026-11-04 10:05"}}},
		{name: "suspension ends nothing",
			setup: both(sit("m-ayesha", "A1", "2026-11-04 10:00"), edit("m-ayesha", func(m *access.Member) { m.Status = access.StatusSuspended })),
			now:   "2026-11-04 12:00"},
		{name: "session from the future is left alone", setup: sit("m-ayesha", "A1", "2026-11-04 12:00"), now: "2026-11-04 10:00"},
		{name: "several: sorted by time, then seat",
			setup: both(sit("m-ayesha", "B1", "2026-11-04 22:00"), sit("m-bilal", "A2", "2026-11-04 17:00"), sit("m-hina", "A1", "2026-11-04 23:00")),
			now:   "2026-11-05 04:00",
			want: []due{
				{"A2", access.ReasonWindowEnd, "2026-11-04 18:00"},
				{"A1", access.ReasonDailyCutoff, "2026-11-05 03:00"},
				{"B1", access.ReasonDailyCutoff, "2026-11-05 03:00"},
			}},
	}
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
			got := access.DueCheckouts(s, s.AllSessions(), p, at(tt.now))
			if len(got) != len(tt.want) {
				t.Fatalf("got %d due (%+v), want %d (%+v)", len(got), got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Session.Seat != w.seat || g.Reason != w.reason || !g.At.Equal(at(w.at)) {
					t.Errorf("[%d] got %s %s at %s, want %s %s at %s", i,
						g.Session.Seat, g.Reason, g.At.In(karachi).Format(time.DateTime), w.seat, w.reason, w.at)
				}
				if sess, _ := s.Occupant(w.seat); g.Session != sess {
					t.Errorf("[%d] got session %+v, want %+v", i, g.Session, sess)
				}
			}
		})
	}
}

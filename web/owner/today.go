package owner

import (
	"cmp"
	"slices"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/web/i18n"
)

// maxRefusedShown is how many refused taps the today page lists.
const maxRefusedShown = 50

// daySummary counts one day's events.
type daySummary struct {
	Checkins, Checkouts, AutoCheckouts, Moves, Refused int
	Members                                            int            // distinct members who checked in
	Reasons                                            map[string]int // refused taps by reason
	Denied                                             []store.Event  // the refused taps, newest first
}

// summarise counts the events from from on (events as history.since
// returns them).
func summarise(events []store.Event, from time.Time) daySummary {
	s := daySummary{Reasons: map[string]int{}}
	members := map[string]bool{}
	for _, ev := range events {
		if ev.Time.Before(from) {
			continue
		}
		switch ev.Kind {
		case access.OutcomeCheckin:
			s.Checkins++
			members[ev.Member] = true
		case access.OutcomeCheckout:
			s.Checkouts++
		case access.OutcomeAutoCheckout:
			s.AutoCheckouts++
		case access.OutcomeMove:
			s.Moves++
		case access.OutcomeDeny:
			s.Refused++
			s.Reasons[string(ev.Reason)]++
			s.Denied = append(s.Denied, ev)
		}
	}
	s.Members = len(members)
	slices.Reverse(s.Denied)
	return s
}

type reasonCount struct {
	Reason string
	Count  int
}

type refusedTap struct {
	Time, Seat, Card, Who, Reason string
}

type todayView struct {
	Date            string
	Summary         daySummary
	Occupied, Total int
	Percent         int
	Reasons         []reasonCount // most frequent first
	Refused         []refusedTap  // newest first
	RefusedNotShown int
}

func (d *Dashboard) today(l *i18n.Language) (todayView, error) {
	now := d.now()
	from := dayStart(now, 0)
	events, err := d.history.since(d.o.Store, dayStart(now, 1-chartDays))
	if err != nil {
		return todayView{}, err
	}
	seats, err := d.o.Store.Seats()
	if err != nil {
		return todayView{}, err
	}
	s := summarise(events, from)
	v := todayView{Date: l.Date(now), Summary: s, Total: len(seats)}
	for _, seat := range seats {
		if seat.State == store.SeatOccupied {
			v.Occupied++
		}
	}
	if v.Total > 0 {
		v.Percent = percent(float64(v.Occupied) / float64(v.Total))
	}
	for r, n := range s.Reasons {
		v.Reasons = append(v.Reasons, reasonCount{Reason: l.Or("reason.", r), Count: n})
	}
	slices.SortFunc(v.Reasons, func(a, b reasonCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Reason, b.Reason))
	})
	shown := s.Denied[:min(len(s.Denied), maxRefusedShown)]
	v.RefusedNotShown = len(s.Denied) - len(shown)
	names := map[string]string{}
	err = d.o.Store.View(func(snap access.Snapshot, _ []access.Session) error {
		for _, ev := range shown {
			if m, ok := snap.Member(ev.Member); ok && ev.Member != "" {
				names[ev.Member] = m.Name
			}
		}
		return nil
	})
	if err != nil {
		return todayView{}, err
	}
	for _, ev := range shown {
		v.Refused = append(v.Refused, refusedTap{
			Time: ev.Time.In(now.Location()).Format("15:04:05"), Seat: cmp.Or(ev.Seat, ev.Reader), Card: ev.Card,
			Who: cmp.Or(names[ev.Member], ev.Member), Reason: l.Or("reason.", string(ev.Reason)),
		})
	}
	return v, nil
}

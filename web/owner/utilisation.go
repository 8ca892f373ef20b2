package owner

import (
	"time"

	"github.com/pkfreelance/seatgate/access/store"
)

// Utilisation is seat time used over seat time available: for a set of
// seats over [from, to), the sum over sessions at those seats of the part
// of each session within the span, divided by len(seats) × (to − from).
// A bucket that reaches past now ends at now (the hour in progress counts
// the minutes gone), and one that starts after now is absent, not zero.

// span is a session: a member at a seat from From until To.
type span struct {
	Seat     string
	From, To time.Time
}

// spansOf returns the sessions the events ended (check-out, move,
// auto check-out, each carrying the start of the session it ended) and
// the sessions still open, which run until now.
func spansOf(events []store.Event, seats []store.SeatState, now time.Time) []span {
	var out []span
	for _, ev := range events {
		if seat, ok := endsSession(ev); ok && ev.Time.After(ev.Since) {
			out = append(out, span{Seat: seat, From: ev.Since, To: ev.Time})
		}
	}
	for _, s := range seats {
		if s.State == store.SeatOccupied && !s.Since.IsZero() && now.After(s.Since) {
			out = append(out, span{Seat: s.Seat, From: s.Since, To: now})
		}
	}
	return out
}

// bucket is one bar of a chart: the seats it counts and when.
type bucket struct {
	Label    string
	Title    string // the bar's tooltip
	From, To time.Time
	Seats    map[string]bool
}

// utilisation returns the fraction (0..1) of the bucket's seat time that
// sessions used, and false when the bucket is in the future or has no
// seats.
func utilisation(spans []span, b bucket, now time.Time) (float64, bool) {
	to := b.To
	if now.Before(to) {
		to = now
	}
	if !b.From.Before(to) || len(b.Seats) == 0 {
		return 0, false
	}
	var used time.Duration
	for _, s := range spans {
		if !b.Seats[s.Seat] {
			continue
		}
		from, until := later(s.From, b.From), earlier(s.To, to)
		if from.Before(until) {
			used += until.Sub(from)
		}
	}
	capacity := time.Duration(len(b.Seats)) * to.Sub(b.From)
	return min(float64(used)/float64(capacity), 1), true
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// dayStart is midnight of t's day in t's location, days days later.
func dayStart(t time.Time, days int) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d+days, 0, 0, 0, 0, t.Location())
}

// hourBuckets are today's 24 hours, for the seats given.
func hourBuckets(now time.Time, seats map[string]bool) []bucket {
	var out []bucket
	y, m, d := now.Date()
	for h := range 24 {
		from := time.Date(y, m, d, h, 0, 0, 0, now.Location())
		to := time.Date(y, m, d, h+1, 0, 0, 0, now.Location())
		out = append(out, bucket{Label: from.Format("15"), Title: from.Format("15:04") + "–" + to.Format("15:04"),
			From: from, To: to, Seats: seats})
	}
	return out
}

// dayBuckets are the n days ending today, oldest first.
func dayBuckets(now time.Time, n int, seats map[string]bool) []bucket {
	var out []bucket
	for i := n - 1; i >= 0; i-- {
		from, to := dayStart(now, -i), dayStart(now, -i+1)
		out = append(out, bucket{Label: from.Format("2/1"), Title: from.Format(time.DateOnly), From: from, To: to, Seats: seats})
	}
	return out
}

// zoneBuckets are the zones over [from, now), in the order given.
func zoneBuckets(zones []string, seatsOf map[string]map[string]bool, from, now time.Time) []bucket {
	var out []bucket
	for _, z := range zones {
		out = append(out, bucket{Label: z, Title: z, From: from, To: now, Seats: seatsOf[z]})
	}
	return out
}

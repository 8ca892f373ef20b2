package access

import (
	"slices"
	"time"
)

// This file holds the calendar arithmetic shared by Decide and
// DueCheckouts: which window occurrences contain an instant, and whether the
// day an occurrence starts on lies within a member's plan dates.

// allDay is the window of a plan that lists none.
var allDay = []Window{{Start: 0, End: 0}}

// occurrence is one window on one day: from start (on day) to end.
type occurrence struct {
	day        Date
	start, end time.Time
}

// windows returns the plan's windows, all day when it lists none.
func (pl Plan) windows() []Window {
	if len(pl.Windows) == 0 {
		return allDay
	}
	return pl.Windows
}

// startsOn reports whether a window of the plan may start on day.
func (pl Plan) startsOn(day Date) bool {
	return len(pl.Days) == 0 || slices.Contains(pl.Days, day.Weekday())
}

// occurrencesAt returns the occurrences of the plan's windows that contain
// t (start <= t < end) and start on an allowed day of the week. A window is
// at most 24 hours long, so only occurrences starting on t's day or the day
// before can contain t.
func (pl Plan) occurrencesAt(t time.Time, loc *time.Location) []occurrence {
	t = t.In(loc)
	today := DateOf(t)
	var occ []occurrence
	for _, day := range [2]Date{today.AddDays(-1), today} {
		if !pl.startsOn(day) {
			continue
		}
		for _, w := range pl.windows() {
			start := day.At(w.Start, loc)
			end := start.Add(w.Duration())
			if w.End != w.Start {
				// Compute the end on the calendar, not by adding a duration,
				// so a zone with daylight saving would still get it right.
				endDay := day
				if w.End < w.Start {
					endDay = day.AddDays(1)
				}
				end = endDay.At(w.End, loc)
			}
			if !t.Before(start) && t.Before(end) {
				occ = append(occ, occurrence{day: day, start: start, end: end})
			}
		}
	}
	return occ
}

// validity is where a service day stands against a member's plan dates.
// Lower values are better; Decide picks the best of several occurrences.
type validity int

const (
	valid      validity = iota // ValidFrom <= day <= ValidUntil
	inGrace                    // ValidUntil < day <= ValidUntil+GraceDays
	notStarted                 // day < ValidFrom
	expired                    // day > ValidUntil+GraceDays
)

func (m Member) validity(pl Plan, day Date) validity {
	switch {
	case day.Before(m.ValidFrom):
		return notStarted
	case !day.After(m.ValidUntil):
		return valid
	case !day.After(m.ValidUntil.AddDays(pl.GraceDays)):
		return inGrace
	}
	return expired
}

// standing is the answer to "may this member check in now, and on which
// service day": the day the relevant window started (or today when no
// window is open).
type standing struct {
	validity validity
	inHours  bool
	day      Date
}

// standingAt works out a member's standing at t. With a window open, the
// day that window started on decides validity; with several, the best
// wins. With none open, today's date decides whether the reason is the plan
// dates or the hours.
func (m Member) standingAt(pl Plan, t time.Time, loc *time.Location) standing {
	occ := pl.occurrencesAt(t, loc)
	if len(occ) == 0 {
		today := DateOf(t.In(loc))
		return standing{validity: m.validity(pl, today), day: today}
	}
	best := standing{validity: expired + 1, inHours: true}
	for _, o := range occ {
		if v := m.validity(pl, o.day); v < best.validity {
			best.validity, best.day = v, o.day
		}
	}
	return best
}

// allowedUntil returns the end of the span of permitted time (valid or
// grace start day, allowed weekday, window open) that contains t, following
// windows that touch or overlap, and stopping once it passes limit. ok is
// false when t is not in permitted time at all.
func (m Member) allowedUntil(pl Plan, t, limit time.Time, loc *time.Location) (end time.Time, ok bool) {
	end = t
	for range 1000 { // more than a year of back-to-back windows
		next, found := end, false
		for _, o := range pl.occurrencesAt(end, loc) {
			if m.validity(pl, o.day) <= inGrace && o.end.After(next) {
				next, found = o.end, true
			}
		}
		if !found {
			return end, end.After(t)
		}
		end = next
		if end.After(limit) {
			return end, true
		}
	}
	return end, true
}

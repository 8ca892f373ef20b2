package access

import (
	"cmp"
	"slices"
	"time"
)

// AutoCheckout is a session that must end, why, and when it should have
// ended (At, never after the now given to DueCheckouts).
type AutoCheckout struct {
	Session Session
	Reason  Reason
	At      time.Time
}

// DueCheckouts returns the sessions, among those given, that must end at
// now, with the reason and the instant each should have ended:
//
//   - window_end: the member's permitted time ended: the window (or chain
//     of windows that touch) open when the session began closed, or the
//     next day is outside the plan's days or dates; also a session that
//     began outside permitted time (the plan was replaced), ended at now;
//   - daily_cutoff: the first Policy.DailyCutoff after the session began;
//   - max_session: Since + Policy.MaxSession, when MaxSession is set;
//   - member_removed, seat_removed: the member or the seat is no longer
//     known (the membership or the seat configuration was replaced), ended
//     at now.
//
// When several apply the earliest wins; on a tie the order above decides.
// A suspended member or a revoked card ends nothing: they take effect at
// the next tap. The result is sorted by At, then seat. It is pure.
func DueCheckouts(s Snapshot, sessions []Session, p Policy, now time.Time) []AutoCheckout {
	loc := p.location()
	now = now.In(loc)
	var due []AutoCheckout
	for _, sess := range sessions {
		if ac, ok := dueCheckout(s, sess, p, loc, now); ok {
			due = append(due, ac)
		}
	}
	slices.SortFunc(due, func(a, b AutoCheckout) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Session.Seat, b.Session.Seat))
	})
	return due
}

func dueCheckout(s Snapshot, sess Session, p Policy, loc *time.Location, now time.Time) (AutoCheckout, bool) {
	ac := AutoCheckout{Session: sess, At: now}
	if _, ok := s.Seat(sess.Seat); !ok {
		ac.Reason = ReasonSeatRemoved
		return ac, true
	}
	m, ok := s.Member(sess.Member)
	if !ok {
		ac.Reason = ReasonMemberRemoved
		return ac, true
	}
	since := sess.Since.In(loc)
	if since.After(now) {
		return AutoCheckout{}, false // the store's clock floor keeps this from happening
	}

	// Candidates in tie-break order; the earliest at or before now wins.
	var cands []AutoCheckout
	if plan, ok := s.Plan(m.PlanID); !ok {
		cands = append(cands, AutoCheckout{sess, ReasonWindowEnd, now})
	} else if end, ok := m.allowedUntil(plan, since, now, loc); !ok {
		cands = append(cands, AutoCheckout{sess, ReasonWindowEnd, now})
	} else {
		cands = append(cands, AutoCheckout{sess, ReasonWindowEnd, end})
	}
	cut := DateOf(since).At(p.DailyCutoff, loc)
	if !cut.After(since) {
		cut = DateOf(since).AddDays(1).At(p.DailyCutoff, loc)
	}
	cands = append(cands, AutoCheckout{sess, ReasonDailyCutoff, cut})
	if p.MaxSession > 0 {
		cands = append(cands, AutoCheckout{sess, ReasonMaxSession, since.Add(p.MaxSession)})
	}

	best, found := AutoCheckout{}, false
	for _, c := range cands {
		if c.At.After(now) {
			continue
		}
		if !found || c.At.Before(best.At) {
			best, found = c, true
		}
	}
	return best, found
}

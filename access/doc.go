// Package access decides, locally and offline, whether a freelancer may sit
// at a desk, and which sessions must end. It holds the model (members,
// cards, plans, seats, sessions, policy) and two pure functions, Decide and
// DueCheckouts, that read a Snapshot and change nothing. Package
// access/store keeps the state in bbolt and applies decisions; package
// access/accesstest has an in-memory Snapshot for tests.
//
// It knows nothing of readers (periph), MQTT (paho) or bbolt; a test checks.
//
// # Time
//
// All calendar arithmetic is in Policy.Location, Asia/Karachi. A plan's
// windows are opening hours; a window whose End is not after its Start
// crosses midnight (20:00–06:00), and Start == End is 24 hours from Start.
// Such a window belongs to the day it starts on: that day, the service day,
// must be one of Plan.Days and within the member's plan dates. So with
// 20:00–06:00 on Monday to Friday, 02:00 on a Saturday is allowed (Friday's
// night) and 02:00 on a Monday is not (Sunday's). When no window is open the
// service day is today's date.
//
// ValidFrom and ValidUntil are inclusive civil dates. From midnight after
// ValidUntil the member is in grace for Plan.GraceDays days: still allowed,
// with Warning "grace"; after that, plan_expired.
//
// # Rules of a tap
//
// A member holds at most one seat.
//   - Tapping the seat one holds is a checkout. It is always allowed, whatever
//     the card, status, plan dates or hours: nobody is trapped at a desk.
//   - Tapping a free seat while holding none is a checkin.
//   - Tapping a free seat while holding another is a move: the old seat is
//     released and the new one taken, under the same rules as a checkin.
//   - Tapping a seat someone else holds is denied, seat_taken.
//
// A seat rule allows any seat ("any"), the seats of listed zones ("zones"),
// or one seat ("fixed").
//
// # Deny reasons and their precedence
//
// When several reasons apply, Decide reports the first of:
//
//	 1  unknown_seat      the reader belongs to no configured seat
//	 2  unknown_card      no such card, or its member is unknown
//	    — here a tap on the seat the member holds is a checkout, always allowed —
//	 3  card_revoked      this card is revoked; the member's other cards still work
//	 4  member_suspended  the member's status is not "active"
//	 5  unknown_plan      the member's plan is not in the membership
//	 6  plan_not_started  the service day is before ValidFrom
//	 7  plan_expired      the service day is after ValidUntil + GraceDays
//	 8  outside_hours     no window of the plan is open now
//	 9  seat_not_allowed  the member's seat rule excludes this seat
//	10  seat_taken        someone else holds this seat
//
// The order runs from the desk to the card, the person, the plan and
// finally the seat: a problem no other desk would solve is reported before
// one that another desk might. Plan dates come before hours, so a member
// whose plan has ended hears that, not "come back at 09:00". DenyReasons
// returns the same order.
//
// # Warnings
//
// An allowed tap may carry a warning, shown amber: "grace" while in grace
// days, or "plan_ending" when ValidUntil is within Policy.WarnDays days of
// the service day. Decision.DaysLeft counts what is left.
//
// # Auto check-out
//
// DueCheckouts finds sessions that must end: at the end of the member's
// permitted time (window_end), at the daily cut-off (daily_cutoff, e.g.
// 03:00: everyone still seated is checked out), after Policy.MaxSession
// (max_session), or at once when the member or the seat is gone
// (member_removed, seat_removed). The earliest applicable instant wins.
package access

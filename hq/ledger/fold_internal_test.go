package ledger

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
)

var karachi = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Karachi")
	if err != nil {
		panic(err)
	}
	return loc
}()

func at(s string) time.Time {
	t, err := time.ParseInLocation(time.DateTime, s, karachi)
	if err != nil {
		panic(err)
	}
	return t
}

// ev builds an event: kind, seat (or "prev>seat" for a move), time, and
// for session ends the session's start ("" for none).
func ev(kind access.Outcome, seat, when, since string, trusted bool) store.Event {
	e := store.Event{Kind: kind, Seat: seat, Time: at(when), ClockTrusted: trusted, Member: "m-001"}
	if prev, next, ok := strings.Cut(seat, ">"); ok {
		e.PrevSeat, e.Seat = prev, next
	}
	if since != "" {
		e.Since = at(since)
	}
	return e
}

// String shows a piece as "2026-11-26 A1 3600s", with " untrusted" and
// " invalid" when so.
func (p piece) String() string {
	s := fmt.Sprintf("%s %s %ds", p.Day, p.Seat, p.Seconds)
	if p.Untrusted {
		s += " untrusted"
	}
	if p.Invalid {
		s += " invalid"
	}
	return s
}

// TestFold: the sessions a gateway's events make, cut at Karachi midnight.
func TestFold(t *testing.T) {
	const (
		checkin  = access.OutcomeCheckin
		checkout = access.OutcomeCheckout
		move     = access.OutcomeMove
		auto     = access.OutcomeAutoCheckout
		deny     = access.OutcomeDeny
	)
	tests := []struct {
		name   string
		events []store.Event
		want   []string // pieces, in order
		open   []string // seats still open at the end
	}{
		{
			name: "a session within a day",
			events: []store.Event{
				ev(checkin, "A1", "2026-11-26 09:00:00", "", true),
				ev(checkout, "A1", "2026-11-26 17:30:00", "2026-11-26 09:00:00", true),
			},
			want: []string{"2026-11-26 A1 30600s"},
		},
		{
			name: "a night shift is cut at midnight",
			events: []store.Event{
				ev(checkin, "A1", "2026-11-26 20:00:00", "", true),
				ev(checkout, "A1", "2026-11-27 06:00:00", "2026-11-26 20:00:00", true),
			},
			want: []string{"2026-11-26 A1 14400s", "2026-11-27 A1 21600s"},
		},
		{
			name: "a session over two midnights is cut twice",
			events: []store.Event{
				ev(checkin, "A1", "2026-11-26 23:00:00", "", true),
				ev(checkout, "A1", "2026-11-28 01:00:00", "2026-11-26 23:00:00", true),
			},
			want: []string{"2026-11-26 A1 3600s", "2026-11-27 A1 86400s", "2026-11-28 A1 3600s"},
		},
		{
			name: "midnight is Karachi's, not UTC's",
			events: []store.Event{
				ev(checkin, "A1", "2026-11-26 04:00:00", "", true), // 23:00 UTC the day before
				ev(checkout, "A1", "2026-11-26 06:00:00", "2026-11-26 04:00:00", true),
			},
			want: []string{"2026-11-26 A1 7200s"},
		},
		{
			name: "a move ends the session on the old seat and opens one on the new",
			events: []store.Event{
				ev(checkin, "A1", "2026-11-26 09:00:00", "", true),
				ev(move, "A1>B2", "2026-11-26 11:00:00", "2026-11-26 09:00:00", true),
				ev(checkout, "B2", "2026-11-26 12:00:00", "2026-11-26 11:00:00", true),
			},
			want: []string{"2026-11-26 A1 7200s", "2026-11-26 B2 3600s"},
		},
		{
			name: "an auto check-out at the cut-off, logged after later taps, counts to its time",
			events: []store.Event{
				ev(checkin, "A1", "2026-11-26 22:00:00", "", true),
				ev(deny, "B1", "2026-11-27 03:10:00", "", true),
				ev(auto, "A1", "2026-11-27 03:00:00", "2026-11-26 22:00:00", true),
			},
			want: []string{"2026-11-26 A1 7200s", "2026-11-27 A1 10800s"},
		},
		{
			name: "an untrusted clock at the end marks the pieces",
			events: []store.Event{
				ev(checkin, "A1", "2026-11-26 09:00:00", "", true),
				ev(checkout, "A1", "2026-11-26 10:00:00", "2026-11-26 09:00:00", false),
			},
			want: []string{"2026-11-26 A1 3600s untrusted"},
		},
		{
			name: "an untrusted clock at the start marks the pieces too",
			events: []store.Event{
				ev(checkin, "A1", "2026-11-26 23:00:00", "", false),
				ev(checkout, "A1", "2026-11-27 01:00:00", "2026-11-26 23:00:00", true),
			},
			want: []string{"2026-11-26 A1 3600s untrusted", "2026-11-27 A1 3600s untrusted"},
		},
		{
			name: "an end without since uses the start the ledger saw",
			events: []store.Event{
				ev(checkin, "A1", "2026-11-26 09:00:00", "", true),
				ev(checkout, "A1", "2026-11-26 09:30:00", "", true),
			},
			want: []string{"2026-11-26 A1 1800s"},
		},
		{
			name: "an end that cannot be measured counts nothing and is invalid",
			events: []store.Event{
				ev(checkout, "A1", "2026-11-26 09:30:00", "", true),
				ev(checkin, "A2", "2026-11-26 10:00:00", "", true),
				ev(checkout, "A2", "2026-11-26 09:00:00", "2026-11-26 10:00:00", true),
			},
			want: []string{"2026-11-26 A1 0s invalid", "2026-11-26 A2 0s invalid"},
		},
		{
			name: "denies and open sessions count nothing",
			events: []store.Event{
				ev(deny, "A1", "2026-11-26 09:00:00", "", true),
				ev(checkin, "A1", "2026-11-26 09:01:00", "", true),
				ev(checkin, "A2", "2026-11-26 09:02:00", "", true),
				ev(checkout, "A2", "2026-11-26 09:03:00", "2026-11-26 09:02:00", true),
			},
			want: []string{"2026-11-26 A2 60s"},
			open: []string{"A1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cur cursor
			var got []string
			for i, e := range tt.events {
				e.Seq = uint64(i + 1)
				var ps []piece
				cur, ps = fold(cur, e, karachi)
				for _, p := range ps {
					got = append(got, p.String())
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("pieces:\ngot  %q\nwant %q", got, tt.want)
			}
			var open []string
			for seat := range cur.Open {
				open = append(open, seat)
			}
			slices.Sort(open)
			if !slices.Equal(open, tt.open) {
				t.Errorf("open sessions: got %v, want %v", open, tt.open)
			}
			if cur.Seq != uint64(len(tt.events)) {
				t.Errorf("cursor: got seq %d, want %d", cur.Seq, len(tt.events))
			}
		})
	}
}

// TestDayRecordTakesEachEventOnce: a day record remembers the last seq of
// each gateway it took in.
func TestDayRecordTakesEachEventOnce(t *testing.T) {
	p := []piece{{Day: access.DateOf(at("2026-11-26 10:00:00")), Seat: "A1", Seconds: 600}}
	var r dayRecord
	r, changed := r.add("gw-1", 5, p)
	if !changed || r.Seconds != 600 {
		t.Fatalf("first add: changed %v, %d s", changed, r.Seconds)
	}
	for _, seq := range []uint64{5, 4, 1} {
		if _, changed := r.add("gw-1", seq, p); changed {
			t.Errorf("event %d after 5: taken in again", seq)
		}
	}
	r, _ = r.add("gw-2", 1, p) // another gateway of the centre
	r, _ = r.add("gw-1", 7, p)
	if r.Seconds != 1800 || r.Seats["A1"] != 1800 || r.Sessions != 3 {
		t.Errorf("record: got %d s, A1 %d s, %d sessions; want 1800, 1800, 3", r.Seconds, r.Seats["A1"], r.Sessions)
	}
}

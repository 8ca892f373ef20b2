package store_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
)

func TestTapOutcomes(t *testing.T) {
	s, _ := newStore(t)
	type want struct {
		kind   access.Outcome
		reason access.Reason
		seat   string
		prev   string
		member string
		card   string
		since  string
	}
	steps := []struct {
		when, reader, uid string
		want              want
	}{
		{"2026-11-04 10:00", "r-a1", ayesha, want{kind: access.OutcomeCheckin, seat: "A1", member: "m-001", card: ayesha}},
		{"2026-11-04 10:05", "r-a1", bilal, want{kind: access.OutcomeDeny, reason: access.ReasonSeatTaken, seat: "A1", member: "m-002", card: bilal}},
		{"2026-11-04 10:10", "r-a2", ayesha, want{kind: access.OutcomeMove, seat: "A2", prev: "A1", member: "m-001", card: ayesha, since: "2026-11-04 10:00"}},
		{"2026-11-04 10:15", "r-a1", bilal, want{kind: access.OutcomeCheckin, seat: "A1", member: "m-002", card: bilal}},
		{"2026-11-04 10:20", "r-b1", "04:a1:b2:c9", want{kind: access.OutcomeDeny, reason: access.ReasonCardRevoked, seat: "B1", member: "m-001", card: "04A1B2C9"}},
		{"2026-11-04 10:25", "r-b1", usman, want{kind: access.OutcomeDeny, reason: access.ReasonMemberSuspended, seat: "B1", member: "m-004", card: usman}},
		{"2026-11-04 10:30", "r-b1", "de:ad:be:ef", want{kind: access.OutcomeDeny, reason: access.ReasonUnknownCard, seat: "B1", card: "DEADBEEF"}},
		{"2026-11-04 10:35", "r-zz", ayesha, want{kind: access.OutcomeDeny, reason: access.ReasonUnknownSeat, card: ayesha}},
		{"2026-11-04 10:40", "r-b1", "not-a-card", want{kind: access.OutcomeDeny, reason: access.ReasonUnknownCard, seat: "B1", card: "not-a-card"}},
		{"2026-11-04 11:00", "r-a2", ayesha, want{kind: access.OutcomeCheckout, seat: "A2", member: "m-001", card: ayesha, since: "2026-11-04 10:10"}},
	}
	for i, st := range steps {
		d, ev := tap(t, s, st.reader, st.uid, st.when)
		w := st.want
		if d.Outcome != w.kind || d.Reason != w.reason || d.Seat != w.seat || d.PrevSeat != w.prev || d.Member != w.member {
			t.Errorf("step %d: got decision %+v, want %+v", i, d, w)
		}
		got := want{ev.Kind, ev.Reason, ev.Seat, ev.PrevSeat, ev.Member, ev.Card, ""}
		if !ev.Since.IsZero() {
			got.since = ev.Since.In(karachi).Format("2006-01-02 15:04")
		}
		if got != w {
			t.Errorf("step %d: got event %+v, want %+v", i, got, w)
		}
		if ev.Seq != uint64(i+1) || !ev.Time.Equal(at(st.when)) || !ev.ClockTrusted || ev.Reader != st.reader {
			t.Errorf("step %d: got seq %d time %v trusted %v reader %q, want %d %s true %q",
				i, ev.Seq, ev.Time, ev.ClockTrusted, ev.Reader, i+1, st.when, st.reader)
		}
	}
	if got := seatState(t, s, "A1"); got.State != store.SeatOccupied || got.Member != "m-002" ||
		got.MemberName != "Bilal Ahmed" || !got.Since.Equal(at("2026-11-04 10:15")) {
		t.Errorf("A1: got %+v, want occupied by m-002 since 10:15", got)
	}
	for _, seat := range []string{"A2", "B1"} {
		if got := seatState(t, s, seat); got.State != store.SeatFree || got.Member != "" {
			t.Errorf("%s: got %+v, want free", seat, got)
		}
	}
	evs := allEvents(t, s)
	if len(evs) != len(steps) {
		t.Fatalf("got %d events, want %d", len(evs), len(steps))
	}
	if last, _ := s.LastSeq(); last != uint64(len(steps)) {
		t.Errorf("LastSeq: got %d, want %d", last, len(steps))
	}
}

func TestEventJSON(t *testing.T) {
	ev := store.Event{
		Seq: 7, Time: at("2026-11-04 10:10"), Kind: access.OutcomeMove, Seat: "A2", PrevSeat: "A1",
		Member: "m-001", Card: ayesha, Reader: "r-a2", Warning: access.WarningPlanEnding, ClockTrusted: true,
		Since: at("2026-11-04 10:00"),
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"seq":7,"time":"2026-11-04T10:10:00+05:00","kind":"move","seat":"A2","prev_seat":"A1",` +
		`"member":"m-001","card":"04A1B2C3D4E5F6","reader":"r-a2","reason":"","warning":"plan_ending",` +
		`"clock_trusted":true,"since":"2026-11-04T10:00:00+05:00"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	ev.Since = time.Time{}
	if b, _ := json.Marshal(ev); strings.Contains(string(b), "since") {
		t.Errorf("zero Since: got %s, want no since", b)
	}
}

func TestReopenKeepsState(t *testing.T) {
	s, path := newStore(t)
	tap(t, s, "r-a1", ayesha, "2026-11-04 10:00")
	tap(t, s, "r-a1", bilal, "2026-11-04 10:01")
	s = reopen(t, s, path, store.Options{})

	if got := seatState(t, s, "A1"); got.State != store.SeatOccupied || got.Member != "m-001" {
		t.Errorf("A1 after reopen: got %+v, want occupied by m-001", got)
	}
	if last, err := s.LastSeq(); err != nil || last != 2 {
		t.Errorf("LastSeq after reopen: got %d, %v, want 2", last, err)
	}
	if info, _ := s.MembershipInfo(); info.Revision != 12 || info.Centre != "lhr-01" || info.Members != 4 || info.Cards != 5 {
		t.Errorf("membership after reopen: got %+v", info)
	}
	d, ev := tap(t, s, "r-a1", ayesha, "2026-11-04 11:00")
	if d.Outcome != access.OutcomeCheckout || ev.Seq != 3 {
		t.Errorf("tap after reopen: got %s seq %d, want checkout seq 3", d.Outcome, ev.Seq)
	}
	for i, ev := range allEvents(t, s) {
		if ev.Seq != uint64(i+1) {
			t.Errorf("events[%d]: got seq %d, want %d", i, ev.Seq, i+1)
		}
	}
}

func TestConcurrentTapsGapFree(t *testing.T) {
	s, _ := newStore(t)
	const workers, each = 4, 25
	cards := []string{ayesha, bilal, sana, usman}
	readers := []string{"r-a1", "r-a2", "r-b1"}
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				when := at("2026-11-04 10:00").Add(time.Duration(w*each+i) * time.Second)
				if _, _, err := s.Tap(access.Tap{Reader: readers[(w+i)%3], UID: cards[w]}, when); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	evs := allEvents(t, s)
	if len(evs) != workers*each {
		t.Fatalf("got %d events, want %d", len(evs), workers*each)
	}
	for i, ev := range evs {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("events[%d]: got seq %d, want %d", i, ev.Seq, i+1)
		}
	}
}

func TestClockFloor(t *testing.T) {
	s, path := newStore(t)
	tap(t, s, "r-a1", bilal, "2026-11-04 10:00")

	now, trusted := s.Now(at("2026-11-04 08:00"))
	if !now.Equal(at("2026-11-04 10:00")) || trusted {
		t.Errorf("Now behind the floor: got %v, %v, want 10:00, false", now, trusted)
	}
	// At 08:00 the day plan is closed; the floor (10:00) decides.
	d, ev := tap(t, s, "r-a2", bilal, "2026-11-04 08:00")
	if d.Outcome != access.OutcomeMove || !ev.Time.Equal(at("2026-11-04 10:00")) || ev.ClockTrusted {
		t.Errorf("tap behind the floor: got %s at %v trusted %v, want move at 10:00 untrusted", d.Outcome, ev.Time, ev.ClockTrusted)
	}
	if now, trusted := s.Now(at("2026-11-04 10:30")); !now.Equal(at("2026-11-04 10:30")) || !trusted {
		t.Errorf("Now ahead of the floor: got %v, %v, want 10:30, true", now, trusted)
	}
	_, ev = tap(t, s, "r-a2", bilal, "2026-11-04 10:30")
	if !ev.ClockTrusted || !ev.Time.Equal(at("2026-11-04 10:30")) {
		t.Errorf("tap ahead of the floor: got %v trusted %v", ev.Time, ev.ClockTrusted)
	}

	s = reopen(t, s, path, store.Options{})
	if now, trusted := s.Now(at("2026-11-04 08:00")); !now.Equal(at("2026-11-04 10:30")) || trusted {
		t.Errorf("floor after reopen: got %v, %v, want 10:30, false", now, trusted)
	}
	evs, err := s.AutoCheckout(time.Unix(0, 0))
	if err != nil || len(evs) != 0 {
		t.Errorf("auto check-out at 1970: got %v, %v, want none", evs, err)
	}
}

func TestClockFloorFromBuildTime(t *testing.T) {
	build := at("2026-10-15 12:00")
	s := openAt(t, filepath.Join(t.TempDir(), "db"), store.Options{BuildTime: build})
	if now, trusted := s.Now(time.Unix(0, 0)); !now.Equal(build) || trusted {
		t.Errorf("1970 wall clock: got %v, %v, want build time, false", now, trusted)
	}
	if now, trusted := s.Now(at("2026-11-04 10:00")); !now.Equal(at("2026-11-04 10:00")) || !trusted {
		t.Errorf("wall clock after build: got %v, %v, want it, true", now, trusted)
	}
}

func TestAutoCheckout(t *testing.T) {
	tests := []struct {
		name, uid, reader, since string
		notYet, sweep, at        string
		reason                   access.Reason
	}{
		{name: "window end", uid: bilal, reader: "r-a1", since: "2026-11-04 17:00",
			notYet: "2026-11-04 17:59", sweep: "2026-11-04 18:05", at: "2026-11-04 18:00", reason: access.ReasonWindowEnd},
		{name: "night session meets the cut-off", uid: sana, reader: "r-b1", since: "2026-11-04 02:00",
			notYet: "2026-11-04 02:59", sweep: "2026-11-04 07:00", at: "2026-11-04 03:00", reason: access.ReasonDailyCutoff},
		{name: "daily cut-off", uid: ayesha, reader: "r-a1", since: "2026-11-04 22:00",
			notYet: "2026-11-05 02:59", sweep: "2026-11-05 03:10", at: "2026-11-05 03:00", reason: access.ReasonDailyCutoff},
		{name: "max session", uid: ayesha, reader: "r-a1", since: "2026-11-05 09:00",
			notYet: "2026-11-05 20:59", sweep: "2026-11-05 21:00", at: "2026-11-05 21:00", reason: access.ReasonMaxSession},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t)
			d, _ := tap(t, s, tt.reader, tt.uid, tt.since)
			if d.Outcome != access.OutcomeCheckin {
				t.Fatalf("checkin: got %+v", d)
			}
			if evs, err := s.AutoCheckout(at(tt.notYet)); err != nil || len(evs) != 0 {
				t.Fatalf("at %s: got %+v, %v, want nothing due", tt.notYet, evs, err)
			}
			evs, err := s.AutoCheckout(at(tt.sweep))
			if err != nil || len(evs) != 1 {
				t.Fatalf("at %s: got %+v, %v, want one event", tt.sweep, evs, err)
			}
			ev := evs[0]
			if ev.Kind != access.OutcomeAutoCheckout || ev.Reason != tt.reason || ev.Seat != d.Seat || ev.Member != d.Member ||
				!ev.Time.Equal(at(tt.at)) || !ev.Since.Equal(at(tt.since)) || !ev.ClockTrusted || ev.Seq != 2 {
				t.Errorf("got %+v, want auto_checkout %s at %s, seq 2", ev, tt.reason, tt.at)
			}
			if got := seatState(t, s, d.Seat); got.State != store.SeatFree {
				t.Errorf("seat after: got %+v, want free", got)
			}
			if evs, _ := s.AutoCheckout(at(tt.sweep)); len(evs) != 0 {
				t.Errorf("second sweep: got %+v, want nothing", evs)
			}
		})
	}
}

func TestTapEndsDueSessionsFirst(t *testing.T) {
	s, _ := newStore(t)
	tap(t, s, "r-a1", bilal, "2026-11-04 17:00")
	d, ev := tap(t, s, "r-a1", ayesha, "2026-11-04 18:30")
	if d.Outcome != access.OutcomeCheckin || ev.Seq != 3 {
		t.Fatalf("got %s seq %d, want checkin seq 3 after an auto check-out", d.Outcome, ev.Seq)
	}
	evs := allEvents(t, s)
	if got := evs[1]; got.Kind != access.OutcomeAutoCheckout || got.Reason != access.ReasonWindowEnd ||
		got.Member != "m-002" || !got.Time.Equal(at("2026-11-04 18:00")) {
		t.Errorf("event 2: got %+v, want Bilal's window_end at 18:00", got)
	}
}

func TestReplaceMembershipKeepsSessions(t *testing.T) {
	s, _ := newStore(t)
	tap(t, s, "r-a1", ayesha, "2026-11-04 10:00")
	tap(t, s, "r-a2", bilal, "2026-11-04 10:00")

	m := testMembership(t)
	m.Revision = 13
	m.Members[0].Name = "Ayesha K. Malik"
	m.Members = append(m.Members[:1], m.Members[2:]...) // Bilal leaves
	var cards []access.Card
	for _, c := range m.Cards {
		if c.MemberID != "m-002" {
			cards = append(cards, c)
		}
	}
	m.Cards = cards
	if err := s.ReplaceMembership(m); err != nil {
		t.Fatal(err)
	}

	if got := seatState(t, s, "A1"); got.State != store.SeatOccupied || got.Member != "m-001" ||
		got.MemberName != "Ayesha K. Malik" || !got.Since.Equal(at("2026-11-04 10:00")) {
		t.Errorf("A1: got %+v, want Ayesha still seated since 10:00 under her new name", got)
	}
	if info, _ := s.MembershipInfo(); info.Revision != 13 || info.Members != 3 {
		t.Errorf("info: got %+v, want revision 13, 3 members", info)
	}
	if got := seatState(t, s, "A2"); got.State != store.SeatOccupied || got.Member != "m-002" || got.MemberName != "" {
		t.Errorf("A2: got %+v, want still held by the removed member until the next sweep", got)
	}
	evs, err := s.AutoCheckout(at("2026-11-04 10:30"))
	if err != nil || len(evs) != 1 || evs[0].Seat != "A2" || evs[0].Reason != access.ReasonMemberRemoved ||
		!evs[0].Time.Equal(at("2026-11-04 10:30")) {
		t.Fatalf("sweep: got %+v, %v, want A2 member_removed at 10:30", evs, err)
	}
	if d, _ := tap(t, s, "r-b1", bilal, "2026-11-04 10:40"); d.Reason != access.ReasonUnknownCard {
		t.Errorf("removed member's card: got %+v, want unknown_card", d)
	}
	if d, _ := tap(t, s, "r-a1", ayesha, "2026-11-04 11:00"); d.Outcome != access.OutcomeCheckout {
		t.Errorf("Ayesha's tap: got %+v, want checkout", d)
	}
}

func TestReplaceMembershipInvalidChangesNothing(t *testing.T) {
	s, _ := newStore(t)
	m := testMembership(t)
	m.Revision = 13
	m.Members[1].PlanID = "gold"
	err := s.ReplaceMembership(m)
	if !errors.Is(err, store.ErrInvalidMembership) || !strings.Contains(err.Error(), `members[1] (id "m-002").plan: unknown plan "gold"`) {
		t.Fatalf("got %v, want an invalid membership error naming members[1].plan", err)
	}
	if info, _ := s.MembershipInfo(); info.Revision != 12 {
		t.Errorf("revision: got %d, want 12 still", info.Revision)
	}
	if d, _ := tap(t, s, "r-a1", bilal, "2026-11-04 10:00"); d.Outcome != access.OutcomeCheckin {
		t.Errorf("tap: got %+v, want checkin under the old membership", d)
	}
}

func TestSetSeats(t *testing.T) {
	s, _ := newStore(t)
	bad := []struct {
		name  string
		seats []access.Seat
		want  string
	}{
		{"empty id", []access.Seat{{Reader: "r"}}, "empty id"},
		{"duplicate id", []access.Seat{{ID: "A1", Reader: "r1"}, {ID: "A1", Reader: "r2"}}, `duplicate id "A1"`},
		{"empty reader", []access.Seat{{ID: "A1"}}, `seat "A1": empty reader`},
		{"shared reader", []access.Seat{{ID: "A1", Reader: "r"}, {ID: "A2", Reader: "r"}}, `reader "r" already serves seat "A1"`},
	}
	for _, tt := range bad {
		if err := s.SetSeats(tt.seats); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}

	tap(t, s, "r-a2", ayesha, "2026-11-04 10:00")
	if err := s.SetSeats([]access.Seat{{ID: "A1", Zone: "A", Reader: "r-new"}, {ID: "B1", Zone: "B", Reader: "r-b1"}}); err != nil {
		t.Fatal(err)
	}
	seats, _ := s.Seats()
	if len(seats) != 2 || seats[0].Seat != "A1" || seats[1].Seat != "B1" {
		t.Errorf("seats: got %+v, want A1, B1", seats)
	}
	if d, _ := tap(t, s, "r-a1", bilal, "2026-11-04 10:01"); d.Reason != access.ReasonUnknownSeat {
		t.Errorf("old reader: got %+v, want unknown_seat", d)
	}
	evs, err := s.AutoCheckout(at("2026-11-04 10:01"))
	if err != nil || len(evs) != 1 || evs[0].Reason != access.ReasonSeatRemoved || evs[0].Seat != "A2" {
		t.Errorf("sweep: got %+v, %v, want A2 seat_removed", evs, err)
	}
	if d, _ := tap(t, s, "r-new", bilal, "2026-11-04 10:02"); d.Outcome != access.OutcomeCheckin || d.Seat != "A1" {
		t.Errorf("new reader: got %+v, want checkin at A1", d)
	}
}

func TestEventsPaging(t *testing.T) {
	s, _ := newStore(t)
	for i := range 7 {
		tap(t, s, "r-zz", ayesha, "2026-11-04 10:0"+string(rune('0'+i)))
	}
	pages := []struct {
		after      uint64
		limit      int
		first, num uint64
	}{{0, 3, 1, 3}, {3, 3, 4, 3}, {6, 3, 7, 1}, {7, 3, 0, 0}, {0, 0, 1, 7}, {2, -1, 3, 5}}
	for _, p := range pages {
		evs, err := s.Events(p.after, p.limit)
		if err != nil {
			t.Fatal(err)
		}
		if uint64(len(evs)) != p.num || (p.num > 0 && evs[0].Seq != p.first) {
			t.Errorf("Events(%d, %d): got %d from %v, want %d from %d", p.after, p.limit, len(evs), evs, p.num, p.first)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	openAt(t, path, store.Options{})
	_, err := store.Open(path, store.Options{Timeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Errorf("second open: got %v, want a locked error", err)
	}
	_, err = store.Open(filepath.Join(t.TempDir(), "db"), store.Options{Policy: access.Policy{WarnDays: -1}})
	if err == nil || !strings.Contains(err.Error(), "warn days") {
		t.Errorf("bad policy: got %v, want a policy error", err)
	}
}

func TestViewDecidesWithoutChanging(t *testing.T) {
	s, _ := newStore(t)
	tap(t, s, "r-a1", bilal, "2026-11-04 17:00")
	err := s.View(func(snap access.Snapshot, sessions []access.Session) error {
		d := access.Decide(snap, s.Policy(), at("2026-11-04 17:30"), access.Tap{Reader: "r-a1", UID: bilal})
		if d.Outcome != access.OutcomeCheckout {
			t.Errorf("preview: got %+v, want checkout", d)
		}
		due := access.DueCheckouts(snap, sessions, s.Policy(), at("2026-11-04 18:00"))
		if len(due) != 1 || due[0].Reason != access.ReasonWindowEnd {
			t.Errorf("due: got %+v, want one window_end", due)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if last, _ := s.LastSeq(); last != 1 {
		t.Errorf("LastSeq: got %d, want 1 (View changes nothing)", last)
	}
}

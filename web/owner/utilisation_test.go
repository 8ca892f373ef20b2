package owner

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
)

var pkt = time.FixedZone("PKT", 5*60*60)

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, pkt)
	if err != nil {
		panic(err)
	}
	return t
}

// A small known log, "now" being Thursday 26 November 2026 at 12:00, three
// seats (A1, A2 in zone A; B1 in zone B):
//
//	A1  Ayesha  25th 22:00 → 26th 01:00   auto check-out (3 h: 2 yesterday, 1 today)
//	A1  Ayesha  26th 09:00 → 11:30        check-out
//	B1  Bilal   26th 09:15 → 10:15        moved to A2
//	A2  Bilal   26th 10:15 → now          still sitting
//	    Sana    26th 10:40                refused, seat_taken
//	A1  Usman   27 days ago 10:00 → 14:00 check-out
//	A1  Zara    40 days ago               outside the 30 days
var knownLog = []store.Event{
	{Seq: 1, Kind: access.OutcomeCheckout, Seat: "A1", Since: at("2026-10-17 10:00"), Time: at("2026-10-17 12:00")},
	{Seq: 2, Kind: access.OutcomeCheckout, Seat: "A1", Since: at("2026-10-30 10:00"), Time: at("2026-10-30 14:00")},
	{Seq: 3, Kind: access.OutcomeCheckin, Seat: "A1", Member: "m-1", Time: at("2026-11-25 22:00")},
	{Seq: 4, Kind: access.OutcomeAutoCheckout, Seat: "A1", Since: at("2026-11-25 22:00"), Time: at("2026-11-26 01:00"), Reason: access.ReasonDailyCutoff},
	{Seq: 5, Kind: access.OutcomeCheckin, Seat: "A1", Member: "m-1", Time: at("2026-11-26 09:00")},
	{Seq: 6, Kind: access.OutcomeCheckin, Seat: "B1", Member: "m-2", Time: at("2026-11-26 09:15")},
	{Seq: 7, Kind: access.OutcomeMove, Seat: "A2", PrevSeat: "B1", Member: "m-2", Since: at("2026-11-26 09:15"), Time: at("2026-11-26 10:15")},
	{Seq: 8, Kind: access.OutcomeDeny, Seat: "A2", Member: "m-3", Reason: access.ReasonSeatTaken, Time: at("2026-11-26 10:40")},
	{Seq: 9, Kind: access.OutcomeCheckout, Seat: "A1", Member: "m-1", Since: at("2026-11-26 09:00"), Time: at("2026-11-26 11:30")},
}

var knownSeats = []store.SeatState{
	{Seat: "A1", Zone: "A", State: store.SeatFree},
	{Seat: "A2", Zone: "A", State: store.SeatOccupied, Member: "m-2", Since: at("2026-11-26 10:15")},
	{Seat: "B1", Zone: "B", State: store.SeatFree},
}

func TestChartNumbers(t *testing.T) {
	now := at("2026-11-26 12:00")
	en := languages.ByCode("en")
	charts := chartData(en, knownLog, knownSeats, now)
	if len(charts) != 4 {
		t.Fatalf("got %d charts, want 4", len(charts))
	}
	type want struct {
		label   string
		minutes float64 // seat-minutes used
		of      float64 // seat-minutes available
	}
	check := func(t *testing.T, c chart, wants []want) {
		t.Helper()
		byLabel := map[string]bar{}
		for _, b := range c.Bars {
			byLabel[b.Label] = b
		}
		for _, w := range wants {
			b, ok := byLabel[w.label]
			if w.of == 0 {
				if ok && b.Present {
					t.Errorf("%s: bar %s: got %.3f, want no bar", c.Title, w.label, b.Value)
				}
				continue
			}
			if !ok || !b.Present || math.Abs(b.Value-w.minutes/w.of) > 1e-9 {
				t.Errorf("%s: bar %s: got %.4f (present %v), want %.0f/%.0f = %.4f", c.Title, w.label, b.Value, b.Present, w.minutes, w.of, w.minutes/w.of)
			}
		}
	}
	t.Run("by hour today", func(t *testing.T) {
		if len(charts[0].Bars) != 24 {
			t.Fatalf("got %d bars, want 24", len(charts[0].Bars))
		}
		check(t, charts[0], []want{
			{"00", 60, 180},      // the night session until 01:00
			{"01", 0, 180},       // nobody
			{"09", 60 + 45, 180}, // Ayesha all hour, Bilal from 09:15
			{"10", 60 + 60, 180}, // Ayesha; Bilal at B1 then A2
			{"11", 30 + 60, 180}, // Ayesha until 11:30; Bilal
			{"12", 0, 0},         // starts now: no bar
			{"18", 0, 0},         // the future: no bar
		})
	})
	t.Run("by day", func(t *testing.T) {
		if len(charts[1].Bars) != 30 {
			t.Fatalf("got %d bars, want 30", len(charts[1].Bars))
		}
		day := 3 * 24 * 60.0
		check(t, charts[1], []want{
			{"26/11", 60 + 150 + 60 + 105, 3 * 12 * 60}, // today until noon
			{"25/11", 120, day},
			{"30/10", 240, day},
			{"28/10", 0, day},
			{"27/10", 0, 0}, // the day before the 30 days
			{"17/10", 0, 0},
		})
		if first := charts[1].Bars[0].Label; first != "28/10" {
			t.Errorf("first day: got %s, want 28/10 (30 days ending 26/11)", first)
		}
	})
	t.Run("by zone today", func(t *testing.T) {
		check(t, charts[2], []want{
			{"A", 60 + 150 + 105, 2 * 12 * 60},
			{"B", 60, 12 * 60},
		})
	})
	t.Run("by zone over 30 days", func(t *testing.T) {
		available := 29*24*60.0 + 12*60 // 28 Oct 00:00 to 26 Nov 12:00
		check(t, charts[3], []want{
			{"A", 240 + 180 + 150 + 105, 2 * available},
			{"B", 60, available},
		})
	})
}

func TestUtilisationEdges(t *testing.T) {
	now := at("2026-11-26 12:00")
	seats := map[string]bool{"A1": true}
	tests := []struct {
		name    string
		spans   []span
		b       bucket
		want    float64
		present bool
	}{
		{"no seats", nil, bucket{From: at("2026-11-26 09:00"), To: at("2026-11-26 10:00")}, 0, false},
		{"in the future", nil, bucket{From: at("2026-11-26 13:00"), To: at("2026-11-26 14:00"), Seats: seats}, 0, false},
		{"in progress counts the time gone",
			[]span{{"A1", at("2026-11-26 11:30"), now}},
			bucket{From: at("2026-11-26 11:00"), To: at("2026-11-26 13:00"), Seats: seats}, 0.5, true},
		{"other seats do not count",
			[]span{{"B1", at("2026-11-26 09:00"), at("2026-11-26 10:00")}},
			bucket{From: at("2026-11-26 09:00"), To: at("2026-11-26 10:00"), Seats: seats}, 0, true},
		{"overlapping records are capped at 100%",
			[]span{{"A1", at("2026-11-26 09:00"), at("2026-11-26 10:00")}, {"A1", at("2026-11-26 09:00"), at("2026-11-26 10:00")}},
			bucket{From: at("2026-11-26 09:00"), To: at("2026-11-26 10:00"), Seats: seats}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := utilisation(tt.spans, tt.b, now)
			if got != tt.want || ok != tt.present {
				t.Errorf("got %v %v, want %v %v", got, ok, tt.want, tt.present)
			}
		})
	}
}

func TestSummarise(t *testing.T) {
	s := summarise(knownLog, at("2026-11-26 00:00"))
	if s.Checkins != 2 || s.Checkouts != 1 || s.AutoCheckouts != 1 || s.Moves != 1 || s.Refused != 1 || s.Members != 2 {
		t.Errorf("got %+v, want 2 check-ins by 2 members, 1 check-out, 1 auto, 1 move, 1 refused", s)
	}
	if s.Reasons["seat_taken"] != 1 || len(s.Denied) != 1 || s.Denied[0].Seq != 8 {
		t.Errorf("refused: got %v %v, want one seat_taken (event 8)", s.Reasons, s.Denied)
	}
}

func TestBarChartSVG(t *testing.T) {
	svg := string(barChart(`Zones <"A&B">`, []bar{
		{Label: "A<1>", Title: "A", Value: 0.5, Present: true},
		{Label: "B", Title: "B", Value: 1.7, Present: true}, // clamped
		{Label: "C", Present: false},
	}, 1))
	for _, want := range []string{
		`aria-label="Zones &lt;&#34;A&amp;B&#34;&gt;"`,
		`data-label="A&lt;1&gt;" data-value="50"`,
		`data-value="100"`,
		`>C</text>`,
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("the chart does not contain %s:\n%s", want, svg)
		}
	}
	if n := strings.Count(svg, "<rect"); n != 2 {
		t.Errorf("got %d bars drawn, want 2 (C is absent)", n)
	}
}

// fakeLog is an event log in memory, with the reads counted.
type fakeLog struct {
	Store  // only Events and LastSeq are used
	events []store.Event
	read   int
}

func (l *fakeLog) LastSeq() (uint64, error) {
	if len(l.events) == 0 {
		return 0, nil
	}
	return l.events[len(l.events)-1].Seq, nil
}

func (l *fakeLog) Events(after uint64, limit int) ([]store.Event, error) {
	var out []store.Event
	for _, ev := range l.events {
		if ev.Seq > after && len(out) < limit {
			out = append(out, ev)
		}
	}
	l.read += len(out)
	return out, nil
}

func TestHistoryReadsOnlyTheWindow(t *testing.T) {
	// 100 days of a check-in every hour, the first 20 days pruned.
	log := &fakeLog{}
	start := at("2026-08-18 00:00")
	for i := range 100 * 24 {
		if i < 20*24 {
			continue
		}
		log.events = append(log.events, store.Event{Seq: uint64(i + 1), Kind: access.OutcomeCheckin, Time: start.Add(time.Duration(i) * time.Hour)})
	}
	var h history
	from := at("2026-10-28 00:00") // 71 days after the start
	got, err := h.since(log, from)
	if err != nil {
		t.Fatal(err)
	}
	if want := (100 - 71) * 24; len(got) != want || !got[0].Time.Equal(from) {
		t.Fatalf("got %d events from %v, want %d from %v", len(got), got[0].Time, want, from)
	}
	if limit := (100-71+2)*24 + 64; log.read > limit {
		t.Errorf("read %d events to find the window, want at most %d (the window, the slack and the bisection)", log.read, limit)
	}
	// New events are read once, and only they.
	log.read = 0
	next := log.events[len(log.events)-1]
	next.Seq++
	next.Time = next.Time.Add(time.Hour)
	log.events = append(log.events, next)
	got, _ = h.since(log, from)
	if len(got) != (100-71)*24+1 || log.read != 1 {
		t.Errorf("after one more event: got %d events having read %d, want %d having read 1", len(got), log.read, (100-71)*24+1)
	}
}

func TestFirstAtOrAfter(t *testing.T) {
	log := &fakeLog{}
	for i, s := range []string{"2026-11-01 10:00", "2026-11-02 10:00", "2026-11-03 10:00", "2026-11-05 10:00"} {
		log.events = append(log.events, store.Event{Seq: uint64(i*2 + 5), Time: at(s)}) // seqs 5, 7, 9, 11: gaps
	}
	tests := []struct {
		t     string
		first uint64 // the first event at or after t; 0: none
	}{
		{"2026-10-01 00:00", 5},
		{"2026-11-02 10:00", 7},
		{"2026-11-04 00:00", 11},
		{"2026-12-01 00:00", 0},
	}
	for _, tt := range tests {
		got, err := firstAtOrAfter(log, at(tt.t))
		if err != nil {
			t.Fatal(err)
		}
		page, _ := log.Events(got-1, 1)
		var first uint64
		if len(page) > 0 {
			first = page[0].Seq
		}
		if first != tt.first {
			t.Errorf("%s: got %d, whose first event is %d, want %d", tt.t, got, first, tt.first)
		}
	}
}

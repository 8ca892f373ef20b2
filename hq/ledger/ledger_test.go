package ledger_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
	"github.com/pkfreelance/seatgate/hq/ledger"
)

const (
	checkin  = access.OutcomeCheckin
	checkout = access.OutcomeCheckout
	move     = access.OutcomeMove
	auto     = access.OutcomeAutoCheckout
	deny     = access.OutcomeDeny
)

// wantDay is what Query should say about one date.
type wantDay struct {
	date     string
	seats    map[string]int64 // seat → seconds
	verified bool
}

// TestSeatHours: events in, through ingest and EVENTS, seat-hours out.
func TestSeatHours(t *testing.T) {
	tests := []struct {
		name   string
		events map[string][]store.Event // gateway → its log
		want   []wantDay
	}{
		{
			name: "a day at two seats",
			events: map[string][]store.Event{"gw-1": {
				ev(checkin, "A1", "2026-11-26 09:00:00", "", true),
				ev(checkin, "B1", "2026-11-26 10:00:00", "", true),
				ev(deny, "A1", "2026-11-26 10:30:00", "", true),
				ev(checkout, "B1", "2026-11-26 12:00:00", "2026-11-26 10:00:00", true),
				ev(checkout, "A1", "2026-11-26 17:00:00", "2026-11-26 09:00:00", true),
			}},
			want: []wantDay{{"2026-11-26", map[string]int64{"A1": 8 * 3600, "B1": 2 * 3600}, true}},
		},
		{
			name: "a night shift is split at midnight",
			events: map[string][]store.Event{"gw-1": {
				ev(checkin, "A1", "2026-11-26 20:00:00", "", true),
				ev(checkout, "A1", "2026-11-27 06:00:00", "2026-11-26 20:00:00", true),
			}},
			want: []wantDay{
				{"2026-11-26", map[string]int64{"A1": 4 * 3600}, true},
				{"2026-11-27", map[string]int64{"A1": 6 * 3600}, true},
			},
		},
		{
			name: "a move",
			events: map[string][]store.Event{"gw-1": {
				ev(checkin, "A1", "2026-11-26 09:00:00", "", true),
				ev(move, "A1>B2", "2026-11-26 11:00:00", "2026-11-26 09:00:00", true),
				ev(checkout, "B2", "2026-11-26 12:30:00", "2026-11-26 11:00:00", true),
			}},
			want: []wantDay{{"2026-11-26", map[string]int64{"A1": 2 * 3600, "B2": 90 * 60}, true}},
		},
		{
			name: "an auto check-out at the 03:00 cut-off",
			events: map[string][]store.Event{"gw-1": {
				ev(checkin, "A1", "2026-11-26 22:00:00", "", true),
				ev(deny, "A2", "2026-11-27 03:05:00", "", true),
				ev(auto, "A1", "2026-11-27 03:00:00", "2026-11-26 22:00:00", true),
			}},
			want: []wantDay{
				{"2026-11-26", map[string]int64{"A1": 2 * 3600}, true},
				{"2026-11-27", map[string]int64{"A1": 3 * 3600}, true},
			},
		},
		{
			name: "an untrusted clock flags the days it touches",
			events: map[string][]store.Event{"gw-1": {
				ev(checkin, "A1", "2026-11-26 09:00:00", "", true),
				ev(checkout, "A1", "2026-11-26 10:00:00", "2026-11-26 09:00:00", true),
				ev(checkin, "A1", "2026-11-27 23:00:00", "", false),
				ev(checkout, "A1", "2026-11-28 01:00:00", "2026-11-27 23:00:00", true),
				ev(checkin, "A1", "2026-11-29 09:00:00", "", true),
				ev(checkout, "A1", "2026-11-29 10:00:00", "2026-11-29 09:00:00", true),
			}},
			want: []wantDay{
				{"2026-11-26", map[string]int64{"A1": 3600}, true},
				{"2026-11-27", map[string]int64{"A1": 3600}, false},
				{"2026-11-28", map[string]int64{"A1": 3600}, false},
				{"2026-11-29", map[string]int64{"A1": 3600}, true},
			},
		},
		{
			name: "two gateways of a centre add up",
			events: map[string][]store.Event{
				"gw-1": {
					ev(checkin, "A1", "2026-11-26 09:00:00", "", true),
					ev(checkout, "A1", "2026-11-26 10:00:00", "2026-11-26 09:00:00", true),
				},
				"gw-2": {
					ev(checkin, "A1", "2026-11-26 11:00:00", "", true), // seat IDs are per centre
					ev(checkout, "A1", "2026-11-26 11:30:00", "2026-11-26 11:00:00", true),
					ev(checkin, "Z9", "2026-11-26 12:00:00", "", true),
					ev(checkout, "Z9", "2026-11-26 13:00:00", "2026-11-26 12:00:00", true),
				},
			},
			want: []wantDay{{"2026-11-26", map[string]int64{"A1": 5400, "Z9": 3600}, true}},
		},
	}

	h := startHQ(t)
	devices := make([]map[string]*device, len(tests))
	for i, tt := range tests {
		devices[i] = map[string]*device{}
		for gw, events := range tt.events {
			d := h.enrol(t, fmt.Sprintf("c-%02d", i+1), gw)
			for _, e := range events {
				d.log.Append(e)
			}
			devices[i][gw] = d
		}
	}
	h.startIngester(t, ingest.Options{})
	l, _ := h.startLedger(t, ledger.Options{})

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			centre := fmt.Sprintf("c-%02d", i+1)
			for _, d := range devices[i] {
				n := uint64(len(d.log.All()))
				h.send(t, d, 1, n)
				waitFolded(t, l, d, n)
			}
			from, to := date(tt.want[0].date), date(tt.want[len(tt.want)-1].date)
			days, err := l.Query(context.Background(), centre, from.AddDays(-1), to.AddDays(1))
			if err != nil {
				t.Fatal(err)
			}
			checkDays(t, days, tt.want)
			if gws := days[1].Gateways; len(gws) != len(tt.events) {
				t.Errorf("gateways of %s: got %v, want %d", days[1].Date, gws, len(tt.events))
			}
		})
	}
	if s := l.Stats(); s.Rejected != 0 || s.Errors != 0 {
		t.Errorf("ledger stats: %+v", s)
	}
}

// checkDays compares days with want, which covers all but the first and
// last of them: those must be empty.
func checkDays(t *testing.T, days []ledger.Day, want []wantDay) {
	t.Helper()
	if len(days) != len(want)+2 {
		t.Fatalf("days: got %d, want %d", len(days), len(want)+2)
	}
	for _, d := range []ledger.Day{days[0], days[len(days)-1]} {
		if d.Seconds != 0 || !d.Verified || len(d.Gateways) != 0 {
			t.Errorf("%s: got %d s, verified %v, gateways %v; want an empty, verified day", d.Date, d.Seconds, d.Verified, d.Gateways)
		}
	}
	for i, w := range want {
		got := days[i+1]
		var total int64
		for _, s := range w.seats {
			total += s
		}
		if got.Date.String() != w.date || got.Seconds != total || !maps.Equal(got.Seats, w.seats) || got.Verified != w.verified {
			t.Errorf("%s: got %d s %v verified %v (untrusted %d, invalid %d, suspect %v); want %s: %d s %v verified %v",
				got.Date, got.Seconds, got.Seats, got.Verified, got.Untrusted, got.Invalid, got.Suspect,
				w.date, total, w.seats, w.verified)
		}
	}
}

// TestRedeliveryIsNotCountedTwice: whatever is delivered again — every
// event after the consumer is lost, every event after the cursors are lost
// (an instance that died between a day and its cursor), or events two
// instances fold at once — no second is counted twice.
func TestRedeliveryIsNotCountedTwice(t *testing.T) {
	h := startHQ(t)
	d1 := h.enrol(t, "lhr-01", "gw-1")
	d2 := h.enrol(t, "lhr-01", "gw-2")
	start := ingesttest.At("2026-11-26 08:00:00")
	total1 := ingesttest.Sessions(d1.log, 300, start, 50*time.Minute, 10*time.Minute, "A1", "A2", "A3")
	total2 := ingesttest.Sessions(d2.log, 300, start, 25*time.Minute, 5*time.Minute, "B1", "B2")
	h.startIngester(t, ingest.Options{})
	from, to := date("2026-11-25"), date("2026-12-15")
	ctx := context.Background()

	h.send(t, d1, 1, 600)
	l, stop := h.startLedger(t, ledger.Options{})
	begin := time.Now()
	waitFolded(t, l, d1, 600)
	t.Logf("600 events folded in %v", time.Since(begin))
	before := query(t, l, "lhr-01", from, to)
	if got := sum(before); got != total1 {
		t.Fatalf("seat-seconds: got %d, want %d", got, total1)
	}
	stop()

	t.Run("the consumer is lost: every event again", func(t *testing.T) {
		if err := h.js.DeleteConsumer(ctx, ingest.StreamName, ledger.DefaultDurable); err != nil {
			t.Fatal(err)
		}
		l, stop := h.startLedger(t, ledger.Options{})
		defer stop()
		ingesttest.WaitFor(t, "every event redelivered", waitFold, func() bool { return l.Stats().Duplicates == 600 })
		same(t, query(t, l, "lhr-01", from, to), before)
	})

	t.Run("the cursors are lost: every event folded again", func(t *testing.T) {
		kv, err := h.js.KeyValue(ctx, ledger.Bucket)
		if err != nil {
			t.Fatal(err)
		}
		if err := kv.Purge(ctx, "cursor.lhr-01.gw-1"); err != nil {
			t.Fatal(err)
		}
		if err := h.js.DeleteConsumer(ctx, ingest.StreamName, ledger.DefaultDurable); err != nil {
			t.Fatal(err)
		}
		l, stop := h.startLedger(t, ledger.Options{})
		defer stop()
		waitFolded(t, l, d1, 600)
		same(t, query(t, l, "lhr-01", from, to), before)
	})

	t.Run("two instances: one folds, the other takes over when it stops", func(t *testing.T) {
		o := ledger.Options{PinnedTTL: 3 * time.Second}
		a, stopA := h.startLedger(t, o)
		defer stopA()
		b, stopB := h.startLedger(t, o)
		defer stopB()
		for first := uint64(1); first <= 300; first += 50 {
			h.send(t, d2, first, first+49)
		}
		waitFolded(t, a, d2, 300)
		first, second, stopFirst := a, b, stopA
		if b.Stats().Folded > 0 {
			first, second, stopFirst = b, a, stopB
		}
		if second.Stats().Folded != 0 {
			t.Errorf("both instances folded: %+v, %+v; want one pinned", a.Stats(), b.Stats())
		}
		stopFirst()
		begin := time.Now()
		for first := uint64(301); first <= 600; first += 50 {
			h.send(t, d2, first, first+49)
		}
		waitFolded(t, second, d2, 600)
		t.Logf("taken over and folded in %v; first: %+v; second: %+v", time.Since(begin), first.Stats(), second.Stats())
		if got := sum(query(t, second, "lhr-01", from, to)); got != total1+total2 {
			t.Errorf("seat-seconds: got %d, want %d", got, total1+total2)
		}
		if second.Stats().Folded == 0 {
			t.Errorf("the second instance folded nothing")
		}
	})
}

func query(t *testing.T, l *ledger.Ledger, centre string, from, to access.Date) []ledger.Day {
	t.Helper()
	days, err := l.Query(context.Background(), centre, from, to)
	if err != nil {
		t.Fatal(err)
	}
	return days
}

func sum(days []ledger.Day) int64 {
	var s int64
	for _, d := range days {
		s += d.Seconds
	}
	return s
}

func same(t *testing.T, got, want []ledger.Day) {
	t.Helper()
	for i := range want {
		g, w := got[i], want[i]
		if g.Seconds != w.Seconds || g.Sessions != w.Sessions || !maps.Equal(g.Seats, w.Seats) || g.Verified != w.Verified {
			t.Errorf("%s: got %d s in %d sessions, want %d s in %d", g.Date, g.Seconds, g.Sessions, w.Seconds, w.Sessions)
		}
	}
}

// TestForkFlagsTheDaysFromThenOn: a fork seen on the 28th leaves the days
// before it verified (HQ received them over an unbroken chain) and marks
// the gateway's days from then on.
func TestForkFlagsTheDaysFromThenOn(t *testing.T) {
	h := startHQ(t)
	d := h.enrol(t, "lhr-01", "gw-1")
	for _, day := range []string{"2026-11-26", "2026-11-27", "2026-11-28"} {
		d.log.Append(ev(checkin, "A1", day+" 09:00:00", "", true))
		d.log.Append(ev(checkout, "A1", day+" 10:00:00", day+" 09:00:00", true))
	}
	h.startIngester(t, ingest.Options{Now: func() time.Time { return ingesttest.At("2026-11-28 12:00:00") }})
	l, _ := h.startLedger(t, ledger.Options{})

	h.send(t, d, 1, 4)
	waitFolded(t, l, d, 4)
	days := query(t, l, "lhr-01", date("2026-11-26"), date("2026-11-28"))
	if !days[0].Verified || !days[1].Verified {
		t.Fatalf("before the fork: %+v", days)
	}

	// The device sends another version of events 3 and 4: refused.
	forked := &device{topics: d.topics, key: d.key, log: &ingesttest.Log{}, acks: d.acks}
	for _, e := range d.log.All()[:2] {
		forked.log.Append(e)
	}
	forked.log.Append(ev(checkin, "A1", "2026-11-27 08:00:00", "", true))
	forked.log.Append(ev(checkout, "A1", "2026-11-27 18:00:00", "2026-11-27 08:00:00", true))
	p := ingesttest.Batch(t, d.key, d.topics, 1, forked.log.All()[1].Hash, forked.log.All()[2:4])
	if err := (ingesttest.NATSPublisher{NC: h.nc}).Publish(context.Background(), d.topics.Events(), 1, false, p); err != nil {
		t.Fatal(err)
	}
	ingesttest.WaitFor(t, "fork recorded", waitAck, func() bool {
		kv, err := h.js.KeyValue(context.Background(), ingest.ChainsBucket)
		if err != nil {
			return false
		}
		hd, _, err := ingest.LoadHead(context.Background(), kv, "lhr-01", "gw-1")
		return err == nil && !hd.SuspectSince.IsZero()
	})

	// The genuine chain goes on; the 28th is in doubt.
	h.send(t, d, 5, 6)
	waitFolded(t, l, d, 6)
	days = query(t, l, "lhr-01", date("2026-11-26"), date("2026-11-28"))
	var verified []bool
	for _, day := range days {
		verified = append(verified, day.Verified)
		if day.Seconds != 3600 {
			t.Errorf("%s: %d s, want 3600 (the forked version is not counted)", day.Date, day.Seconds)
		}
	}
	if !slices.Equal(verified, []bool{true, true, false}) || !slices.Equal(days[2].Suspect, []string{"gw-1"}) {
		t.Errorf("verified: got %v (suspect on the 28th: %v), want [true true false] ([gw-1])", verified, days[2].Suspect)
	}
}

package metrics_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/web/metrics"
)

func TestTapsCountedByOutcomeAndReason(t *testing.T) {
	m := metrics.New(metrics.Sources{Version: "dev"})
	taps := []struct{ outcome, reason string }{
		{"checkin", ""}, {"checkin", ""}, {"checkout", ""},
		{"deny", "unknown_card"}, {"deny", "unknown_card"}, {"deny", "plan_expired"},
		{metrics.OutcomeError, metrics.ReasonStore},
	}
	for _, tp := range taps {
		m.ObserveTap(tp.outcome, tp.reason, time.Millisecond, time.Millisecond)
	}
	m.ObserveAutoCheckout("daily_cutoff")
	got := scrape(t, m.Handler())
	for _, tt := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"outcome", "checkin", "reason", ""}, 2},
		{[]string{"outcome", "checkout", "reason", ""}, 1},
		{[]string{"outcome", "deny", "reason", "unknown_card"}, 2},
		{[]string{"outcome", "deny", "reason", "plan_expired"}, 1},
		{[]string{"outcome", "error", "reason", "store"}, 1},
	} {
		if v := got.value(t, "seatgate_taps_total", tt.labels...); v != tt.want {
			t.Errorf("seatgate_taps_total%v = %v, want %v", tt.labels, v, tt.want)
		}
	}
	if v := got.value(t, "seatgate_auto_checkouts_total", "reason", "daily_cutoff"); v != 1 {
		t.Errorf("seatgate_auto_checkouts_total{reason=daily_cutoff} = %v, want 1", v)
	}
}

func TestTapLatencyLandsInItsBucket(t *testing.T) {
	m := metrics.New(metrics.Sources{})
	m.ObserveTap("checkin", "", 300*time.Microsecond, 2*time.Millisecond)
	m.ObserveTap("deny", "seat_taken", 40*time.Millisecond, 700*time.Microsecond)
	// A failed tap has no decision: only its commit time counts.
	m.ObserveTap(metrics.OutcomeError, metrics.ReasonStore, 0, 5*time.Second)
	got := scrape(t, m.Handler())
	for _, tt := range []struct {
		name string
		le   float64
		want uint64
	}{
		{"seatgate_tap_decision_seconds", 0.0001, 0},
		{"seatgate_tap_decision_seconds", 0.00025, 0},
		{"seatgate_tap_decision_seconds", 0.0005, 1},
		{"seatgate_tap_decision_seconds", 0.025, 1},
		{"seatgate_tap_decision_seconds", 0.05, 2},
		{"seatgate_tap_decision_seconds", 1, 2},
		{"seatgate_tap_commit_seconds", 0.0005, 0},
		{"seatgate_tap_commit_seconds", 0.001, 1},
		{"seatgate_tap_commit_seconds", 0.0025, 2},
		{"seatgate_tap_commit_seconds", 1, 2},
	} {
		if n := got.bucket(t, tt.name, tt.le); n != tt.want {
			t.Errorf("%s le=%g: got %d, want %d", tt.name, tt.le, n, tt.want)
		}
	}
	if n := got.count(t, "seatgate_tap_decision_seconds"); n != 2 {
		t.Errorf("decision samples: got %d, want 2 (a zero duration is not a sample)", n)
	}
	if n := got.count(t, "seatgate_tap_commit_seconds"); n != 3 {
		t.Errorf("commit samples: got %d, want 3 (the 5 s one beyond the last bucket)", n)
	}
}

func TestLatencyBucketsSpan100MicrosecondsTo1Second(t *testing.T) {
	b := metrics.LatencyBuckets
	if b[0] != 0.0001 || b[len(b)-1] != 1 {
		t.Fatalf("buckets %v: want 0.0001 … 1", b)
	}
	for i := 1; i < len(b); i++ {
		if r := b[i] / b[i-1]; r < 1.9 || r > 2.6 {
			t.Errorf("buckets %g and %g are %.1f× apart, want about 2.5×", b[i-1], b[i], r)
		}
	}
}

func TestReaderErrorsStartAtZeroForEveryReader(t *testing.T) {
	f := &fakeGateway{}
	m := metrics.New(f.sources())
	got := scrape(t, m.Handler())
	for _, r := range []string{"desk-a01", "desk-a02"} {
		if v := got.value(t, "seatgate_reader_errors_total", "reader", r); v != 0 {
			t.Errorf("reader %s before any fault: %v, want 0", r, v)
		}
	}
	m.ReaderError("desk-a02")
	m.ReaderError("desk-a02")
	got = scrape(t, m.Handler())
	if v := got.value(t, "seatgate_reader_errors_total", "reader", "desk-a02"); v != 2 {
		t.Errorf("desk-a02 after two faults: %v, want 2", v)
	}
	if v := got.value(t, "seatgate_reader_errors_total", "reader", "desk-a01"); v != 0 {
		t.Errorf("desk-a01 after desk-a02's faults: %v, want 0", v)
	}
}

func TestGaugesReadSourcesAtEveryScrape(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	f := &fakeGateway{readersOK: 12, readers: 12, connected: true, revision: 41, clockTrusted: true, now: t0}
	m := metrics.New(f.sources())
	want := func(step string, w map[string]float64) {
		t.Helper()
		got := scrape(t, m.Handler())
		for name, v := range w {
			if g := got.value(t, name); g != v {
				t.Errorf("%s: %s = %v, want %v", step, name, g, v)
			}
		}
	}
	want("all well", map[string]float64{
		"seatgate_readers": 12, "seatgate_readers_ok": 12, "seatgate_outbox_depth": 0,
		"seatgate_outbox_oldest_age_seconds": 0, "seatgate_hq_connected": 1, "seatgate_membership_revision": 41,
		"seatgate_journal_lag_revisions": 0, "seatgate_clock_trusted": 1,
	})
	f.set(func(f *fakeGateway) {
		f.readersOK = 11
		f.connected = false
		f.depth, f.oldest, f.now = 37, t0, t0.Add(90*time.Second)
		f.lag = 3
		f.clockTrusted = false
	})
	want("HQ down, a reader broken", map[string]float64{
		"seatgate_readers": 12, "seatgate_readers_ok": 11, "seatgate_outbox_depth": 37,
		"seatgate_outbox_oldest_age_seconds": 90, "seatgate_hq_connected": 0, "seatgate_membership_revision": 41,
		"seatgate_journal_lag_revisions": 3, "seatgate_clock_trusted": 0,
	})
	f.set(func(f *fakeGateway) {
		f.connected = true
		f.depth, f.oldest = 0, time.Time{}
		f.revision, f.lag = 44, 0
	})
	want("caught up", map[string]float64{
		"seatgate_outbox_depth": 0, "seatgate_outbox_oldest_age_seconds": 0, "seatgate_hq_connected": 1,
		"seatgate_membership_revision": 44, "seatgate_journal_lag_revisions": 0,
	})
}

func TestOutboxAgeNeverNegative(t *testing.T) {
	// The oldest event's time is the store's (its clock floor may be ahead
	// of a wall clock that is not trusted yet).
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	f := &fakeGateway{depth: 5, oldest: t0.Add(time.Minute), now: t0}
	got := scrape(t, metrics.New(f.sources()).Handler())
	if v := got.value(t, "seatgate_outbox_oldest_age_seconds"); v != 0 {
		t.Errorf("age of an event stamped after now: %v, want 0", v)
	}
}

func TestUpdatePhaseAndProgress(t *testing.T) {
	phases := []string{"idle", "waiting", "downloading", "ready", "trial", "committed", "rolled_back", "failed"}
	tests := []struct {
		name        string
		phase       string
		done, total int
		wantPhase   string // the one phase at 1; "" none
		wantRatio   float64
	}{
		{"never assigned", "", 0, 0, "idle", 0},
		{"downloading", "downloading", 12, 48, "downloading", 0.25},
		{"trial", "trial", 48, 48, "trial", 1},
		{"more done than total", "downloading", 50, 48, "downloading", 1},
		{"not a phase", "exploded", 0, 0, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeGateway{phase: tt.phase, done: tt.done, total: tt.total}
			got := scrape(t, metrics.New(f.sources()).Handler())
			if n := len(got["seatgate_update_phase"].GetMetric()); n != len(phases) {
				t.Errorf("seatgate_update_phase has %d samples %v, want one per phase (%d)",
					n, labelsOf(got["seatgate_update_phase"]), len(phases))
			}
			for _, p := range phases {
				want := 0.0
				if p == tt.wantPhase {
					want = 1
				}
				if v := got.value(t, "seatgate_update_phase", "phase", p); v != want {
					t.Errorf("seatgate_update_phase{phase=%q} = %v, want %v", p, v, want)
				}
			}
			if v := got.value(t, "seatgate_update_progress_ratio"); v != tt.wantRatio {
				t.Errorf("seatgate_update_progress_ratio = %v, want %v", v, tt.wantRatio)
			}
		})
	}
}

func TestMissingSourcesLeaveTheirMetricsOut(t *testing.T) {
	// A gateway without an HQ link, firmware updates or readers exports
	// none of their metrics, rather than zeros that would read as faults.
	got := scrape(t, metrics.New(metrics.Sources{Version: "1.4.2"}).Handler())
	for _, name := range []string{"seatgate_hq_connected", "seatgate_readers", "seatgate_readers_ok",
		"seatgate_outbox_depth", "seatgate_outbox_oldest_age_seconds", "seatgate_membership_revision",
		"seatgate_journal_lag_revisions", "seatgate_update_phase", "seatgate_update_progress_ratio",
		"seatgate_clock_trusted"} {
		if _, ok := got[name]; ok {
			t.Errorf("%s exported without its source", name)
		}
	}
	if v := got.value(t, "seatgate_build_info", "version", "1.4.2"); v != 1 {
		t.Errorf("seatgate_build_info{version=1.4.2} = %v, want 1", v)
	}
}

func TestFailingSourceLeavesOnlyItsMetricsOut(t *testing.T) {
	var log logBuffer
	f := &fakeGateway{readersOK: 3, readers: 4, outboxErr: errDisk, revisionErr: errDisk, connected: true}
	s := f.sources()
	s.Logger = log.logger()
	m := metrics.New(s)
	got := scrape(t, m.Handler())
	for _, name := range []string{"seatgate_outbox_depth", "seatgate_outbox_oldest_age_seconds", "seatgate_membership_revision"} {
		if _, ok := got[name]; ok {
			t.Errorf("%s exported although its source failed", name)
		}
	}
	if v := got.value(t, "seatgate_readers_ok"); v != 3 {
		t.Errorf("seatgate_readers_ok = %v, want 3 (served despite the failure)", v)
	}
	if v := got.value(t, "seatgate_hq_connected"); v != 1 {
		t.Errorf("seatgate_hq_connected = %v, want 1", v)
	}
	if !strings.Contains(log.String(), "read outbox") || !strings.Contains(log.String(), errDisk.Error()) {
		t.Errorf("log %q: want the outbox's error", log.String())
	}
	got = scrape(t, m.Handler())
	if v := got.value(t, "promhttp_metric_handler_errors_total", "cause", "gathering"); v != 1 {
		t.Errorf("promhttp_metric_handler_errors_total{cause=gathering} after two failed scrapes = %v, want 1 "+
			"(the second scrape shows the first one's count)", v)
	}
}

func TestNilGatewayIgnoresObservations(t *testing.T) {
	var m *metrics.Gateway
	m.ObserveTap("checkin", "", time.Millisecond, time.Millisecond)
	m.ObserveAutoCheckout("max_session")
	m.ReaderError("desk-a01")
}

func TestObserveWhileScraping(t *testing.T) {
	f := &fakeGateway{readers: 2}
	m := metrics.New(f.sources())
	const workers, taps = 4, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range taps {
				m.ObserveTap("checkin", "", time.Duration(i)*time.Microsecond, time.Millisecond)
				m.ReaderError(fmt.Sprintf("desk-a0%d", 1+w%2))
				f.set(func(f *fakeGateway) { f.depth++ })
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			scrape(t, m.Handler())
		}
	})
	wg.Wait()
	got := scrape(t, m.Handler())
	if v := got.value(t, "seatgate_taps_total", "outcome", "checkin"); v != workers*taps {
		t.Errorf("taps: got %v, want %d", v, workers*taps)
	}
	if v := got.value(t, "seatgate_outbox_depth"); v != workers*taps {
		t.Errorf("outbox depth: got %v, want %d", v, workers*taps)
	}
}

// TestEveryMetricIsDocumented holds doc.go's list to what is exported.
func TestEveryMetricIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, name := range regexp.MustCompile(`seatgate_[a-z_]+`).FindAllString(string(doc), -1) {
		documented[name] = true
	}
	got := scrape(t, fullGateway(t).Handler())
	for name := range got {
		if strings.HasPrefix(name, "seatgate_") && !documented[name] {
			t.Errorf("%s is exported but not in doc.go's list", name)
		}
		delete(documented, name)
	}
	for name := range documented {
		t.Errorf("doc.go lists %s, which is not exported", name)
	}
}

// fullGateway is a Gateway with every source set and every kind of event
// observed, so that every metric appears in a scrape.
func fullGateway(t testing.TB) *metrics.Gateway {
	t.Helper()
	f := &fakeGateway{readersOK: 1, readers: 2, connected: true, phase: "idle"}
	m := metrics.New(f.sources())
	m.ObserveTap("checkin", "", time.Millisecond, time.Millisecond)
	m.ObserveAutoCheckout("max_session")
	m.ReaderError("desk-a01")
	return m
}

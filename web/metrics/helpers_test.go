package metrics_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pkfreelance/seatgate/web/metrics"
)

// families is one scrape, parsed.
type families map[string]*dto.MetricFamily

// scrape GETs h as Prometheus would and parses the text it serves.
func scrape(t testing.TB, h http.Handler) families {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: status %d, body %q", rec.Code, rec.Body.String())
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// metric finds the sample of name whose labels are exactly labels (name,
// value pairs).
func (f families) metric(name string, labels ...string) (*dto.Metric, bool) {
	fam := f[name]
	if fam == nil {
		return nil, false
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
next:
	for _, m := range fam.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			if lp.GetValue() != "" {
				got[lp.GetName()] = lp.GetValue()
			}
		}
		for k, v := range want {
			if v != "" && got[k] != v {
				continue next
			}
		}
		for k, v := range got {
			if want[k] != v {
				continue next
			}
		}
		return m, true
	}
	return nil, false
}

// value is the value of a counter or gauge sample; the test fails when it
// is not there.
func (f families) value(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	m, ok := f.metric(name, labels...)
	if !ok {
		t.Fatalf("no sample %s%v in the scrape", name, labels)
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	t.Fatalf("%s%v is neither a counter nor a gauge", name, labels)
	return 0
}

// bucket is the cumulative count of histogram name at upper bound le.
func (f families) bucket(t testing.TB, name string, le float64) uint64 {
	t.Helper()
	m, ok := f.metric(name)
	if !ok || m.Histogram == nil {
		t.Fatalf("no histogram %s in the scrape", name)
	}
	for _, b := range m.Histogram.GetBucket() {
		if b.GetUpperBound() == le {
			return b.GetCumulativeCount()
		}
	}
	t.Fatalf("histogram %s has no bucket le=%g", name, le)
	return 0
}

// count is the sample count of histogram name.
func (f families) count(t testing.TB, name string) uint64 {
	t.Helper()
	m, ok := f.metric(name)
	if !ok || m.Histogram == nil {
		t.Fatalf("no histogram %s in the scrape", name)
	}
	return m.Histogram.GetSampleCount()
}

// fakeGateway is the state the gateway's sources read, changed by tests.
type fakeGateway struct {
	mu           sync.Mutex
	readersOK    int
	readers      int
	depth        uint64
	oldest       time.Time
	outboxErr    error
	connected    bool
	revision     int64
	revisionErr  error
	lag          int64
	phase        string
	done, total  int
	clockTrusted bool
	now          time.Time
}

func (f *fakeGateway) set(change func(*fakeGateway)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

func (f *fakeGateway) sources() metrics.Sources {
	lock := func() func() { f.mu.Lock(); return f.mu.Unlock }
	return metrics.Sources{
		Version:   "1.4.2",
		ReaderIDs: []string{"desk-a01", "desk-a02"},
		Readers:   func() (int, int) { defer lock()(); return f.readersOK, f.readers },
		Outbox: func() (uint64, time.Time, error) {
			defer lock()()
			return f.depth, f.oldest, f.outboxErr
		},
		HQConnected: func() bool { defer lock()(); return f.connected },
		Membership:  func() (int64, error) { defer lock()(); return f.revision, f.revisionErr },
		JournalLag:  func() int64 { defer lock()(); return f.lag },
		Update: func() (string, int, int) {
			defer lock()()
			return f.phase, f.done, f.total
		},
		ClockTrusted: func() bool { defer lock()(); return f.clockTrusted },
		Now:          func() time.Time { defer lock()(); return f.now },
	}
}

// logBuffer is a slog.Logger writing to a buffer tests can read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

var errDisk = errors.New("bbolt: input/output error")

// labelsOf lists a family's samples as "k=v,…" strings, for messages.
func labelsOf(fam *dto.MetricFamily) []string {
	var out []string
	for _, m := range fam.GetMetric() {
		var kv []string
		for _, lp := range m.GetLabel() {
			kv = append(kv, fmt.Sprintf("%s=%s", lp.GetName(), lp.GetValue()))
		}
		out = append(out, strings.Join(kv, ","))
	}
	return out
}

package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pkfreelance/seatgate/hq/fleet"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/rollout"
	"github.com/pkfreelance/seatgate/web/metrics/expose"
)

// Sources are what HQ's metrics read at every scrape; each field fits the
// method of the part that owns the value (Ingester.Stats, Tracker.Stats,
// Tracker.Gateways, rollout.Store.List). Every function must be safe to
// call from any goroutine. A nil function leaves its metrics out.
type Sources struct {
	// Version is the build's version (seathq_build_info).
	Version string
	// Ingest gives this instance's ingest counters.
	Ingest func() ingest.Stats
	// Fleet gives this instance's counters of gateway messages.
	Fleet func() fleet.Stats
	// Gateways gives the live state of the gateways of a centre ("" for
	// every centre: the only argument passed).
	Gateways func(centre string) []fleet.Gateway
	// Rollouts lists every rollout. It reads JetStream, so it is given
	// RolloutsTimeout; an error leaves seathq_rollouts out of that scrape
	// and is logged.
	Rollouts func(ctx context.Context) ([]rollout.Status, error)
	// RolloutsTimeout bounds Rollouts (default 5 s).
	RolloutsTimeout time.Duration
	// Now is the clock for the age of the gateways' outboxes (default
	// time.Now).
	Now func() time.Time
	// Logger receives the errors of sources (default: discarded).
	Logger *slog.Logger
}

// HQ holds seathq's metrics and their registry. Its methods are safe for
// concurrent use; Instrument on a nil *HQ returns the handler unchanged.
type HQ struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	handler  http.Handler
}

// New builds HQ's metrics on a registry of their own, with the Go runtime
// and process collectors.
func New(s Sources) *HQ {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.RolloutsTimeout <= 0 {
		s.RolloutsTimeout = 5 * time.Second
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	m := &HQ{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seathq_api_requests_total",
			Help: "API requests finished, by route pattern and HTTP status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "seathq_api_request_duration_seconds",
			Help:    "Duration of API requests, by route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
	}
	m.reg.MustRegister(m.requests, m.duration, newScrape(s))
	m.handler = expose.Handler(m.reg, s.Logger)
	return m
}

// Instrument counts the requests h serves under route — the pattern it is
// registered with, such as "GET /api/v1/gateways/{centre}/{gateway}", never
// a request's own path — by status code, and times them. The handler keeps
// its http.Flusher, so server push still works through it.
func (m *HQ) Instrument(route string, h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	counter := m.requests.MustCurryWith(prometheus.Labels{"route": route})
	duration := m.duration.MustCurryWith(prometheus.Labels{"route": route})
	return promhttp.InstrumentHandlerDuration(duration, promhttp.InstrumentHandlerCounter(counter, h))
}

// Registry is the registry behind Handler, for other parts of HQ to
// register their own collectors on.
func (m *HQ) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus's exposition formats. A source
// that fails leaves its metrics out, is logged, and counts in
// promhttp_metric_handler_errors_total; the rest is still served.
func (m *HQ) Handler() http.Handler { return m.handler }

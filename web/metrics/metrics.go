package metrics

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pkfreelance/seatgate/web/metrics/expose"
)

// LatencyBuckets are the upper bounds, in seconds, of the tap latency
// histograms: 100 µs (a decision without fsync) to 1 s (the desk's
// promise), about 2.5× apart.
var LatencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}

// OutcomeError is the outcome ObserveTap counts for a tap the store could
// not record (with reason ReasonStore): nothing was committed.
const (
	OutcomeError = "error"
	ReasonStore  = "store"
)

// Sources are what the gateway's gauges read at every scrape. Every
// function must be safe to call from any goroutine, and quick: a scrape
// waits for them. A nil function leaves its metrics out.
type Sources struct {
	// Version is the build's version (seatgate_build_info).
	Version string
	// ReaderIDs are the configured readers: their error counters start at
	// 0, so that the first fault shows as an increase.
	ReaderIDs []string
	// Readers counts the readers working now and those configured.
	Readers func() (ok, total int)
	// Outbox gives the events not yet acknowledged by HQ and the time of
	// the oldest (zero when there is none). An error leaves both outbox
	// metrics out of that scrape and is logged.
	Outbox func() (depth uint64, oldest time.Time, err error)
	// HQConnected reports whether the MQTT link to HQ is up; nil on a
	// gateway without an HQ link.
	HQConnected func() bool
	// Membership gives the revision of the membership in force. An error
	// leaves the metric out of that scrape and is logged.
	Membership func() (revision int64, err error)
	// JournalLag gives how many journal revisions the gateway knows exist
	// (it has seen a later entry) but has not applied yet.
	JournalLag func() int64
	// Update gives the firmware update's phase (a firmware/state.Phase;
	// "" is idle; one that is not in state.Phases sets no phase to 1) and,
	// while downloading, chunks done of total; nil without firmware
	// updates.
	Update func() (phase string, done, total int)
	// ClockTrusted reports whether the wall clock is not behind the
	// store's time floor.
	ClockTrusted func() bool
	// Now is the clock for the outbox's age (default time.Now).
	Now func() time.Time
	// Logger receives the errors of sources (default: discarded).
	Logger *slog.Logger
}

// Gateway holds the gateway's metrics and their registry. Its methods are
// safe for concurrent use and do nothing on a nil *Gateway, so code that
// observes may be built without metrics.
type Gateway struct {
	reg          *prometheus.Registry
	log          *slog.Logger
	taps         *prometheus.CounterVec
	autoCheckout *prometheus.CounterVec
	decide       prometheus.Histogram
	commit       prometheus.Histogram
	readerErrors *prometheus.CounterVec
	handler      http.Handler
}

// New builds the gateway's metrics on a registry of their own, with the Go
// runtime and process collectors.
func New(s Sources) *Gateway {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{
		reg: prometheus.NewRegistry(),
		log: s.Logger,
		taps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seatgate_taps_total",
			Help: "Taps decided, by outcome and reason (reason empty for admitted taps; outcome error: not recorded).",
		}, []string{"outcome", "reason"}),
		autoCheckout: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seatgate_auto_checkouts_total",
			Help: "Sessions ended by the automatic check-out sweep, by reason.",
		}, []string{"reason"}),
		decide: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "seatgate_tap_decision_seconds",
			Help:    "Time from a card's read to its tap's decision being committed.",
			Buckets: LatencyBuckets,
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "seatgate_tap_commit_seconds",
			Help:    "Time of the store's write transaction for one tap (decision, event, fsync).",
			Buckets: LatencyBuckets,
		}),
		readerErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seatgate_reader_errors_total",
			Help: "Reader faults, by reader.",
		}, []string{"reader"}),
	}
	for _, id := range s.ReaderIDs {
		g.readerErrors.WithLabelValues(id)
	}
	g.reg.MustRegister(g.taps, g.autoCheckout, g.decide, g.commit, g.readerErrors,
		newScrape(s))
	g.handler = expose.Handler(g.reg, g.log)
	return g
}

// ObserveTap counts one tap with its access.Outcome and access.Reason
// (OutcomeError and ReasonStore when the store failed) and records how
// long it took: decide from the card's read to the committed decision,
// commit the store's transaction alone. A zero duration is not recorded
// (a failed tap has no decision time).
func (g *Gateway) ObserveTap(outcome, reason string, decide, commit time.Duration) {
	if g == nil {
		return
	}
	g.taps.WithLabelValues(outcome, reason).Inc()
	if decide > 0 {
		g.decide.Observe(decide.Seconds())
	}
	if commit > 0 {
		g.commit.Observe(commit.Seconds())
	}
}

// ObserveAutoCheckout counts one session ended by the sweep, by its
// access.Reason.
func (g *Gateway) ObserveAutoCheckout(reason string) {
	if g == nil {
		return
	}
	g.autoCheckout.WithLabelValues(reason).Inc()
}

// ReaderError counts one fault of reader (its configured id).
func (g *Gateway) ReaderError(reader string) {
	if g == nil {
		return
	}
	g.readerErrors.WithLabelValues(reader).Inc()
}

// Registry is the registry behind Handler, for other parts of the gateway
// to register their own collectors on.
func (g *Gateway) Registry() *prometheus.Registry { return g.reg }

// Handler serves the metrics in Prometheus's exposition formats. A source
// that fails leaves its metrics out, is logged, and counts in
// promhttp_metric_handler_errors_total; the rest is still served.
func (g *Gateway) Handler() http.Handler { return g.handler }

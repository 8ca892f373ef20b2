package owner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/web/api"
	"github.com/pkfreelance/seatgate/web/auth"
	"github.com/pkfreelance/seatgate/web/live"
)

// Store is what the dashboard reads from the gateway's database; it only
// reads. *store.Store implements it.
type Store interface {
	Seats() ([]store.SeatState, error)
	Events(after uint64, limit int) ([]store.Event, error)
	LastSeq() (uint64, error)
	View(fn func(snap access.Snapshot, sessions []access.Session) error) error
	PlansEnding(first, last access.Date) ([]store.EndingPlan, error)
	Cards(limit int) ([]access.Card, error)
	Policy() access.Policy
}

// Health reports the gateway's health, as /healthz shows it; the
// gateway daemon implements it.
type Health interface {
	Health() api.HealthReport
}

// Emulator taps a card at an emulated reader and returns once the tap
// path has decided it. Errors are matched with errors.Is against
// api.ErrUnknownReader, api.ErrBadRequest, api.ErrConflict and
// context.DeadlineExceeded. The gateway's emulator (an api.Emulator)
// implements it.
type Emulator interface {
	Tap(ctx context.Context, reader, uid string) (api.TapResult, error)
}

// FirmwareState is the firmware update as the health page shows it.
type FirmwareState struct {
	Phase   string // idle, waiting, downloading, ready, trial, committed, rolled_back, failed
	Version string // the release being installed or last installed; empty when idle
	Detail  string // why the phase was entered, for people
	Done    int    // chunks downloaded
	Total   int    // chunks in the release (0: unknown)
}

// Options wire a Dashboard. Store and DataDir are required.
type Options struct {
	Store Store
	// Health feeds the health page and the readers' faults on the seat
	// map; nil shows neither.
	Health Health
	// Emulator, when the gateway runs emulated readers, adds the tap
	// panel under the seat map. Pass a nil interface, not a nil pointer,
	// when there is none.
	Emulator Emulator
	// Firmware reports the update state; nil when updates are off.
	Firmware func() FirmwareState
	// DataDir holds the password file (PasswordFile).
	DataDir string
	Logger  *slog.Logger
	// Now is the clock for sessions, the login lock and "today";
	// time.Now when nil.
	Now func() time.Time
	// Refresh is how often an open seat map re-reads the readers' state
	// (faults are not events); 2 s when zero.
	Refresh time.Duration
	// TapTimeout bounds an emulated tap; 3 s when zero.
	TapTimeout time.Duration
}

// Dashboard is the centre owner's dashboard. Create with New, serve
// Handler, call Notify after every event the gateway commits and Close
// when the HTTP server shuts down.
type Dashboard struct {
	o        Options
	loc      *time.Location
	log      *slog.Logger
	pages    pageSet
	static   staticFiles
	sessions *auth.Sessions
	limiter  *auth.Limiter
	verify   *auth.Verifier // admits one password hash at a time: each takes 64 MiB
	hub      *live.Hub
	history  history
	handler  http.Handler

	closeOnce sync.Once
	closed    chan struct{}
}

// New builds the dashboard. It reads nothing yet: a missing password file
// only means nobody can log in until `seatgate passwd` has written one.
func New(o Options) (*Dashboard, error) {
	switch {
	case o.Store == nil:
		return nil, errors.New("owner dashboard: Options.Store is required")
	case o.DataDir == "":
		return nil, errors.New("owner dashboard: Options.DataDir is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Refresh <= 0 {
		o.Refresh = 2 * time.Second
	}
	if o.TapTimeout <= 0 {
		o.TapTimeout = 3 * time.Second
	}
	loc := o.Store.Policy().Location
	if loc == nil {
		loc = time.FixedZone("PKT", 5*60*60)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("owner dashboard: %w", err)
	}
	static, err := loadStatic()
	if err != nil {
		return nil, fmt.Errorf("owner dashboard: %w", err)
	}
	d := &Dashboard{
		o: o, loc: loc, log: o.Logger, pages: pages, static: static,
		sessions: newSessions(o.Now),
		limiter:  auth.NewLimiter(o.Now),
		verify:   auth.NewVerifier(1),
		hub:      live.NewHub(maxStreams),
		closed:   make(chan struct{}),
	}
	d.handler = d.routes()
	return d, nil
}

// Handler serves the dashboard: pages at /, /today, /charts, /plans and
// /health, /login and /logout, the live seat map's stream at /events,
// assets under /static/ and JSON under /api/owner/. It does not serve
// /healthz or /api/v1/ (package api does): mount it at "/" beside them.
func (d *Dashboard) Handler() http.Handler { return d.handler }

// Notify tells open seat maps that the event log or occupancy changed;
// they refresh within milliseconds. It never blocks: call it after every
// committed event (and after a membership change, so names follow).
func (d *Dashboard) Notify() { d.hub.Notify() }

// Close ends every open /events stream, which http.Server.Shutdown would
// otherwise wait for: register it with http.Server.RegisterOnShutdown.
// The handler keeps serving pages; new streams end at once.
func (d *Dashboard) Close() { d.closeOnce.Do(func() { close(d.closed) }) }

// RequireSession wraps h so that it answers 401 (JSON) to a request
// without a valid owner session: for JSON endpoints outside this package
// that must not reveal members to anyone on the LAN.
func (d *Dashboard) RequireSession(h http.Handler) http.Handler { return d.data(h.ServeHTTP) }

func (d *Dashboard) now() time.Time { return d.o.Now().In(d.loc) }

func (d *Dashboard) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.page(d.seatsPage))
	mux.HandleFunc("GET /today", d.page(d.todayPage))
	mux.HandleFunc("GET /charts", d.page(d.chartsPage))
	mux.HandleFunc("GET /plans", d.page(d.plansPage))
	mux.HandleFunc("GET /health", d.page(d.healthPage))
	mux.HandleFunc("GET /login", d.loginPage)
	mux.HandleFunc("POST /login", d.login)
	mux.HandleFunc("POST /logout", d.data(d.csrf(d.logout)))
	mux.HandleFunc("GET /lang/{code}", languages.Choose)
	mux.HandleFunc("GET /events", d.data(d.stream))
	mux.HandleFunc("GET /static/{name}", d.static.serve)
	mux.HandleFunc("GET /api/owner/seats", d.data(d.seatsJSON))
	if d.o.Emulator != nil {
		mux.HandleFunc("POST /api/owner/tap", d.data(d.csrf(d.tap)))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "404 page not found", http.StatusNotFound)
	})
	// Cross-origin state changes (a page elsewhere posting a form here)
	// are refused before any handler runs; the session's CSRF token is
	// checked as well.
	return secureHeaders(http.NewCrossOriginProtection().Handler(mux))
}

// secureHeaders sets the headers every answer carries: no framing, no
// sniffing, assets only from this gateway (they are embedded).
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

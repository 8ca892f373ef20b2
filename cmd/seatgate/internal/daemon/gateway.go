package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/cmd/internal/sdnotify"
	"github.com/pkfreelance/seatgate/cmd/seatgate/internal/config"
	"github.com/pkfreelance/seatgate/device/desk"
	"github.com/pkfreelance/seatgate/device/scan"
	"github.com/pkfreelance/seatgate/web/api"
	"github.com/pkfreelance/seatgate/web/metrics"
	"github.com/pkfreelance/seatgate/web/owner"
)

// Options carry what the config file does not say.
type Options struct {
	Version string
	Logger  *slog.Logger
	// Listener, if set, is used instead of listening on cfg.HTTP.Listen
	// (tests and the demo pass one bound to port 0).
	Listener net.Listener
}

// Gateway is one running gateway.
type Gateway struct {
	cfg     *config.Config
	opts    Options
	log     *slog.Logger
	store   *store.Store
	scanner *scan.Scanner
	gate    *gate
	desks   map[string]*desk.Desk
	emu     *emulator
	clock   *wallClock
	hq      *hqLink  // nil without hq.broker
	fw      *updater // nil without firmware.root
	metrics *metrics.Gateway
	dash    *owner.Dashboard
	ln      net.Listener

	exitMu   sync.Mutex
	exitCode int    // set by stopWith
	stop     func() // cancels Run
}

// DBFile is the database's name inside the data directory.
const DBFile = "seatgate.db"

// New opens the store and builds every part; nothing runs until Run.
func New(cfg *config.Config, o Options) (*Gateway, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return nil, fmt.Errorf("timezone %q: %w", cfg.Timezone, err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	policy, err := policyFrom(cfg, loc)
	if err != nil {
		return nil, err
	}
	// A firmware version on trial must not migrate the database: if it
	// is rolled back, the version before it must still read it. (A
	// release that needs a newer schema fails its trial, safely.)
	st, err := store.Open(DBPath(cfg), store.Options{Policy: policy, BuildTime: buildTime(), NoMigrate: onTrial(cfg)})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	g := &Gateway{cfg: cfg, opts: o, log: o.Logger, store: st, desks: map[string]*desk.Desk{},
		clock: &wallClock{}}
	var seats []access.Seat
	for _, r := range cfg.Readers {
		seats = append(seats, access.Seat{ID: r.Seat, Zone: r.Zone, Reader: r.ID})
	}
	if err := st.SetSeats(seats); err != nil {
		st.Close()
		return nil, fmt.Errorf("record seats: %w", err)
	}
	buses, err := g.buildReaders()
	if err != nil {
		st.Close()
		return nil, err
	}
	g.scanner = scan.New(buses, scan.Options{
		Interval: time.Duration(cfg.Policy.ScanInterval),
		Logger:   o.Logger.With("component", "scan"),
	})
	g.gate = &gate{store: st, wall: g.clock.Now, desks: g.desks, log: o.Logger.With("component", "tap")}
	if cfg.HQ.Broker != "" {
		if g.hq, err = newHQLink(g); err != nil {
			st.Close()
			return nil, fmt.Errorf("hq link: %w", err)
		}
		g.hq.health = g.readerHealth
	}
	if g.fw, err = newUpdater(g, loc); err != nil {
		st.Close()
		return nil, fmt.Errorf("firmware: %w", err)
	}
	if g.hq != nil {
		g.hq.fw = g.fw
	}
	g.metrics = g.newMetrics()
	g.gate.metrics = g.metrics
	if g.dash, err = g.newDashboard(); err != nil {
		st.Close()
		return nil, err
	}
	g.gate.onEvent = func(store.Event) {
		if g.hq != nil {
			g.hq.eventLogged()
		}
		g.dash.Notify()
	}
	if g.emu != nil {
		g.emu.gate = g.gate
		g.emu.scanner = g.scanner
		if cfg.Emulator.Clock {
			g.emu.clock = g.clock
		}
	}
	return g, nil
}

func policyFrom(cfg *config.Config, loc *time.Location) (access.Policy, error) {
	cut, err := access.ParseTimeOfDay(cfg.Policy.DailyCutoff)
	if err != nil {
		return access.Policy{}, fmt.Errorf("policy.daily_cutoff: %w", err)
	}
	return access.Policy{
		DailyCutoff: cut,
		MaxSession:  time.Duration(cfg.Policy.MaxSession),
		WarnDays:    cfg.Policy.WarnDays,
		Location:    loc,
	}, nil
}

// Store gives the gateway's store (for the members import command).
func (g *Gateway) Store() *store.Store { return g.store }

// Addr is the HTTP address once Listen has run.
func (g *Gateway) Addr() string {
	if g.ln == nil {
		return ""
	}
	return g.ln.Addr().String()
}

// Listen binds the HTTP listener (so callers can learn the address before Run).
func (g *Gateway) Listen() error {
	if g.ln != nil {
		return nil
	}
	if g.opts.Listener != nil {
		g.ln = g.opts.Listener
		return nil
	}
	ln, err := net.Listen("tcp", g.cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http listen %s: %w", g.cfg.HTTP.Listen, err)
	}
	g.ln = ln
	return nil
}

// Run serves desks and the API until ctx is done, then shuts everything
// down in order and closes the database.
func (g *Gateway) Run(ctx context.Context) error {
	defer g.store.Close()
	// A ping before anything else: after a firmware switch the watchdog's
	// interval has partly run out in the version before.
	sdnotify.Watchdog()
	if err := g.Listen(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g.exitMu.Lock()
	g.stop = cancel
	code := g.exitCode
	g.exitMu.Unlock()
	if code != 0 {
		cancel()
	}

	var apiEmu api.Emulator
	if g.emu != nil {
		apiEmu = g.emu
	}
	// The owner's dashboard at /, the JSON API under /api/v1 (member
	// names: a session, or a client on this machine), /healthz and
	// /metrics for monitoring.
	apiH := api.New(api.Options{Store: g.store, Health: g, Emulator: apiEmu, Logger: g.log.With("component", "api")})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", g.metrics.Handler())
	mux.Handle("/healthz", apiH)
	mux.Handle("/api/v1/", localOr(g.dash.RequireSession(apiH), apiH))
	mux.Handle("/", g.dash.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	events := make(chan scan.Event, 256)
	var wg sync.WaitGroup
	goRun := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	for _, d := range g.desks {
		goRun(func() { _ = d.Run(ctx) })
	}
	goRun(func() { _ = g.scanner.Run(ctx, events) })
	goRun(func() { g.gate.run(ctx, events) })
	goRun(func() { g.gate.autoCheckout(ctx, 15*time.Second) })
	if g.hq != nil {
		g.hq.run(ctx, &wg)
	}
	if g.fw != nil {
		goRun(func() { _ = g.fw.agent.Run(ctx) })
		if addr := g.cfg.Firmware.Serve; addr != "" {
			goRun(func() {
				if err := g.fw.serveChunks(ctx, addr); err != nil {
					g.log.Error("firmware chunk server", "err", err)
				}
			})
		}
	}

	srv.RegisterOnShutdown(g.dash.Close)
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(g.ln) }()
	g.log.Info("gateway running", "centre", g.cfg.Centre, "gateway", g.cfg.Gateway,
		"http", g.ln.Addr().String(), "readers", len(g.cfg.Readers))
	// systemd (Type=notify): ready now; the watchdog is pinged while the
	// database answers (a broken reader or a lost uplink is no reason to
	// restart the desks that work).
	if err := sdnotify.Ready(); err != nil {
		g.log.Warn("systemd notify", "err", err)
	}
	goRun(func() {
		sdnotify.RunWatchdog(ctx, func() bool { _, err := g.store.LastSeq(); return err == nil })
	})

	var err error
	select {
	case <-ctx.Done():
	case err = <-srvErr:
		err = fmt.Errorf("http server: %w", err)
	}
	g.exitMu.Lock()
	switching := g.exitCode != 0
	g.exitMu.Unlock()
	if !switching {
		// Not for a stop for the supervisor (a firmware switch or a
		// rollback): STOPPING=1 would make systemd stop the whole unit.
		sdnotify.Stopping()
	}
	shutCtx, shutCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer shutCancel()
	if serr := srv.Shutdown(shutCtx); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		g.log.Warn("http shutdown", "err", serr)
	}
	cancel()
	wg.Wait()
	g.log.Info("gateway stopped")
	g.exitMu.Lock()
	code = g.exitCode
	g.exitMu.Unlock()
	if err == nil && code != 0 {
		err = &ExitError{Code: code}
	}
	return err
}

// Health implements api.Health.
func (g *Gateway) Health() api.HealthReport {
	now, trusted := g.store.Now(g.clock.Now())
	rep := api.HealthReport{Status: "ok", Centre: g.cfg.Centre, Gateway: g.cfg.Gateway,
		Version: g.opts.Version, Now: now, ClockTrusted: trusted, Database: "ok"}
	seq, err := g.store.LastSeq()
	if err != nil {
		rep.Status, rep.Database = "failing", err.Error()
	}
	rep.LastSeq = seq
	readers := g.scanner.Status()
	rep.Readers = readers
	if o, err := g.store.Outbox(); err == nil {
		rep.Outbox = o
	}
	diskAlarm := false
	if g.hq != nil {
		st := g.hq.status()
		rep.HQ, diskAlarm = st, st.DiskAlarm != ""
	}
	if rep.Status == "ok" {
		for _, r := range readers {
			if !r.OK {
				rep.Status = "degraded"
			}
		}
		if !trusted || diskAlarm {
			rep.Status = "degraded"
		}
	}
	return rep
}

// newDashboard builds the owner's dashboard (web/owner).
func (g *Gateway) newDashboard() (*owner.Dashboard, error) {
	o := owner.Options{Store: g.store, Health: g, DataDir: g.cfg.DataDir, Logger: g.log.With("component", "owner"),
		Now: g.clock.Now}
	if g.emu != nil {
		o.Emulator = g.emu
	}
	if g.fw != nil {
		o.Firmware = func() owner.FirmwareState {
			s, p := g.fw.agent.Status()
			fs := owner.FirmwareState{Phase: string(s.Phase), Version: s.Version, Detail: g.fw.detail(s), Done: s.Done, Total: s.Total}
			if p.Total > 0 {
				fs.Done, fs.Total = p.Done, p.Total
			}
			return fs
		}
	}
	d, err := owner.New(o)
	if err != nil {
		return nil, fmt.Errorf("owner dashboard: %w", err)
	}
	return d, nil
}

// localOr serves a request from this machine (loopback) with open, any
// other with guarded.
func localOr(guarded, open http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
				open.ServeHTTP(w, r)
				return
			}
		}
		guarded.ServeHTTP(w, r)
	})
}

// newMetrics builds the Prometheus metrics (GET /metrics): gauges read
// the store, the readers, the HQ link and the update at scrape time.
func (g *Gateway) newMetrics() *metrics.Gateway {
	src := metrics.Sources{Version: g.opts.Version, Logger: g.log.With("component", "metrics"),
		Readers: func() (int, int) { ok, total, _ := g.readerHealth(); return ok, total },
		Outbox: func() (uint64, time.Time, error) {
			o, err := g.store.Outbox()
			return o.Depth, o.OldestUndelivered, err
		},
		Membership:   func() (int64, error) { i, err := g.store.MembershipInfo(); return i.Revision, err },
		ClockTrusted: func() bool { _, t := g.store.Now(g.clock.Now()); return t },
	}
	for _, r := range g.cfg.Readers {
		src.ReaderIDs = append(src.ReaderIDs, r.ID)
	}
	if g.hq != nil {
		src.HQConnected = func() bool { return g.hq.link.State().Connected }
		src.JournalLag = func() int64 {
			info, err := g.store.MembershipInfo()
			if n := g.hq.journal.Newest(); err == nil && n > info.Revision {
				return n - info.Revision
			}
			return 0
		}
	}
	if g.fw != nil {
		src.Update = func() (string, int, int) {
			if h := g.fw.health(); h != nil {
				return h.Phase, h.Done, h.Total
			}
			return "", 0, 0
		}
	}
	return metrics.New(src)
}

// readerHealth counts working readers and says whether the clock is trusted.
func (g *Gateway) readerHealth() (ok, total int, trusted bool) {
	for _, r := range g.scanner.Status() {
		total++
		if r.OK {
			ok++
		}
	}
	_, trusted = g.store.Now(g.clock.Now())
	return ok, total, trusted
}

// wallClock is the gateway's wall clock; the emulator may shift it.
type wallClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *wallClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *wallClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = time.Until(t)
}

// DBPath is where the gateway's database lives for cfg.
func DBPath(cfg *config.Config) string { return filepath.Join(cfg.DataDir, DBFile) }

// buildTime is the commit time stamped into the binary by the Go
// toolchain, if any: a clock reading earlier than that is certainly wrong,
// so it seeds the store's clock floor on a Pi that boots with no RTC.
func buildTime() time.Time {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return time.Time{}
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.time" {
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

package daemon

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/cmd/seatgate/internal/config"
	"github.com/pkfreelance/seatgate/firmware/agent"
	"github.com/pkfreelance/seatgate/firmware/fetch"
	"github.com/pkfreelance/seatgate/firmware/image"
	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/slots"
	"github.com/pkfreelance/seatgate/firmware/state"
	"github.com/pkfreelance/seatgate/firmware/tryboot"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// FirmwareDir is where the update state and the A/B slots live inside the
// data directory.
const FirmwareDir = "firmware"

// Fault is a failure built into a test release at link time
// (-X .../daemon.fault=crash-at-start|fail-health), so that the end-to-end
// tests can prove the rollbacks with real binaries. Empty in every real
// build.
var fault string

// ExitError is what Run returns when the gateway stops for the
// supervisor: Code is the exit status to stop with.
type ExitError struct{ Code int }

func (e *ExitError) Error() string {
	switch e.Code {
	case agent.ExitUpdate:
		return "stopping to switch to a new firmware version"
	case agent.ExitRollback:
		return "the firmware on trial failed its health check; stopping for the rollback"
	}
	return fmt.Sprintf("stopping with status %d", e.Code)
}

// updater is the firmware side of a gateway: the agent and, for peers,
// the chunk server.
type updater struct {
	agent *agent.Agent
	state *state.File
	paths func(slot string) (target, bitmap string) // where a slot's artifact and bitmap are
	loc   *time.Location
	hqKey ed25519.PublicKey

	channel, hardware string // for the birth message
	// fallback, when set, says why this is the factory binary standing
	// in for a committed version that fails (slots.EnvFallback).
	fallback string
}

// newUpdater builds the agent when firmware.root is set. A backend that
// cannot start turns updates off (logged); the desks are served anyway.
func newUpdater(g *Gateway, loc *time.Location) (*updater, error) {
	fc := g.cfg.Firmware
	if fc.Root == "" {
		return nil, nil
	}
	dir := filepath.Join(g.cfg.DataDir, FirmwareDir)
	u := &updater{loc: loc, channel: fc.Channel, hardware: fc.Hardware}
	var (
		backend agent.Backend
		trial   bool
		product = release.ProductBinary
		exit    = g.stopWith
	)
	switch fc.Backend {
	case config.BackendTryboot:
		ib, err := image.Open(image.Config{Dir: dir, Logger: g.log.With("component", "firmware"),
			Tryboot: tryboot.Config{BootDir: fc.Tryboot.BootDir, DeviceTree: fc.Tryboot.DeviceTree,
				Partitions: fc.Tryboot.Partitions, Reboot: tryboot.SystemReboot}})
		if err != nil {
			g.log.Error("firmware updates are off: the tryboot backend cannot start", "err", err)
			return nil, nil
		}
		if trial, err = ib.Reconcile(time.Now()); err != nil {
			g.log.Error("firmware: reconciling the boot with the update state", "err", err)
		}
		backend, product, u.state = ib, release.ProductImage, ib.State()
		u.paths = func(slot string) (string, string) {
			n, _ := strconv.Atoi(slot)
			return fc.Tryboot.Partitions[n], filepath.Join(dir, "image.bitmap")
		}
		exit = func(code int) {
			if code == agent.ExitRollback {
				if err := ib.Rollback(time.Now(), ""); err != nil {
					g.log.Error("firmware: rollback", "err", err)
				}
			}
			// ExitUpdate: RequestTrial has asked for the tryboot reboot.
			g.stopWith(code)
		}
	default:
		if os.Getenv(slots.EnvSlot) == "" {
			// Switching needs the supervisor: without it a stop for the
			// switch would only restart this same binary.
			g.log.Warn("firmware updates are off: the gateway does not run under 'seatgate supervise' (deploy/systemd/seatgate.service)")
			return nil, nil
		}
		sl, err := slots.Open(dir)
		if err != nil {
			return nil, err
		}
		backend, u.state, u.paths = sl, sl.State(), sl.Paths
		trial = os.Getenv(slots.EnvTrial) == "1"
		if u.fallback = os.Getenv(slots.EnvFallback); u.fallback != "" {
			g.log.Error("firmware: the factory binary runs in place of the committed version; the next release installed ends this",
				"reason", u.fallback)
		}
	}
	if fault == "crash-at-start" && trial {
		return nil, errors.New("fault injected at link time: crash at start")
	}
	if g.cfg.HQ.HQKey != "" {
		if b, err := base64.StdEncoding.DecodeString(g.cfg.HQ.HQKey); err == nil && len(b) == ed25519.PublicKeySize {
			u.hqKey = b
		}
	}
	client := &http.Client{} // firmware/fetch bounds each chunk request (ChunkTimeout)
	if g.cfg.HQ.CA != "" {
		caPEM, err := os.ReadFile(g.cfg.HQ.CA)
		if err != nil {
			return nil, fmt.Errorf("hq.ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("hq.ca %s: no PEM certificate in it", g.cfg.HQ.CA)
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			Proxy: http.ProxyFromEnvironment, DialContext: (&net.Dialer{Timeout: 15 * time.Second}).DialContext,
			TLSHandshakeTimeout: 15 * time.Second, ResponseHeaderTimeout: 30 * time.Second}
	}
	fo := fetch.Options{Client: client, StartJitter: time.Duration(fc.StartJitter), Logger: g.log.With("component", "firmware")}
	if fc.RateKBps > 0 {
		fo.RateLimit = int64(fc.RateKBps) << 10
	}
	if fc.Window != "" {
		start, end, err := wire.ParseWindow(fc.Window)
		if err != nil {
			return nil, fmt.Errorf("firmware.window: %w", err)
		}
		fo.Window = windowFunc(start, end, loc)
	}
	var dbCheck error
	if trial {
		// The database must be consistent for the new version to commit.
		dbCheck = g.store.Check()
	}
	a, err := agent.New(agent.Config{
		State:    u.state,
		Backend:  backend,
		RootFile: fc.Root,
		Target: release.Target{Product: product, Arch: Arch(), Channel: fc.Channel,
			Hardware: fc.Hardware, Running: g.opts.Version},
		Fetch: fo,
		Peers: fc.Peers,
		Trial: trial,
		// Trial health: the database consistent, and at least the desks
		// that answered before the switch answering now.
		Health: func(s state.State) error {
			if fault == "fail-health" {
				return errors.New("fault injected at link time: health fails")
			}
			if dbCheck != nil {
				return fmt.Errorf("database: %w", dbCheck)
			}
			ok, total, _ := g.readerHealth()
			if ok < s.ReadersOK {
				return fmt.Errorf("%d of %d readers answering, %d did before the switch", ok, total, s.ReadersOK)
			}
			return nil
		},
		ReadersOK: func() int { ok, _, _ := g.readerHealth(); return ok },
		InWindow: func(w string, t time.Time) bool {
			start, end, err := wire.ParseWindow(w)
			return err != nil || wire.InWindow(t.In(loc), start, end) // "" (no window): any time
		},
		Dwell:       time.Duration(fc.Dwell),
		HealthEvery: min(5*time.Second, time.Duration(fc.Dwell)/10),
		FailAfter:   min(time.Minute, time.Duration(fc.Dwell)/2),
		Exit:        exit,
		Log:         &firmwareLog{Store: g.store, g: g},
		Logger:      g.log,
	})
	if err != nil {
		return nil, err
	}
	u.agent = a
	return u, nil
}

// onTrial reports whether this start is a firmware version on trial.
func onTrial(cfg *config.Config) bool {
	if cfg.Firmware.Root == "" {
		return false
	}
	if cfg.Firmware.Backend == config.BackendTryboot {
		tb, err := tryboot.New(tryboot.Config{BootDir: cfg.Firmware.Tryboot.BootDir, DeviceTree: cfg.Firmware.Tryboot.DeviceTree,
			Partitions: cfg.Firmware.Tryboot.Partitions, Reboot: tryboot.SystemReboot})
		if err != nil {
			return false
		}
		trying, err := tb.Trying()
		return err == nil && trying
	}
	return os.Getenv(slots.EnvTrial) == "1"
}

// Arch is this build's architecture as manifests name it: "linux/arm64",
// "linux/arm/7", "linux/amd64".
func Arch() string {
	a := runtime.GOOS + "/" + runtime.GOARCH
	if runtime.GOARCH == "arm" {
		a += "/7"
	}
	return a
}

func windowFunc(start, end int, loc *time.Location) func(time.Time) (bool, time.Time) {
	return func(now time.Time) (bool, time.Time) {
		l := now.In(loc)
		if wire.InWindow(l, start, end) {
			return true, now
		}
		next := time.Date(l.Year(), l.Month(), l.Day(), start/60, start%60, 0, 0, loc)
		if !next.After(l) {
			next = next.AddDate(0, 0, 1)
		}
		return false, next
	}
}

// firmwareLog logs firmware steps into the event log and wakes the outbox.
type firmwareLog struct {
	*store.Store
	g *Gateway
}

func (l *firmwareLog) LogFirmware(r store.FirmwareReport, wall time.Time) (store.Event, error) {
	ev, err := l.Store.LogFirmware(r, wall)
	if err == nil && l.g.hq != nil {
		l.g.hq.eventLogged()
	}
	return ev, err
}

// handleAssign takes a FirmwareAssign from the downlink.
func (u *updater) handleAssign(t wire.Topics, payload []byte) error {
	m, err := wire.DecodeFirmwareAssign(payload)
	if err != nil {
		return err
	}
	if err := wire.Verify(u.hqKey, &m); err != nil {
		return err
	}
	if m.Centre != t.Centre || m.Gateway != t.Gateway {
		return fmt.Errorf("firmware assignment for %s/%s, not this gateway", m.Centre, m.Gateway)
	}
	// A replayed assignment (the broker is not trusted) is refused when
	// stale: HQ re-sends live assignments hourly.
	if age := time.Since(m.Issued); age > MaxAssignmentAge {
		return fmt.Errorf("firmware assignment of rollout %s issued %v ago: stale (replayed?), ignored", m.Rollout, age.Round(time.Second))
	}
	u.agent.Assign(agent.Assignment{Rollout: m.Rollout, Manifest: m.Manifest, Roots: m.Roots, URLs: m.URLs, Window: m.Window})
	return nil
}

// MaxAssignmentAge is the oldest FirmwareAssign a gateway acts on (HQ
// re-sends an assignment not acted on every hour).
const MaxAssignmentAge = 3 * time.Hour

// health is the update part of the health message.
func (u *updater) health() *wire.UpdateHealth {
	s, p := u.agent.Status()
	if s.Phase == state.Idle && s.Version == "" && u.fallback == "" {
		return nil
	}
	h := &wire.UpdateHealth{Phase: string(s.Phase), Version: s.Version, Rollout: s.Rollout, Detail: u.detail(s),
		Done: s.Done, Total: s.Total}
	if s.Phase == state.Downloading && p.Total > 0 {
		h.Done, h.Total = p.Done, p.Total
	}
	if h.Done > h.Total {
		h.Done = h.Total
	}
	if len(h.Detail) > 200 {
		h.Detail = h.Detail[:200]
	}
	return h
}

// detail is why s's phase was entered or, while no update is under way,
// why the factory binary runs, when it does: what HQ and the owner see.
func (u *updater) detail(s state.State) string {
	if u.fallback != "" && s.Phase.Final() {
		return "factory binary running: " + u.fallback
	}
	return s.Detail
}

// serveChunks serves the chunks this gateway holds to its peers on addr
// until ctx is done.
func (u *updater) serveChunks(ctx context.Context, addr string) error {
	h := fetch.NewServer(func(sha string) (release.Manifest, string, string, bool) {
		s, err := u.state.Load()
		if err != nil || s.SHA256 != sha || s.Slot == "" {
			return release.Manifest{}, "", "", false
		}
		m, err := release.ParseManifest(s.Manifest)
		if err != nil {
			return release.Manifest{}, "", "", false
		}
		target, bitmap := u.paths(s.Slot)
		return m, target, bitmap, true
	})
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("firmware.serve %s: %w", addr, err)
	}
	return nil
}

// stopWith stops Run with an exit code for the supervisor.
func (g *Gateway) stopWith(code int) {
	g.exitMu.Lock()
	defer g.exitMu.Unlock()
	if g.exitCode == 0 {
		g.exitCode = code
	}
	if g.stop != nil {
		g.stop()
	}
}

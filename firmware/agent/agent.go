// Package agent is the update agent inside a running gateway. It takes an
// assignment from HQ (already checked against HQ's key by the caller),
// verifies the signed manifest against the root of trust, downloads the
// artifact into the inactive slot, hands over to the supervisor for the
// trial, and — when it is itself the trial version — watches local health
// for the dwell time and commits, or asks for a rollback. Every step is
// persisted in the state file (firmware/state) before it takes effect and
// logged into the event log (the outbox) exactly once, so that HQ learns
// of it whenever the link allows.
//
// HQ need not be reachable at any point after the download: the trial and
// the commit are local decisions.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/firmware/fetch"
	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/state"
)

// Backend installs a release: firmware/slots (A/B binary slots under a
// supervisor) implements it.
type Backend interface {
	// Prepare returns where the artifact goes (the inactive slot) and the
	// download bitmap's path; it never returns what is running.
	Prepare(m release.Manifest) (target, bitmap string, err error)
	// RequestTrial marks the verified artifact ready for the trial.
	RequestTrial(now time.Time) error
	// Commit makes the trial version the known-good one.
	Commit(now time.Time) error
}

// Log is where the agent reports: the gateway's event log (*store.Store).
type Log interface {
	FirmwareReported() (uint64, error)
	LogFirmware(r store.FirmwareReport, wall time.Time) (store.Event, error)
}

// Assignment is HQ's instruction, as the caller received it and checked
// its signature (wire.FirmwareAssign).
type Assignment struct {
	Rollout  string
	Manifest []byte   // the signed manifest envelope
	Roots    [][]byte // newer root metadata, in order
	URLs     []string // the artifact at HQ
	// Window is when the switch to the new version may happen
	// ("02:00-05:00" in the centre's local time; empty: any time); see
	// Config.InWindow.
	Window string
}

// Exit codes the agent asks the daemon to stop with (firmware/slots
// defines the same numbers for the supervisor).
const (
	ExitUpdate   = 75 // the artifact is ready: stop so that the supervisor starts the trial
	ExitRollback = 76 // the trial's health failed: stop so that the supervisor rolls back
)

// Config configures an Agent.
type Config struct {
	State   *state.File
	Backend Backend
	// RootFile is the shipped root metadata (version 1 or later); newer
	// verified roots are kept in State's directory under roots/.
	RootFile string
	// Target says what this gateway runs: product, arch, channel,
	// hardware and running version. Floor and Refused come from the state.
	Target release.Target
	// Fetch carries the HTTP client (HQ's CA pinned), bandwidth cap,
	// download window, jitter and backoffs. Sources is set per download:
	// Peers first, then the assignment's URLs.
	Fetch fetch.Options
	// Peers are LAN gateways of the same centre serving their chunks
	// ("https://10.0.0.12:8443"); untrusted mirrors.
	Peers []string
	// Trial says whether this process is the trial version (the
	// supervisor's SEATGATE_TRIAL=1 and the state in phase Trial).
	Trial bool
	// Health is the local health check of the trial, given the state
	// (ReadersOK: readers that answered before the switch): nil when
	// healthy.
	Health func(s state.State) error
	// ReadersOK counts the desk readers answering now; recorded when the
	// switch is requested (nil: 0).
	ReadersOK func() int
	// InWindow reports whether t falls in an assignment's window (nil:
	// every window is always open).
	InWindow func(window string, t time.Time) bool
	// Dwell is how long health must hold before the trial commits
	// (default 5 min); HealthEvery how often it is checked (default 5 s);
	// FailAfter how long it may fail in a row before the trial gives up
	// (default 1 min).
	Dwell, HealthEvery, FailAfter time.Duration
	// Exit asks the daemon to stop with a code (ExitUpdate, ExitRollback).
	Exit   func(code int)
	Log    Log
	Now    func() time.Time
	Logger *slog.Logger
}

// Agent is the update agent of one gateway.
type Agent struct {
	c     Config
	trust *release.Trust
	log   *slog.Logger

	assign chan Assignment
	wake   chan struct{} // the state changed: report it

	mu       sync.Mutex
	progress Progress
	cancel   context.CancelFunc // of the download in progress
	done     chan struct{}      // closed when that download has returned
}

// Progress is the download in progress, for health reports and pages.
type Progress struct {
	Done, Total int
	Waiting     string
	Source      string
}

// New loads the root of trust (the shipped root, then every newer root
// kept in the state directory, in order) and returns an agent.
func New(c Config) (*Agent, error) {
	if c.State == nil || c.Backend == nil || c.Log == nil || c.Exit == nil {
		return nil, errors.New("firmware agent: State, Backend, Log and Exit are required")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Dwell <= 0 {
		c.Dwell = 5 * time.Minute
	}
	if c.HealthEvery <= 0 {
		c.HealthEvery = 5 * time.Second
	}
	if c.FailAfter <= 0 {
		c.FailAfter = time.Minute
	}
	if c.Health == nil {
		c.Health = func(state.State) error { return nil }
	}
	if c.ReadersOK == nil {
		c.ReadersOK = func() int { return 0 }
	}
	if c.InWindow == nil {
		c.InWindow = func(string, time.Time) bool { return true }
	}
	b, err := os.ReadFile(c.RootFile)
	if err != nil {
		return nil, fmt.Errorf("firmware agent: root of trust: %w", err)
	}
	trust, err := release.NewTrust(b)
	if err != nil {
		return nil, fmt.Errorf("firmware agent: root of trust %s: %w", c.RootFile, err)
	}
	a := &Agent{c: c, trust: trust, log: c.Logger.With("component", "firmware"),
		assign: make(chan Assignment, 1), wake: make(chan struct{}, 1)}
	if err := a.loadRoots(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Agent) rootsDir() string { return filepath.Join(a.c.State.Dir(), "roots") }

// loadRoots applies the roots kept from earlier assignments, in version
// order. A damaged one is skipped (the next assignment brings it again).
func (a *Agent) loadRoots() error {
	ents, err := os.ReadDir(a.rootsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("firmware agent: %w", err)
	}
	var vs []int
	for _, e := range ents {
		if v, err := strconv.Atoi(strings.TrimSuffix(e.Name(), ".json")); err == nil && strings.HasSuffix(e.Name(), ".json") {
			vs = append(vs, v)
		}
	}
	sort.Ints(vs)
	for _, v := range vs {
		b, err := os.ReadFile(filepath.Join(a.rootsDir(), strconv.Itoa(v)+".json"))
		if err == nil {
			err = a.trust.Update(b)
		}
		if err != nil && !errors.Is(err, release.ErrRootVersion) {
			a.log.Warn("firmware: kept root metadata not applied", "version", v, "err", err)
		}
	}
	return nil
}

// Assign hands an assignment to the agent; it never blocks (a newer
// assignment replaces one not yet taken).
func (a *Agent) Assign(x Assignment) {
	for {
		select {
		case a.assign <- x:
			return
		default:
		}
		select {
		case <-a.assign:
		default:
		}
	}
}

// Status returns the state document and the download's progress.
func (a *Agent) Status() (state.State, Progress) {
	s, _ := a.c.State.Load()
	a.mu.Lock()
	defer a.mu.Unlock()
	return s, a.progress
}

// Run reports what happened while the agent was not running, resumes an
// interrupted download, runs the trial when this is the trial version, and
// then takes assignments until ctx is done.
func (a *Agent) Run(ctx context.Context) error {
	a.report()
	s, err := a.c.State.Load()
	if err != nil {
		a.log.Error("firmware: state unreadable; updates stopped until it is repaired", "err", err)
		<-ctx.Done()
		return nil
	}
	switch {
	case s.Phase == state.Trial && a.c.Trial:
		go a.trial(ctx, s)
	case s.Phase == state.Waiting || s.Phase == state.Downloading:
		if m, err := a.trust.VerifyManifest(s.Manifest, a.c.Now()); err == nil {
			a.startDownload(ctx, Assignment{Rollout: s.Rollout, Manifest: s.Manifest, URLs: s.URLs, Window: s.Window}, m)
		} else {
			a.fail(s.SHA256, s.Version, s.Rollout, fmt.Sprintf("resume: manifest no longer verifies: %v", err))
		}
	}
	// (Phase Ready at a start is the supervisor's to act on: it starts
	// the trial whenever it finds Ready.)
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			a.stopDownload()
			return nil
		case x := <-a.assign:
			a.handle(ctx, x)
		case <-a.wake:
			a.report()
		case <-tick.C:
			a.report()
		}
	}
}

// handle acts on one assignment.
func (a *Agent) handle(ctx context.Context, x Assignment) {
	now := a.c.Now()
	for _, r := range x.Roots {
		if err := a.updateRoot(r); err != nil {
			a.log.Warn("firmware: root metadata from HQ not applied", "err", err)
		}
	}
	s, err := a.c.State.Load()
	if err != nil {
		a.log.Error("firmware: state unreadable", "err", err)
		return
	}
	if s.Phase == state.Trial || s.Phase == state.Ready {
		a.log.Info("firmware: assignment ignored during a switch or trial", "rollout", x.Rollout)
		return
	}
	m, err := a.trust.VerifyManifest(x.Manifest, now)
	if err != nil {
		a.refuse(s, x, "", fmt.Sprintf("manifest refused: %v", err))
		return
	}
	switch {
	case s.SHA256 == m.SHA256 && !s.Phase.Final():
		return // already on it
	case s.SHA256 == m.SHA256 && s.Phase == state.Committed:
		return // done
	}
	tg := a.c.Target
	tg.Floor, tg.Refused = s.Floor, s.Refused
	if err := tg.Check(m); err != nil {
		a.refuse(s, x, m.Version, fmt.Sprintf("release %s refused: %v", m.Version, err))
		return
	}
	a.stopDownload()
	_, err = a.c.State.Update(func(st *state.State) error {
		if st.Phase == state.Trial || st.Phase == state.Ready {
			return errStale // the old download finished meanwhile
		}
		st.Rollout, st.Manifest, st.Version, st.SHA256, st.From = x.Rollout, x.Manifest, m.Version, m.SHA256, a.c.Target.Running
		st.URLs, st.Window = x.URLs, x.Window
		st.Slot, st.Attempts, st.ReArms, st.BootID, st.Done, st.Total = "", 0, 0, "", 0, m.NumChunks()
		st.Enter(now, state.Waiting, "assigned by rollout "+x.Rollout)
		return nil
	})
	if err != nil {
		a.log.Error("firmware: assignment not recorded", "rollout", x.Rollout, "err", err)
		return
	}
	a.poke()
	a.startDownload(ctx, x, m)
}

// refuse records a refused assignment as Failed, once per rollout and
// reason (HQ re-sends assignments). While another release is on its way
// (waiting, downloading) the refusal is only logged: the state belongs to
// that release.
func (a *Agent) refuse(s state.State, x Assignment, version, detail string) {
	detail = truncate(detail, 200)
	a.log.Warn("firmware: assignment refused", "rollout", x.Rollout, "reason", detail)
	if s.Phase == state.Failed && s.Rollout == x.Rollout && s.Detail == detail || !s.Phase.Final() {
		return
	}
	a.fail("", version, x.Rollout, detail)
}

// fail records Failed. With sha set, only if the state is still about
// that artifact (a download cancelled by a newer assignment fails quietly).
func (a *Agent) fail(sha, version, rollout, detail string) {
	_, err := a.c.State.Update(func(st *state.State) error {
		if sha != "" && st.SHA256 != sha {
			return errStale
		}
		if version != "" {
			st.Version = version
		}
		st.Rollout = rollout
		st.Enter(a.c.Now(), state.Failed, truncate(detail, 200))
		return nil
	})
	if errors.Is(err, errStale) {
		return
	}
	if err != nil {
		a.log.Error("firmware: cannot record a failure", "err", err)
	}
	a.poke()
}

// updateRoot applies a root from HQ and keeps it for the next start.
func (a *Agent) updateRoot(b []byte) error {
	r, err := release.ParseRoot(b)
	if err != nil {
		return err
	}
	if r.Version <= a.trust.Root().Version {
		return nil
	}
	if err := a.trust.Update(b); err != nil {
		return err
	}
	if err := os.MkdirAll(a.rootsDir(), 0o750); err != nil {
		return err
	}
	return state.WriteFileAtomic(filepath.Join(a.rootsDir(), strconv.FormatUint(r.Version, 10)+".json"), b, 0o640)
}

// startDownload runs the download of m in the background.
func (a *Agent) startDownload(ctx context.Context, x Assignment, m release.Manifest) {
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	a.mu.Lock()
	a.cancel, a.done = cancel, done
	a.progress = Progress{Total: m.NumChunks()}
	a.mu.Unlock()
	go func() {
		defer close(done)
		defer cancel()
		a.download(dctx, x, m)
	}()
}

// stopDownload cancels the download in progress and waits until it has
// returned, so that two downloads never share the slot.
func (a *Agent) stopDownload() {
	a.mu.Lock()
	c, done := a.cancel, a.done
	a.cancel, a.done = nil, nil
	a.mu.Unlock()
	if c != nil {
		c()
		<-done
	}
}

// download fetches, verifies and hands over for the trial.
func (a *Agent) download(ctx context.Context, x Assignment, m release.Manifest) {
	target, bitmap, err := a.c.Backend.Prepare(m)
	if err != nil {
		a.fail(m.SHA256, m.Version, x.Rollout, fmt.Sprintf("cannot prepare the slot: %v", err))
		return
	}
	o := a.c.Fetch
	o.Sources = nil
	for i, p := range a.c.Peers {
		o.Sources = append(o.Sources, fetch.Source{Name: fmt.Sprintf("peer %d", i+1), URL: strings.TrimSuffix(p, "/") + fetch.ArtifactPath(m.SHA256)})
	}
	for i, u := range x.URLs {
		o.Sources = append(o.Sources, fetch.Source{Name: "hq " + hostOf(u, i), URL: u})
	}
	lastQuarter, lastWaiting := -1, ""
	o.Progress = func(p fetch.Progress) {
		a.mu.Lock()
		a.progress = Progress{Done: p.Done, Total: p.Total, Waiting: p.Waiting, Source: p.Source}
		a.mu.Unlock()
		// History: entering a wait, and every quarter of the download.
		q := 0
		if p.Total > 0 {
			q = p.Done * 4 / p.Total
		}
		phase, detail := state.Downloading, fmt.Sprintf("downloading %d/%d chunks", p.Done, p.Total)
		switch {
		case p.Waiting == "window" && lastWaiting != "window":
			// (Backoffs show in health reports only: on a flaky link they
			// would fill the history and the outbox.)
			phase, detail = state.Waiting, "waiting for "+p.Waiting
			if !p.Until.IsZero() {
				detail += " until " + p.Until.Format(time.RFC3339)
			}
		case p.Waiting == "" && (q != lastQuarter || lastWaiting != ""):
			lastQuarter = q
		default:
			lastWaiting = p.Waiting
			return
		}
		lastWaiting = p.Waiting
		if _, err := a.c.State.Update(func(st *state.State) error {
			if st.SHA256 != m.SHA256 {
				return errStale
			}
			st.Done, st.Total = p.Done, p.Total
			st.Enter(a.c.Now(), phase, detail)
			return nil
		}); err == nil {
			a.poke()
		}
	}
	stats, err := fetch.Download(ctx, m, target, bitmap, o)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		a.fail(m.SHA256, m.Version, x.Rollout, fmt.Sprintf("download failed: %v", err))
		return
	}
	a.log.Info("firmware: artifact complete and verified", "version", m.Version,
		"fetched_bytes", stats.Fetched, "resumed_chunks", stats.Resumed, "rejected", stats.Rejected)
	// The switch waits for the install window.
	for !a.c.InWindow(x.Window, a.c.Now()) {
		a.note(m, state.Waiting, "waiting for the install window")
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Minute):
		}
	}
	if ctx.Err() != nil {
		return
	}
	if _, err := a.c.State.Update(func(st *state.State) error {
		if st.SHA256 != m.SHA256 {
			return errStale
		}
		st.Done, st.ReadersOK = st.Total, a.c.ReadersOK()
		return nil
	}); err != nil {
		return
	}
	if err := a.c.Backend.RequestTrial(a.c.Now()); err != nil {
		a.fail(m.SHA256, m.Version, x.Rollout, fmt.Sprintf("cannot start the trial: %v", err))
		return
	}
	a.report()
	a.log.Info("firmware: stopping for the switch to the new version", "version", m.Version)
	a.c.Exit(ExitUpdate)
}

var errStale = errors.New("the state is about another release")

// note records a history entry unless it repeats the last one.
func (a *Agent) note(m release.Manifest, phase state.Phase, detail string) {
	if _, err := a.c.State.Update(func(st *state.State) error {
		if st.SHA256 != m.SHA256 {
			return errStale
		}
		if st.Phase == phase && st.Detail == detail {
			return nil
		}
		st.Enter(a.c.Now(), phase, detail)
		return nil
	}); err == nil {
		a.poke()
	}
}

// trial runs in the trial version: health must hold for the dwell time.
func (a *Agent) trial(ctx context.Context, s state.State) {
	a.log.Info("firmware: on trial", "version", s.Version, "dwell", a.c.Dwell)
	start := a.c.Now()
	var failingSince time.Time
	t := time.NewTicker(a.c.HealthEvery)
	defer t.Stop()
	for {
		now := a.c.Now()
		err := a.c.Health(s)
		switch {
		case err == nil:
			failingSince = time.Time{}
		case failingSince.IsZero():
			failingSince = now
			a.log.Warn("firmware: trial health failing", "err", err)
		}
		if err != nil && now.Sub(failingSince) >= a.c.FailAfter {
			reason := truncate("health failed on trial: "+err.Error(), 200)
			if _, uerr := a.c.State.Update(func(st *state.State) error { st.Detail = reason; return nil }); uerr != nil {
				a.log.Error("firmware: cannot record the trial failure", "err", uerr)
			}
			a.log.Error("firmware: trial failed; asking for a rollback", "reason", reason)
			a.c.Exit(ExitRollback)
			return
		}
		if err == nil && now.Sub(start) >= a.c.Dwell {
			if cerr := a.c.Backend.Commit(now); cerr != nil {
				a.log.Error("firmware: commit failed; the trial goes on", "err", cerr)
			} else {
				a.log.Info("firmware: committed", "version", s.Version)
				a.poke()
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poke asks Run to report the state's new history entries.
func (a *Agent) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// report logs every history entry not yet logged into the event log.
func (a *Agent) report() {
	s, err := a.c.State.Load()
	if err != nil {
		return
	}
	last, err := a.c.Log.FirmwareReported()
	if err != nil {
		a.log.Warn("firmware: cannot read what was reported", "err", err)
		return
	}
	for _, e := range s.Since(last) {
		r := store.FirmwareReport{Seq: e.Seq, Phase: string(e.Phase), Version: e.Version, Rollout: e.Rollout,
			Detail: e.Detail, At: e.At}
		if e.Phase == state.Downloading || e.Phase == state.Waiting {
			r.Total = s.Total
		}
		if _, err := a.c.Log.LogFirmware(r, a.c.Now()); err != nil && !errors.Is(err, store.ErrReported) {
			a.log.Warn("firmware: cannot log a step", "seq", e.Seq, "err", err)
			return
		}
	}
}

func hostOf(u string, i int) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return strconv.Itoa(i + 1)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

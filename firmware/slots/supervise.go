package slots

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pkfreelance/seatgate/firmware/state"
)

// SupervisorConfig configures Supervise. Zero fields take the defaults
// given.
type SupervisorConfig struct {
	Dir     string   // DATA/firmware
	Args    []string // child arguments, e.g. ["run", "--config", "/etc/seatgate/seatgate.yaml"]
	Env     []string // extra child environment ("KEY=value")
	Initial string   // factory binary installed into slot a when no slot is committed ("" = error if none)
	// BootIDPath is the file holding the kernel boot ID; default
	// state.DefaultBootIDPath (tests: a file they rewrite to simulate a
	// reboot).
	BootIDPath  string
	MaxAttempts int // trial crashes before rollback, default 3
	MaxReArms   int // trials restarted after a power cut before rollback, default 3
	// RestartDelay is the wait before a crashed trial starts again, and
	// the first wait before the committed version starts again after it
	// exited, doubling up to a minute while it keeps exiting; default 1 s.
	RestartDelay time.Duration
	// TrialTimeout, when set, rolls back a trial that has neither
	// committed nor exited that long after it started (a hung version);
	// default 0, no limit: the agent's dwell time decides.
	TrialTimeout time.Duration
	// StopTimeout is how long the child has to exit after SIGTERM when
	// the supervisor stops, before SIGKILL; default 30 s.
	StopTimeout time.Duration
	// FallbackAfter is how many times in a row the committed version may
	// fail (exit within a minute of its start, or not start) before the
	// supervisor runs the factory binary, Initial, in its place; and how
	// many times in a row the factory binary may fail before the
	// committed version is tried again. Default 5. A committed binary
	// that cannot be started at all (missing, not executable) gives way
	// to the factory binary at once. Without Initial there is no
	// fallback.
	FallbackAfter  int
	Logger         *slog.Logger // default: discard
	Stdout, Stderr io.Writer    // child output (default os.Stdout/Stderr)
}

// Defaults of SupervisorConfig.
const (
	DefaultMaxAttempts  = 3
	DefaultMaxReArms    = 3
	DefaultRestartDelay = time.Second
	DefaultStopTimeout  = 30 * time.Second
	DefaultFallback     = 5
	// maxRestartDelay caps the backoff of a committed version that keeps
	// exiting; a child that ran this long resets it.
	maxRestartDelay = time.Minute
	// waitDelay bounds the wait for the child's standard error after it
	// exited (a grandchild may hold it open).
	waitDelay = 5 * time.Second
)

func (c *SupervisorConfig) setDefaults() {
	if c.BootIDPath == "" {
		c.BootIDPath = state.DefaultBootIDPath
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MaxReArms <= 0 {
		c.MaxReArms = DefaultMaxReArms
	}
	if c.RestartDelay <= 0 {
		c.RestartDelay = DefaultRestartDelay
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = DefaultStopTimeout
	}
	if c.FallbackAfter <= 0 {
		c.FallbackAfter = DefaultFallback
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
}

// testHook is called with each decision's point once it is persisted and
// before it is acted on; tests kill the supervisor there.
var testHook = func(point string) {}

// Supervise runs the committed slot's binary, or the version on trial, as
// its child, and starts it again whenever it exits, following the rules
// of decide: it counts the crashes of a trial, tells a power cut from a
// crash by the boot ID, rolls a failed trial back, and waits between
// restarts, so that it never loops hot nor tries a version forever. It
// first installs Initial when no slot is committed. It runs until ctx is
// done, then sends SIGTERM to the child, waits up to StopTimeout, sends
// SIGKILL, and returns nil. It returns an error only when it cannot run
// anything: no committed slot and none to install.
func Supervise(ctx context.Context, c SupervisorConfig) error {
	c.setDefaults()
	if c.Dir == "" {
		return errors.New("firmware supervisor: no firmware directory")
	}
	s, err := Open(c.Dir)
	if err != nil {
		return err
	}
	if err := s.Install(c.Initial); err != nil {
		return err
	}
	sv := &supervisor{c: c, slots: s, log: c.Logger, backoff: c.RestartDelay}
	if sv.boot, err = state.BootID(c.BootIDPath); err != nil {
		// Without it a power cut looks like a crash: counted as an
		// attempt, which is stricter, never looser.
		sv.log.Warn("firmware supervisor: boot ID unknown; a power cut during a trial will count as a crash", "err", err)
	}
	last := ended{start: true}
	var ran time.Duration
	for ctx.Err() == nil {
		p, err := sv.next(last)
		if err != nil {
			return err
		}
		binary, factory := sv.pick(p)
		if !sleep(ctx, sv.delay(p, last, ran)) {
			break
		}
		fallback := ""
		if factory {
			fallback = sv.why
		}
		last, ran = sv.run(ctx, p, binary, fallback)
		if !p.trial && ctx.Err() == nil {
			sv.count(last, ran, factory)
		}
	}
	return nil
}

type supervisor struct {
	c       SupervisorConfig
	slots   *Slots
	boot    string
	log     *slog.Logger
	backoff time.Duration // the next wait before the committed version starts again
	// The fallback: whether the factory binary runs in place of the
	// committed slot's (and for which committed slot: a new commit ends
	// it), and how many times in a row the one running has failed.
	factory    bool
	factoryFor string
	failures   int
	why        string // why the factory binary runs, for the child (EnvFallback)
	last       string // how the last failure ended
}

// next decides what to run after e and persists the decision.
func (sv *supervisor) next(e ended) (plan, error) {
	committed, _, err := sv.slots.Committed()
	if err != nil {
		return plan{}, fmt.Errorf("firmware supervisor: %w", err)
	}
	sit := situation{now: time.Now(), committed: committed, boot: sv.boot,
		maxAttempts: sv.c.MaxAttempts, maxReArms: sv.c.MaxReArms, runnable: sv.runnable}
	var p plan
	st, err := sv.slots.State().Update(func(st *state.State) error {
		p = decide(st, e, sit)
		return nil
	})
	if err != nil {
		// A decision that is not persisted is not acted on: the
		// committed slot runs, and the state is tried again when it
		// exits.
		sv.log.Error("firmware supervisor: cannot record a decision; running the committed slot", "slot", committed, "err", err)
		return plan{slot: committed, point: pointCommitted, restart: !e.start, reason: "state not writable"}, nil
	}
	attrs := []any{"decision", p.point, "slot", p.slot, "trial", p.trial, "phase", st.Phase}
	if p.trial || p.point != pointCommitted {
		attrs = append(attrs, "version", st.Version, "attempt", st.Attempts, "rearms", st.ReArms)
	}
	if p.reason != "" {
		attrs = append(attrs, "reason", p.reason)
	}
	switch p.point {
	case pointRetryTrial, pointRollBack, pointRefuse:
		sv.log.Warn("firmware supervisor: "+p.point, attrs...)
	case pointCommitted:
		if e.start {
			sv.log.Info("firmware supervisor: running the committed slot", attrs...)
		} else {
			sv.log.Info("firmware supervisor: the committed version exited; starting it again", attrs...)
		}
	default:
		sv.log.Info("firmware supervisor: "+p.point, attrs...)
	}
	testHook(p.point)
	return p, nil
}

// delay is the wait before acting on p: none for a switch, RestartDelay
// before a crashed trial starts again, and a backoff doubling up to a
// minute while the committed version keeps exiting (reset once it has
// run for a minute).
func (sv *supervisor) delay(p plan, e ended, ran time.Duration) time.Duration {
	switch {
	case p.trial && p.restart && !e.start:
		return sv.c.RestartDelay
	case p.trial || !p.restart || e.trial:
		return 0
	}
	if ran >= maxRestartDelay {
		sv.backoff = sv.c.RestartDelay
	}
	d := sv.backoff
	sv.backoff = min(2*sv.backoff, max(maxRestartDelay, sv.c.RestartDelay))
	sv.log.Info("firmware supervisor: waiting before the restart", "delay", d)
	return d
}

// pick is the binary that carries out p: the trial's, or the committed
// slot's, or in its place the factory binary while the committed version
// fails (FallbackAfter), so that a committed slot that was corrupted, or
// a committed version that stopped starting, never leaves the desks
// without a gateway. The factory binary runs with the committed slot's
// name in its environment: its agent downloads into the other slot, and
// an update committed from there ends the fallback.
func (sv *supervisor) pick(p plan) (binary string, factory bool) {
	slotBinary, _ := sv.slots.Paths(p.slot)
	if p.trial || sv.c.Initial == "" {
		return slotBinary, false
	}
	if sv.factoryFor != p.slot { // a new committed slot: trust it again
		sv.factory, sv.factoryFor, sv.failures = false, p.slot, 0
	}
	if err := sv.runnable(p.slot); err != nil {
		sv.why = truncate(fmt.Sprintf("the committed slot %s cannot start: %v", p.slot, err), maxDetail)
		if !sv.factory {
			sv.log.Error("firmware supervisor: the committed slot cannot start; running the factory binary in its place",
				"slot", p.slot, "err", err, "factory", sv.c.Initial)
			sv.factory, sv.failures = true, 0
			sv.backoff = sv.c.RestartDelay
		}
		return sv.c.Initial, true
	}
	if sv.failures >= sv.c.FallbackAfter {
		sv.factory, sv.failures = !sv.factory, 0
		sv.backoff = sv.c.RestartDelay // the other binary starts soon
		if sv.factory {
			sv.why = truncate(fmt.Sprintf("the committed version in slot %s failed %d times in a row; last: %s",
				p.slot, sv.c.FallbackAfter, sv.last), maxDetail)
			sv.log.Error("firmware supervisor: the committed version keeps failing; running the factory binary in its place",
				"slot", p.slot, "failures", sv.c.FallbackAfter, "factory", sv.c.Initial)
		} else {
			sv.log.Error("firmware supervisor: the factory binary keeps failing too; trying the committed version again",
				"slot", p.slot, "failures", sv.c.FallbackAfter)
		}
	}
	if sv.factory {
		return sv.c.Initial, true
	}
	return slotBinary, false
}

// count follows the failures in a row of the committed version, or of
// the factory binary in its place: an exit within a minute of the start
// that is not the stop for a switch, or a start that failed.
func (sv *supervisor) count(e ended, ran time.Duration, factory bool) {
	if factory != sv.factory {
		return
	}
	if e.code == ExitUpdate || ran >= maxRestartDelay {
		sv.failures = 0
		return
	}
	sv.failures, sv.last = sv.failures+1, describe(e)
}

// sleep waits d, or until ctx is done (false).
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// runnable says why slot's binary cannot be started, or nil.
func (sv *supervisor) runnable(slot string) error {
	binary, _ := sv.slots.Paths(slot)
	fi, err := os.Stat(binary)
	switch {
	case err != nil:
		return err
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%s is not an executable file", binary)
	}
	return nil
}

// run starts binary for p and waits for it to end, or for ctx (then it
// stops the child), or for TrialTimeout.
func (sv *supervisor) run(ctx context.Context, p plan, binary, fallback string) (ended, time.Duration) {
	// Pdeathsig is sent when the thread that started the child ends:
	// keep this goroutine on its thread until the child is gone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	cmd := exec.Command(binary, sv.c.Args...)
	cmd.Env = sv.env(p, fallback)
	tail := &lastLine{w: sv.c.Stderr}
	cmd.Stdout, cmd.Stderr = sv.c.Stdout, tail
	cmd.SysProcAttr = childAttr()
	cmd.WaitDelay = waitDelay
	e := ended{trial: p.trial, code: -1}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		e.reason = err.Error()
		sv.log.Error("firmware supervisor: cannot start the child", "slot", p.slot, "trial", p.trial, "binary", binary, "err", err)
		return e, 0
	}
	sv.log.Info("firmware supervisor: child started", "slot", p.slot, "trial", p.trial, "binary", binary, "pid", cmd.Process.Pid)
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	var timeout <-chan time.Time
	if p.trial && sv.c.TrialTimeout > 0 {
		t := time.NewTimer(sv.c.TrialTimeout)
		defer t.Stop()
		timeout = t.C
	}
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-ctx.Done():
			sv.stop(cmd, done)
			waiting = false
		case <-timeout:
			timeout = nil
			if st, err := sv.slots.State().Load(); err == nil && st.Phase == state.Trial && st.Slot == p.slot {
				sv.log.Warn("firmware supervisor: the trial has not committed in time; stopping it",
					"slot", p.slot, "version", st.Version, "timeout", sv.c.TrialTimeout)
				e.timedOut = true
				sv.stop(cmd, done)
				waiting = false
			}
		}
	}
	ran := time.Since(start)
	e.code = cmd.ProcessState.ExitCode()
	e.reason = tail.last()
	if e.code < 0 && e.reason != "" {
		e.reason = cmd.ProcessState.String() + "; " + e.reason
	} else if e.code < 0 {
		e.reason = cmd.ProcessState.String()
	}
	sv.log.Info("firmware supervisor: child exited", "slot", p.slot, "trial", p.trial,
		"code", e.code, "ran", ran.Round(time.Millisecond), "last_line", e.reason)
	return e, ran
}

// stop sends SIGTERM to the child, and SIGKILL after StopTimeout; it
// returns when the child has exited.
func (sv *supervisor) stop(cmd *exec.Cmd, done <-chan struct{}) {
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		cmd.Process.Kill()
	}
	t := time.NewTimer(sv.c.StopTimeout)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	sv.log.Warn("firmware supervisor: the child did not stop in time; killing it", "pid", cmd.Process.Pid, "timeout", sv.c.StopTimeout)
	cmd.Process.Kill()
	<-done
}

// env is the child's environment: the supervisor's own (NOTIFY_SOCKET
// included) without a SEATGATE_SLOT, SEATGATE_TRIAL or SEATGATE_FALLBACK
// of its own, then Env, then the slot, whether it is the trial, and why
// the factory binary runs when it does.
func (sv *supervisor) env(p plan, fallback string) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, EnvSlot+"=") || strings.HasPrefix(kv, EnvTrial+"=") ||
			strings.HasPrefix(kv, EnvFallback+"=")
	})
	env = append(env, sv.c.Env...)
	trial := "0"
	if p.trial {
		trial = "1"
	}
	env = append(env, EnvSlot+"="+p.slot, EnvTrial+"="+trial)
	if fallback != "" {
		env = append(env, EnvFallback+"="+fallback)
	}
	return env
}

package slots_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/slots"
	"github.com/pkfreelance/seatgate/firmware/state"
)

// TestSuperviseRunsTheCommittedSlot: with no update, the committed
// version runs with SEATGATE_SLOT and SEATGATE_TRIAL set, NOTIFY_SOCKET
// and Env passed through, and stops on SIGTERM when ctx ends.
func TestSuperviseRunsTheCommittedSlot(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "/run/systemd/notify-test")
	t.Setenv(slots.EnvSlot, "z") // the supervisor's own is not passed on
	f := newFixture(t)
	c := f.config()
	c.Env = []string{"TESTCHILD_EXTRA=hello"}
	stop := f.supervise(c)
	got := f.waitStarts(1)[0]
	if want := (start{version: "1", slot: "a", trial: "0", notify: "/run/systemd/notify-test", extra: "hello"}); got != want {
		t.Errorf("child start: got %+v, want %+v", got, want)
	}
	if err := stop(); err != nil {
		t.Fatalf("Supervise returned %v after ctx ended, want nil", err)
	}
	if n := f.logged("stopped version=1"); n != 1 {
		t.Errorf("the child logged %d clean stops, want 1 (SIGTERM)", n)
	}
	if st := f.state(); st.Phase != state.Idle {
		t.Errorf("phase: got %s, want idle", st.Phase)
	}
}

// TestSuperviseInstallsTheFactoryBinary: the first start installs Initial
// into slot a; without one and without a committed slot, Supervise fails.
func TestSuperviseInstallsTheFactoryBinary(t *testing.T) {
	f := newFixture(t)
	fw := filepath.Join(t.TempDir(), "firmware")
	c := f.config()
	c.Dir = fw
	if err := slots.Supervise(context.Background(), c); !errors.Is(err, slots.ErrNotInstalled) {
		t.Fatalf("Supervise with nothing installed: got %v, want ErrNotInstalled", err)
	}
	c.Initial = childBin
	c.Args = []string{"-dir", fw, "-log", f.lg}
	if err := os.MkdirAll(filepath.Join(fw, "slots", "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fw, "slots", "a", "child.json"), []byte(`{"version":"0.9","mode":"run"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f.supervise(c)
	if got := f.waitStarts(1)[0]; got.version != "0.9" || got.slot != "a" || got.trial != "0" {
		t.Errorf("first start: got %+v, want the factory version from slot a", got)
	}
}

// TestSuperviseUpdateCommits: the committed version asks for the switch
// (RequestTrial, ExitUpdate); the supervisor starts the trial at once;
// the trial commits; the link names the new slot, the floor rises; the
// next supervisor runs the new version as committed.
func TestSuperviseUpdateCommits(t *testing.T) {
	f := newFixture(t)
	f.download(behaviour{Version: "2", Mode: "commit", AfterMS: 20})
	f.behave("a", behaviour{Version: "1", Mode: "update"})
	stop := f.supervise(f.config())
	st := f.waitPhase(state.Committed)
	if st.Version != "2" || st.Floor != "2" || st.Attempts != 0 || st.ReArms != 0 || f.committed() != "b" {
		t.Errorf("after the update: %+v, link %s; want version 2 committed in b, floor 2", st, f.committed())
	}
	f.waitFor("the commit logged", func() bool { return f.logged("committed version=2") == 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	want := []start{{version: "1", slot: "a", trial: "0"}, {version: "2", slot: "b", trial: "1"}}
	if got := f.starts(); !slices.Equal(got, want) {
		t.Errorf("starts: got %+v, want %+v", got, want)
	}
	var phases []state.Phase
	for _, e := range st.History {
		phases = append(phases, e.Phase)
	}
	if want := []state.Phase{state.Downloading, state.Ready, state.Trial, state.Committed}; !slices.Equal(phases, want) {
		t.Errorf("history: got %v, want %v", phases, want)
	}

	f.supervise(f.config())
	if got := f.waitStarts(3)[2]; got != (start{version: "2", slot: "b", trial: "0"}) {
		t.Errorf("after a restart: got %+v, want version 2 committed from b", got)
	}
}

// TestSuperviseCrashAtStartRollsBack: a version that crashes at start is
// tried MaxAttempts times, then refused; the committed version runs
// again, and a new supervisor never tries it again.
func TestSuperviseCrashAtStartRollsBack(t *testing.T) {
	f := newFixture(t)
	f.stage(behaviour{Version: "2", Mode: "crash"})
	stop := f.supervise(f.config())
	st := f.waitPhase(state.RolledBack)
	got := f.waitStarts(4)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	want := []start{{version: "2", slot: "b", trial: "1"}, {version: "2", slot: "b", trial: "1"}, {version: "2", slot: "b", trial: "1"},
		{version: "1", slot: "a", trial: "0"}}
	if !slices.Equal(got[:4], want) {
		t.Errorf("starts: got %+v, want %+v", got, want)
	}
	if st.Attempts != slots.DefaultMaxAttempts || !st.Refuses("2") || f.committed() != "a" {
		t.Errorf("after the rollback: %+v, link %s; want 3 attempts, 2 refused, a committed", st, f.committed())
	}
	if !strings.Contains(st.Detail, "failed 3 times") || !strings.Contains(st.Detail, "panic: boom in version 2") {
		t.Errorf("detail: got %q, want the count and the child's last line", st.Detail)
	}

	f.supervise(f.config())
	f.waitStarts(5)
	if n := f.trialStarts("2"); n != 3 {
		t.Errorf("version 2 started %d times on trial, want 3 (never after the rollback)", n)
	}
}

// TestSuperviseFailedHealthRollsBackAtOnce: a trial that exits with
// ExitRollback is rolled back without retries; its reason is the Detail
// it wrote into the state (as the agent does) or its last line.
func TestSuperviseFailedHealthRollsBackAtOnce(t *testing.T) {
	for _, tt := range []struct{ mode, reason string }{
		{"rollback", "health: 2 of 5 desks answering"},
		{"rollback-state", "health failed on trial: database: bucket members missing"},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			f := newFixture(t)
			f.stage(behaviour{Version: "2", Mode: tt.mode, Reason: tt.reason})
			f.supervise(f.config())
			st := f.waitPhase(state.RolledBack)
			got := f.waitStarts(2)
			if want := []start{{version: "2", slot: "b", trial: "1"}, {version: "1", slot: "a", trial: "0"}}; !slices.Equal(got[:2], want) {
				t.Errorf("starts: got %+v, want %+v", got, want)
			}
			if st.Attempts != 0 || !st.Refuses("2") || f.committed() != "a" {
				t.Errorf("after the rollback: %+v; want no attempt counted, 2 refused", st)
			}
			if want := "the trial asked to roll back: " + tt.reason; st.Detail != want {
				t.Errorf("detail: got %q, want %q", st.Detail, want)
			}
		})
	}
}

// TestSuperviseTrialTimeout: a trial that neither commits nor exits is
// stopped and rolled back after TrialTimeout.
func TestSuperviseTrialTimeout(t *testing.T) {
	f := newFixture(t)
	f.stage(behaviour{Version: "2", Mode: "run"})
	c := f.config()
	c.TrialTimeout = 50 * time.Millisecond
	f.supervise(c)
	st := f.waitPhase(state.RolledBack)
	if !strings.Contains(st.Detail, "did not commit in time") || !st.Refuses("2") {
		t.Errorf("got %+v, want rolled back for the timeout", st)
	}
	if got := f.waitStarts(2)[1]; got.version != "1" || got.trial != "0" {
		t.Errorf("after the timeout: got %+v, want version 1", got)
	}
	if n := f.logged("stopped version=2"); n != 1 {
		t.Errorf("the trial was stopped %d times with SIGTERM, want 1", n)
	}
}

// TestSuperviseRefusesARefusedVersion: a Ready version that was rolled
// back before is never started (phase Failed).
func TestSuperviseRefusesARefusedVersion(t *testing.T) {
	f := newFixture(t)
	f.stage(behaviour{Version: "2", Mode: "run"})
	f.update(func(st *state.State) { st.Refused = []string{"2"} })
	f.supervise(f.config())
	st := f.waitPhase(state.Failed)
	if got := f.waitStarts(1)[0]; got.version != "1" {
		t.Errorf("started %+v, want version 1", got)
	}
	if !strings.Contains(st.Detail, "rolled back here before") || f.trialStarts("2") != 0 {
		t.Errorf("got %+v, want refused without a start", st)
	}
}

// TestSuperviseExitUpdateWithoutReady: ExitUpdate without a Ready state
// is an ordinary exit: the committed version starts again (after the
// restart delay), no trial.
func TestSuperviseExitUpdateWithoutReady(t *testing.T) {
	f := newFixture(t)
	f.behave("a", behaviour{Version: "1", Mode: "exit", Code: slots.ExitUpdate})
	f.supervise(f.config())
	for _, s := range f.waitStarts(3) {
		if s != (start{version: "1", slot: "a", trial: "0"}) {
			t.Errorf("start %+v, want only version 1", s)
		}
	}
	if st := f.state(); st.Phase != state.Idle {
		t.Errorf("phase: got %s, want idle", st.Phase)
	}
}

// TestSuperviseCommittedCrashBacksOff: a committed version that keeps
// crashing is started again with a doubling delay, never in a hot loop.
func TestSuperviseCommittedCrashBacksOff(t *testing.T) {
	f := newFixture(t)
	f.behave("a", behaviour{Version: "1", Mode: "crash"})
	c := f.config()
	c.RestartDelay = 5 * time.Millisecond
	f.supervise(c)
	f.waitStarts(5)
	var delays []string
	for _, line := range strings.Split(f.out.String(), "\n") {
		if _, d, ok := strings.Cut(line, "waiting before the restart\" delay="); ok {
			delays = append(delays, d)
		}
	}
	if want := []string{"5ms", "10ms", "20ms", "40ms"}; len(delays) < 4 || !slices.Equal(delays[:4], want) {
		t.Errorf("restart delays: got %v, want %v…", delays, want)
	}
}

// TestSuperviseStopKillsAStubbornChild: a child that ignores SIGTERM is
// killed after StopTimeout.
func TestSuperviseStopKillsAStubbornChild(t *testing.T) {
	f := newFixture(t)
	f.behave("a", behaviour{Version: "1", Mode: "hang"})
	c := f.config()
	c.StopTimeout = 20 * time.Millisecond
	stop := f.supervise(c)
	f.waitStarts(1)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.out.String(), "did not stop in time") {
		t.Error("the supervisor did not report killing the child")
	}
}

// TestSuperviseStateUnwritable: when the decision cannot be persisted, the
// trial is not started; the committed version runs.
func TestSuperviseStateUnwritable(t *testing.T) {
	f := newFixture(t)
	f.stage(behaviour{Version: "2", Mode: "run"})
	for _, name := range []string{"state.json", "state.json.prev"} {
		if err := os.WriteFile(filepath.Join(f.fw, name), []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f.supervise(f.config())
	if got := f.waitStarts(1)[0]; got != (start{version: "1", slot: "a", trial: "0"}) {
		t.Errorf("got %+v, want the committed version", got)
	}
}

// TestSuperviseCompletesACutCommit: Commit moved the link and was cut
// before it recorded the phase; the supervisor completes the commit and
// runs the new version as the committed one.
func TestSuperviseCompletesACutCommit(t *testing.T) {
	f := newFixture(t)
	f.stage(behaviour{Version: "2", Mode: "run"})
	f.update(func(st *state.State) { st.Enter(time.Now(), state.Trial, "trial") })
	link := filepath.Join(f.fw, "committed")
	if err := os.Symlink(filepath.Join("slots", "b"), link+".new"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(link+".new", link); err != nil {
		t.Fatal(err)
	}
	f.supervise(f.config())
	st := f.waitPhase(state.Committed)
	if got := f.waitStarts(1)[0]; got != (start{version: "2", slot: "b", trial: "0"}) {
		t.Errorf("got %+v, want version 2 as the committed one", got)
	}
	if st.Floor != "2" || st.Refuses("2") {
		t.Errorf("after completing the commit: %+v", st)
	}
}

// factory is a factory binary (the system image's seatgate) of version
// 0.9 that runs until stopped, outside the firmware directory.
func (f *fixture) factory() string {
	f.t.Helper()
	dir := f.t.TempDir()
	bin := filepath.Join(dir, "seatgate")
	b, err := os.ReadFile(childBin)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "child.json"), []byte(`{"version":"0.9","mode":"run"}`), 0o644); err != nil {
		f.t.Fatal(err)
	}
	return bin
}

// TestSuperviseFallsBackToTheFactoryBinary: a committed slot whose binary
// was corrupted (a bad SD card: the kernel refuses to exec it) gives way
// to the factory binary after FallbackAfter failed starts, and one that
// lost its execute bit at once; the factory binary runs under the
// committed slot's name, so that its agent downloads into the other slot,
// and the slots are left as they are.
func TestSuperviseFallsBackToTheFactoryBinary(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    os.FileMode
		failing int    // failed starts of the committed slot before the fallback
		why     string // in SEATGATE_FALLBACK (spaces as underscores)
	}{
		{"corrupted", 0o755, 2, "the_committed_version_in_slot_a_failed_2_times_in_a_row;_last:_killed_or_not_started:_fork/exec_"},
		{"not executable", 0o644, 0, "the_committed_slot_a_cannot_start:_"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			bin, _ := f.slots.Paths("a")
			garbage := []byte("\x7fELF\x02\x01\x01 cut short by a bad card")
			if err := os.WriteFile(bin, garbage, tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(bin, tc.mode); err != nil {
				t.Fatal(err)
			}
			c := f.config()
			c.FallbackAfter = 2
			c.Initial = f.factory()
			stop := f.supervise(c)
			got := f.waitStarts(1)[0]
			if got.version != "0.9" || got.slot != "a" || got.trial != "0" {
				t.Errorf("start: got %+v, want the factory version under slot a", got)
			}
			if !strings.HasPrefix(got.fallback, tc.why) {
				t.Errorf("SEATGATE_FALLBACK: got %q, want %s…", got.fallback, tc.why)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(f.out.String(), "cannot start the child"); n != tc.failing {
				t.Errorf("failed starts of the committed slot: %d, want %d", n, tc.failing)
			}
			if !strings.Contains(f.out.String(), "running the factory binary in its place") {
				t.Error("the supervisor did not say why it runs the factory binary")
			}
			if f.committed() != "a" {
				t.Errorf("committed slot: got %s, want a (untouched)", f.committed())
			}
			if b, err := os.ReadFile(bin); err != nil || string(b) != string(garbage) {
				t.Errorf("the committed slot's binary was changed (%v); the fallback must not touch the slots", err)
			}
		})
	}
}

// TestSuperviseCrashLoopAlternatesWithTheFactoryBinary: a committed
// version that keeps crashing runs FallbackAfter times, then the factory
// binary takes its place; when that crashes FallbackAfter times too, the
// committed version is tried again: never a hot loop, never one binary
// forever.
func TestSuperviseCrashLoopAlternatesWithTheFactoryBinary(t *testing.T) {
	f := newFixture(t)
	f.behave("a", behaviour{Version: "1", Mode: "crash"})
	c := f.config()
	c.RestartDelay = 2 * time.Millisecond
	c.FallbackAfter = 3
	c.Initial = f.factory()
	if err := os.WriteFile(filepath.Join(filepath.Dir(c.Initial), "child.json"), []byte(`{"version":"0.9","mode":"crash"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f.supervise(c)
	var got []string
	for _, s := range f.waitStarts(10)[:10] {
		got = append(got, s.version+":"+s.fallback)
	}
	const why = "the_committed_version_in_slot_a_failed_3_times_in_a_row;_last:_exit_status_2:_panic:_boom_in_version_1"
	want := []string{"1:", "1:", "1:", "0.9:" + why, "0.9:" + why, "0.9:" + why, "1:", "1:", "1:", "0.9:" + why}
	if !slices.Equal(got, want) {
		t.Errorf("versions started (and SEATGATE_FALLBACK): got %v, want %v", got, want)
	}
}

// TestSuperviseFactoryFallbackEndsWithACommit: while the factory binary
// stands in for a crashing committed version, an update downloaded by it
// into the other slot goes on trial and commits; from then on the new
// committed version runs, not the factory binary.
func TestSuperviseFactoryFallbackEndsWithACommit(t *testing.T) {
	f := newFixture(t)
	f.behave("a", behaviour{Version: "1", Mode: "crash"})
	if slot := f.download(behaviour{Version: "2", Mode: "commit", AfterMS: 20}); slot != "b" {
		t.Fatalf("downloaded into slot %s, want b", slot)
	}
	c := f.config()
	c.RestartDelay = 2 * time.Millisecond
	c.FallbackAfter = 2
	c.Initial = f.factory()
	// The factory's agent finds the download complete and asks for the
	// switch.
	if err := os.WriteFile(filepath.Join(filepath.Dir(c.Initial), "child.json"), []byte(`{"version":"0.9","mode":"update"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f.supervise(c)
	f.waitPhase(state.Committed)
	if got := f.committed(); got != "b" {
		t.Fatalf("committed slot: got %s, want b", got)
	}
	var got []string
	for _, s := range f.starts() {
		got = append(got, s.version+"/"+s.slot+"/"+s.trial)
	}
	if want := []string{"1/a/0", "1/a/0", "0.9/a/0", "2/b/1"}; !slices.Equal(got, want) {
		t.Errorf("starts: got %v, want %v", got, want)
	}
	// The committed version 2 now exits: it is started again, from b.
	n := len(f.starts())
	f.behave("b", behaviour{Version: "2", Mode: "exit", Code: 1})
	f.killLastChild()
	if s := f.waitStarts(n + 1)[n]; s != (start{version: "2", slot: "b", trial: "0"}) {
		t.Errorf("after the commit: started %+v, want version 2 from slot b", s)
	}
}

// killLastChild sends SIGKILL to the test child that started last.
func (f *fixture) killLastChild() {
	f.t.Helper()
	b, err := os.ReadFile(f.lg)
	if err != nil {
		f.t.Fatal(err)
	}
	var pid int
	for _, line := range strings.Split(string(b), "\n") {
		if _, p, ok := strings.Cut(line, " pid="); ok && strings.HasPrefix(line, "start ") {
			if pid, err = strconv.Atoi(p); err != nil {
				f.t.Fatal(err)
			}
		}
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		f.t.Fatal(err)
	}
}

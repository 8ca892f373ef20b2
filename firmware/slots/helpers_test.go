package slots_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/slots"
	"github.com/pkfreelance/seatgate/firmware/state"
)

// childBin is testdata/child, built once by TestMain; copies of it act
// as versions 1 and 2.
var childBin string

// helperEnv carries a helperConfig: the test binary then runs as a
// supervisor process (the kill tests).
const helperEnv = "SEATGATE_SLOTS_TEST_SUPERVISOR"

func TestMain(m *testing.M) {
	if c := os.Getenv(helperEnv); c != "" {
		os.Exit(helperSupervisor(c))
	}
	dir, err := os.MkdirTemp("", "seatgate-slots-child-")
	if err != nil {
		panic(err)
	}
	childBin = filepath.Join(dir, "child")
	cmd := exec.Command("go", "build", "-o", childBin, "./testdata/child")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build the test child:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(withCleanup{m, dir})
}

type withCleanup struct {
	m   *testing.M
	dir string
}

func (w withCleanup) Run() int {
	defer os.RemoveAll(w.dir)
	return w.m.Run()
}

// behaviour is child.json: what the test child does (testdata/child).
type behaviour struct {
	Version string `json:"version"`
	Mode    string `json:"mode"`
	AfterMS int    `json:"after_ms,omitempty"`
	Code    int    `json:"code,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// fixture is a data directory with version 1 committed in slot a.
type fixture struct {
	t                  *testing.T
	root, fw, boot, lg string
	slots              *slots.Slots
	out                *syncBuffer // the supervisors' logs and the children's output
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{t: t, root: root, fw: filepath.Join(root, "firmware"), boot: filepath.Join(root, "boot_id"),
		lg: filepath.Join(root, "starts.log"), out: &syncBuffer{}}
	f.newBoot()
	s, err := slots.Open(f.fw)
	if err != nil {
		t.Fatal(err)
	}
	f.slots = s
	if err := s.Install(childBin); err != nil {
		t.Fatal(err)
	}
	f.behave("a", behaviour{Version: "1", Mode: "run"})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output:\n%s", f.out.String())
			if b, err := os.ReadFile(f.lg); err == nil {
				t.Logf("starts.log:\n%s", b)
			}
		}
	})
	return f
}

// newBoot writes a new boot ID: the machine rebooted.
func (f *fixture) newBoot() {
	f.t.Helper()
	if err := os.WriteFile(f.boot, []byte(rand.Text()+"\n"), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// behave sets what the binary in slot does from its next start.
func (f *fixture) behave(slot string, b behaviour) {
	f.t.Helper()
	j, err := json.Marshal(b)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.fw, "slots", slot, "child.json"), j, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// download puts version into the inactive slot as the agent would:
// assigned (phase Downloading), Prepare, written; it returns the slot.
func (f *fixture) download(b behaviour) string {
	f.t.Helper()
	bin, err := os.ReadFile(childBin)
	if err != nil {
		f.t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	m := release.Manifest{Version: b.Version, Size: int64(len(bin)), SHA256: hex.EncodeToString(sum[:])}
	f.update(func(st *state.State) {
		st.Version, st.SHA256, st.Slot, st.Attempts, st.ReArms = m.Version, m.SHA256, "", 0, 0
		st.Enter(time.Now(), state.Downloading, "assigned")
	})
	target, _, err := f.slots.Prepare(m)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(target, bin, 0o755); err != nil {
		f.t.Fatal(err)
	}
	slot := filepath.Base(filepath.Dir(target))
	f.behave(slot, b)
	return slot
}

// stage downloads version and makes it Ready, as the agent does before
// the daemon exits with ExitUpdate.
func (f *fixture) stage(b behaviour) string {
	f.t.Helper()
	slot := f.download(b)
	if err := f.slots.RequestTrial(time.Now()); err != nil {
		f.t.Fatal(err)
	}
	return slot
}

func (f *fixture) update(fn func(*state.State)) state.State {
	f.t.Helper()
	st, err := f.slots.State().Update(func(st *state.State) error { fn(st); return nil })
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

func (f *fixture) state() state.State {
	f.t.Helper()
	st, err := f.slots.State().Load()
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

func (f *fixture) committed() string {
	f.t.Helper()
	slot, _, err := f.slots.Committed()
	if err != nil {
		f.t.Fatal(err)
	}
	return slot
}

func (f *fixture) args() []string { return []string{"-dir", f.fw, "-log", f.lg} }

func (f *fixture) config() slots.SupervisorConfig {
	return slots.SupervisorConfig{Dir: f.fw, Args: f.args(), BootIDPath: f.boot, RestartDelay: 10 * time.Millisecond,
		StopTimeout: 10 * time.Second, Logger: slog.New(slog.NewTextHandler(f.out, nil)), Stdout: f.out, Stderr: f.out}
}

// start is one line of starts.log: a start of the test child.
type start struct{ version, slot, trial, notify, extra, fallback string }

func (f *fixture) starts() []start {
	f.t.Helper()
	b, err := os.ReadFile(f.lg)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	var out []start
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "start" {
			continue
		}
		kv := map[string]string{}
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(f, "=")
			kv[k] = v
		}
		out = append(out, start{kv["version"], kv["slot"], kv["trial"], kv["notify"], kv["extra"], kv["fallback"]})
	}
	return out
}

// trialStarts counts the starts of version on trial.
func (f *fixture) trialStarts(version string) int {
	n := 0
	for _, s := range f.starts() {
		if s.version == version && s.trial == "1" {
			n++
		}
	}
	return n
}

// logged counts the lines of starts.log that begin with prefix.
func (f *fixture) logged(prefix string) int {
	b, _ := os.ReadFile(f.lg)
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, prefix) {
			n++
		}
	}
	return n
}

// waitFor polls cond until it holds, or fails the test after a deadline.
func (f *fixture) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s; state %+v", what, f.state())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitPhase waits until the state is in phase.
func (f *fixture) waitPhase(phase state.Phase) state.State {
	f.t.Helper()
	var st state.State
	f.waitFor("phase "+string(phase), func() bool { st = f.state(); return st.Phase == phase })
	return st
}

// waitStarts waits until the child has started n times in all.
func (f *fixture) waitStarts(n int) []start {
	f.t.Helper()
	f.waitFor(fmt.Sprintf("%d starts", n), func() bool { return len(f.starts()) >= n })
	return f.starts()
}

// supervise runs Supervise in this process until the returned function
// (also called at cleanup) cancels it; that returns Supervise's error.
func (f *fixture) supervise(c slots.SupervisorConfig) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- slots.Supervise(ctx, c) }()
	stop = sync.OnceValue(func() error {
		cancel()
		return <-errc
	})
	f.t.Cleanup(func() { stop() })
	return stop
}

// helperConfig configures the supervisor process of the kill tests.
type helperConfig struct {
	Dir, BootIDPath string
	Args            []string
	KillAt          string // a decision at which it SIGKILLs its process group
}

// helperSupervisor is the test binary run as `seatgate supervise`.
func helperSupervisor(c string) int {
	var hc helperConfig
	if err := json.Unmarshal([]byte(c), &hc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if hc.KillAt != "" {
		slots.SetTestHook(func(point string) {
			if point == hc.KillAt {
				syscall.Kill(0, syscall.SIGKILL) // the whole process group: a power cut, or systemd's kill
			}
		})
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	err := slots.Supervise(ctx, slots.SupervisorConfig{Dir: hc.Dir, Args: hc.Args, BootIDPath: hc.BootIDPath,
		RestartDelay: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, "supervise:", err)
		return 1
	}
	return 0
}

// proc is a supervisor process, leader of its own process group (as
// systemd's control group holds the supervisor and its child).
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (f *fixture) startProcess(killAt string) *proc {
	f.t.Helper()
	c, err := json.Marshal(helperConfig{Dir: f.fw, BootIDPath: f.boot, Args: f.args(), KillAt: killAt})
	if err != nil {
		f.t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(c))
	cmd.Stdout, cmd.Stderr = f.out, f.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	f.t.Cleanup(p.kill)
	return p
}

// kill SIGKILLs the supervisor and its child together and waits for the
// supervisor to be gone.
func (p *proc) kill() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// waitKilled waits for a supervisor that kills itself (KillAt).
func (f *fixture) waitKilled(p *proc) {
	f.t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		f.t.Fatal("the supervisor did not kill itself")
	}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		f.t.Fatalf("the supervisor ended with %v, want SIGKILL at its kill point", p.cmd.ProcessState)
	}
}

// powerCut kills the supervisor and its child and reboots.
func (f *fixture) powerCut(p *proc) {
	p.kill()
	f.newBoot()
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)

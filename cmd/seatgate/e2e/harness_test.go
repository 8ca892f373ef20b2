package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The binaries under test, built once by TestMain.
var seatgateBin, seathqBin, seatctlBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "seatgate-e2e-bin-")
	if err != nil {
		panic(err)
	}
	for _, b := range []struct {
		bin *string
		pkg string
	}{{&seatgateBin, ".."}, {&seathqBin, "../../seathq"}, {&seatctlBin, "../../seatctl"}} {
		*b.bin = filepath.Join(dir, filepath.Base(filepath.Clean(b.pkg)))
		if b.pkg == ".." {
			*b.bin = filepath.Join(dir, "seatgate")
		}
		args := []string{"build", "-o", *b.bin}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "-ldflags", "-X main.version=e2e-test", b.pkg)
		cmd := exec.Command("go", args...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", b.pkg, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startProcess starts bin with args, its output kept in logs; done gets its
// exit error, then is closed. The process is killed at the end of the test,
// and its log shown when the test failed (or E2E_LOGS is set).
func startProcess(t *testing.T, name, bin string, args ...string) (*exec.Cmd, chan error, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill() // (an error when it has exited already)
		<-done
		<-done
		if t.Failed() || os.Getenv("E2E_LOGS") != "" {
			t.Logf("%s log (last 200 lines):\n%s", name, tail(logs.String(), 200))
		}
	})
	return cmd, done, logs
}

// gw is one seatgate process and its files.
type gw struct {
	t       *testing.T
	dir     string
	cfgPath string
	base    string
	cmd     *exec.Cmd
	logs    *syncBuffer
	done    chan error
}

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

// freePort returns a port no listener holds now and that this test
// process has not handed out before (the kernel may give a port that was
// just closed to the next caller).
func freePort(t *testing.T) string {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if !portsGiven[addr] {
			portsGiven[addr] = true
			return addr
		}
	}
}

var (
	portsMu    sync.Mutex
	portsGiven = map[string]bool{}
)

const e2eConfig = `centre: e2e-centre
gateway: gw-1
data_dir: %s
http:
  listen: %s
policy:
  daily_cutoff: "07:00"
  max_session: 16h
  warn_days: 5
emulator:
  clock: true
readers:
  - {id: desk-1, seat: A-01, zone: A, kind: emulated, bus: emu0}
  - {id: desk-2, seat: A-02, zone: A, kind: emulated, bus: emu0}
  - {id: desk-3, seat: A-03, zone: A, kind: emulated, bus: emu0}
  - {id: desk-4, seat: B-01, zone: B, kind: emulated, bus: emu1}
  - {id: desk-5, seat: B-02, zone: B, kind: emulated, bus: emu1}
  - {id: desk-6, seat: B-03, zone: B, kind: emulated, bus: emu1}
`

// newGW writes a config for a fresh data directory; start runs it.
func newGW(t *testing.T) *gw {
	t.Helper()
	dir := t.TempDir()
	addr := freePort(t)
	g := &gw{t: t, dir: dir, cfgPath: filepath.Join(dir, "seatgate.yaml"), base: "http://" + addr}
	cfg := fmt.Sprintf(e2eConfig, filepath.Join(dir, "data"), addr)
	if err := os.WriteFile(g.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return g
}

// seatgate runs a one-shot seatgate command and returns its output.
func (g *gw) seatgate(args ...string) (string, error) {
	out, err := exec.Command(seatgateBin, args...).CombinedOutput()
	return string(out), err
}

func (g *gw) importMembers(snapshot string) {
	g.t.Helper()
	p := filepath.Join(g.dir, "members.json")
	if err := os.WriteFile(p, []byte(snapshot), 0o600); err != nil {
		g.t.Fatal(err)
	}
	if out, err := g.seatgate("members", "import", "--allow-unsigned", "--config", g.cfgPath, p); err != nil {
		g.t.Fatalf("members import: %v\n%s", err, out)
	}
}

// start launches the daemon and waits until /healthz answers.
func (g *gw) start() {
	g.t.Helper()
	g.cmd, g.done, g.logs = startProcess(g.t, "gateway", seatgateBin, "run", "--config", g.cfgPath)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-g.done:
			g.t.Fatalf("seatgate exited at start: %v\n%s", err, g.logs.String())
		default:
		}
		if g.ready() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.t.Fatalf("seatgate did not become ready in time\n%s", g.logs.String())
}

// ready: /healthz answers and every reader is open and has settled (cards
// put down while a reader starts are taken as lying there, not as taps).
func (g *gw) ready() bool {
	resp, err := http.Get(g.base + "/healthz")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var h struct {
		Readers []struct {
			OK       bool `json:"ok"`
			Settling bool `json:"settling"`
		} `json:"readers"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&h) != nil || len(h.Readers) == 0 {
		return false
	}
	for _, r := range h.Readers {
		if !r.OK || r.Settling {
			return false
		}
	}
	return true
}

// kill sends SIGKILL and waits for the process to be gone.
func (g *gw) kill() {
	g.t.Helper()
	g.cmd.Process.Signal(syscall.SIGKILL)
	<-g.done
}

// stop sends SIGTERM and returns the exit error.
func (g *gw) stop() error {
	g.t.Helper()
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-g.done:
		return err
	case <-time.After(15 * time.Second):
		g.cmd.Process.Kill()
		g.t.Fatalf("seatgate did not stop within 15 s of SIGTERM")
		return nil
	}
}

type tapResult struct {
	Outcome  string `json:"outcome"`
	Reason   string `json:"reason"`
	Warning  string `json:"warning"`
	Seat     string `json:"seat"`
	PrevSeat string `json:"prev_seat"`
	Member   string `json:"member"`
	Seq      uint64 `json:"seq"`
}

var client = &http.Client{Timeout: 10 * time.Second}

// call does one JSON request and decodes the answer into out.
func (g *gw) call(method, path string, body any, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, g.base+path, r)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w", data, err)
		}
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	return resp.StatusCode, nil
}

func (g *gw) tap(reader, uid string) tapResult {
	g.t.Helper()
	var res tapResult
	if _, err := g.call("POST", "/api/v1/emulator/readers/"+reader+"/tap", map[string]string{"uid": uid}, &res); err != nil {
		g.t.Fatalf("tap %s at %s: %v", uid, reader, err)
	}
	return res
}

type event struct {
	Seq          uint64    `json:"seq"`
	Time         time.Time `json:"time"`
	Kind         string    `json:"kind"`
	Seat         string    `json:"seat"`
	Member       string    `json:"member"`
	Reason       string    `json:"reason"`
	ClockTrusted bool      `json:"clock_trusted"`
}

// events reads the whole event log page by page.
func (g *gw) events() []event {
	g.t.Helper()
	var all []event
	after := uint64(0)
	for {
		var page []event
		if _, err := g.call("GET", fmt.Sprintf("/api/v1/events?after=%d&limit=1000", after), nil, &page); err != nil {
			g.t.Fatalf("events: %v", err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		after = page[len(page)-1].Seq
	}
}

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o600) }

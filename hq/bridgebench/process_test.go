package bridgebench_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/identity"
)

// gatewayEnv, when set, makes the test binary a gateway process: a store
// and its outbox drain, as in seatgate, configured by the JSON of
// gatewayConfig.
const gatewayEnv = "BRIDGEBENCH_GATEWAY"

// gatewayConfig configures a gateway process.
type gatewayConfig struct {
	Dir    string // data directory: seatgate.db and the device key
	Broker string // tcp://host:port
	HQKey  string // base64
	// Taps is how many taps to make, one after the other, after those
	// already logged; 0 only drains.
	Taps int
}

// gatewayMain is the gateway process. It reports on its standard output,
// one line each:
//
//	last SEQ        at start: the last event in its log
//	committed SEQ   a tap's event is committed: the desk has answered
//	delivered SEQ   HQ has acknowledged every event up to SEQ
//
// and stops cleanly on SIGTERM.
func gatewayMain(cfgJSON string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	var cfg gatewayConfig
	err := json.Unmarshal([]byte(cfgJSON), &cfg)
	if err == nil {
		err = runGateway(ctx, cfg, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		return 1
	}
	return 0
}

func runGateway(ctx context.Context, cfg gatewayConfig, stdout io.Writer) error {
	hqKey, err := base64.StdEncoding.DecodeString(cfg.HQKey)
	if err != nil {
		return fmt.Errorf("hq key: %w", err)
	}
	key, err := identity.LoadOrCreate(cfg.Dir)
	if err != nil {
		return err
	}
	s, err := store.Open(filepath.Join(cfg.Dir, "seatgate.db"), store.Options{}) // fsync on
	if err != nil {
		return err
	}
	defer s.Close()
	boot, err := s.NextBoot()
	if err != nil {
		return err
	}
	st, err := s.Outbox()
	if err != nil {
		return err
	}
	var mu sync.Mutex
	report := func(what string, seq uint64) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stdout, "%s %d\n", what, seq)
	}
	report("last", st.LastSeq)

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	d := drain{Log: watchedLog{s, func(upto uint64) { report("delivered", upto) }}, Broker: cfg.Broker,
		Key: key.Private, HQKey: hqKey, Options: gatewayDefaults,
		Rejected: func(err error) { fmt.Fprintln(os.Stderr, "gateway: ack rejected:", err) }}
	drainer, err := d.start(ctx, &wg, boot)
	if err != nil {
		return err
	}
	for i := range cfg.Taps {
		ev, err := tap(s, int(st.LastSeq)+i)
		if err != nil {
			return err
		}
		report("committed", ev.Seq)
		drainer.Notify()
	}
	<-ctx.Done()
	return nil
}

// gatewayProcess is a running gateway process and what it has reported.
type gatewayProcess struct {
	t    *testing.T
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // how it exited, once done is closed
	out  *reportWriter
	errs lockedBuffer
}

// startGateway runs this test binary as a gateway process.
func startGateway(t *testing.T, cfg gatewayConfig) *gatewayProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(cfg)
	g := &gatewayProcess{t: t, cmd: exec.Command(exe), done: make(chan struct{}), out: &reportWriter{}}
	g.cmd.Env = append(os.Environ(), gatewayEnv+"="+string(b))
	g.cmd.Stdout, g.cmd.Stderr = g.out, &g.errs
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("start gateway process: %v", err)
	}
	go func() { g.err = g.cmd.Wait(); close(g.done) }()
	t.Cleanup(func() {
		g.cmd.Process.Kill() // an error if it has exited already
		<-g.done
	})
	return g
}

// kill ends the process with SIGKILL, mid-whatever, and waits for it.
func (g *gatewayProcess) kill() {
	g.cmd.Process.Signal(syscall.SIGKILL)
	<-g.done
}

// stop ends the process with SIGTERM and fails the test if it does not
// exit cleanly.
func (g *gatewayProcess) stop() {
	g.t.Helper()
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
		if g.err != nil {
			g.t.Errorf("gateway process: %v\n%s", g.err, g.errs.String())
		}
	case <-time.After(15 * time.Second):
		g.cmd.Process.Kill()
		<-g.done
		g.t.Errorf("gateway process did not stop within 15 s of SIGTERM")
	}
}

// waitFor waits until cond holds on what the process reported.
func (g *gatewayProcess) waitFor(what string, timeout time.Duration, cond func(r report) bool) report {
	g.t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(5 * time.Millisecond) {
		r := g.out.get()
		if cond(r) {
			return r
		}
		select {
		case <-g.done:
			g.t.Fatalf("gateway process exited (%v) waiting for %s\n%s", g.err, what, g.errs.String())
		default:
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("gateway process: no %s after %v (reported %+v)\n%s", what, timeout, r, g.errs.String())
		}
	}
}

// report is the highest value of each kind of line a gateway process has
// written; Last is -1 until it has reported it.
type report struct{ Last, Committed, Delivered int }

// reportWriter parses a gateway process's standard output.
type reportWriter struct {
	mu      sync.Mutex
	partial []byte
	r       report
	started bool
}

func (w *reportWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		kind, v, _ := strings.Cut(string(w.partial[:i]), " ")
		w.partial = w.partial[i+1:]
		n, err := strconv.Atoi(v)
		if err != nil {
			continue
		}
		switch kind {
		case "last":
			w.r.Last, w.started = n, true
		case "committed":
			w.r.Committed = max(w.r.Committed, n)
		case "delivered":
			w.r.Delivered = max(w.r.Delivered, n)
		}
	}
}

func (w *reportWriter) get() report {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.r
	if !w.started {
		r.Last = -1
	}
	return r
}

// lockedBuffer collects a process's standard error.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

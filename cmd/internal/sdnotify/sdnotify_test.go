package sdnotify_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/cmd/internal/sdnotify"
)

// listen opens a unixgram socket as systemd's notification socket and
// points $NOTIFY_SOCKET at it.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv(sdnotify.EnvSocket, name)
	return conn
}

// received returns the datagrams waiting on conn. A datagram sent to a
// unix socket is queued before the send returns, so every message sent
// so far is there: the short deadline only ends the read after the last.
func received(t *testing.T, conn *net.UnixConn) []string {
	t.Helper()
	var got []string
	buf := make([]byte, 4096)
	for {
		conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := conn.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(buf[:n]))
	}
}

func TestNotifySendsEachState(t *testing.T) {
	for _, tt := range []struct {
		name   string
		socket func(t *testing.T) string
	}{
		{"path", func(t *testing.T) string { return filepath.Join(t.TempDir(), "notify") }},
		{"abstract", func(t *testing.T) string {
			return fmt.Sprintf("@seatgate-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn := listen(t, tt.socket(t))
			if !sdnotify.Enabled() {
				t.Fatal("Enabled() = false with NOTIFY_SOCKET set")
			}
			for _, send := range []func() error{
				sdnotify.Ready,
				func() error { return sdnotify.Status("3 readers\nREADY=1") },
				sdnotify.Watchdog,
				sdnotify.Stopping,
				func() error { return sdnotify.Notify("RELOADING=1\nMONOTONIC_USEC=1") },
			} {
				if err := send(); err != nil {
					t.Fatal(err)
				}
			}
			want := []string{"READY=1", "STATUS=3 readers READY=1", "WATCHDOG=1", "STOPPING=1", "RELOADING=1\nMONOTONIC_USEC=1"}
			if got := received(t, conn); !slices.Equal(got, want) {
				t.Errorf("got datagrams %q, want %q", got, want)
			}
		})
	}
}

func TestNotifyWithoutSocketDoesNothing(t *testing.T) {
	t.Setenv(sdnotify.EnvSocket, "")
	os.Unsetenv(sdnotify.EnvSocket)
	if sdnotify.Enabled() {
		t.Error("Enabled() = true without NOTIFY_SOCKET")
	}
	for name, f := range map[string]func() error{"Ready": sdnotify.Ready, "Stopping": sdnotify.Stopping,
		"Watchdog": sdnotify.Watchdog, "Status": func() error { return sdnotify.Status("x") }} {
		if err := f(); err != nil {
			t.Errorf("%s without NOTIFY_SOCKET: %v, want nil", name, err)
		}
	}
}

func TestNotifyErrors(t *testing.T) {
	for _, tt := range []struct {
		name, socket string
		bad          bool // ErrBadSocket, else a send error naming the socket
	}{
		{"relative path", "run/notify", true},
		{"lone at", "@", true},
		{"vsock", "vsock:2:1234", true},
		{"too long", "/" + strings.Repeat("x", 120), true},
		{"nobody listening", "/nonexistent-dir-of-sdnotify-test/notify", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(sdnotify.EnvSocket, tt.socket)
			err := sdnotify.Ready()
			if err == nil {
				t.Fatal("Ready() = nil, want an error")
			}
			if got := errors.Is(err, sdnotify.ErrBadSocket); got != tt.bad {
				t.Errorf("errors.Is(%v, ErrBadSocket) = %v, want %v", err, got, tt.bad)
			}
			if !tt.bad && !strings.Contains(err.Error(), tt.socket) {
				t.Errorf("error %q does not name the socket %s", err, tt.socket)
			}
		})
	}
}

func TestWatchdogInterval(t *testing.T) {
	self := os.Getpid()
	for _, tt := range []struct {
		name, usec, pid string
		want            time.Duration
		ok              bool
	}{
		{"no pid", "30000000", "", 30 * time.Second, true},
		{"own pid", "30000000", strconv.Itoa(self), 30 * time.Second, true},
		{"another process's", "30000000", strconv.Itoa(self + 1), 0, false},
		{"pid not a number", "30000000", "main", 0, false},
		{"unset", "", "", 0, false},
		{"zero", "0", "", 0, false},
		{"negative", "-5", "", 0, false},
		{"not a number", "30s", "", 0, false},
		{"overflows a Duration", "18446744073709551615", "", 0, false},
		{"one microsecond", "1", "", time.Microsecond, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(sdnotify.EnvWatchdogUSec, tt.usec)
			t.Setenv(sdnotify.EnvWatchdogPID, tt.pid)
			got, ok := sdnotify.WatchdogInterval()
			if got != tt.want || ok != tt.ok {
				t.Errorf("WatchdogInterval() with USEC=%q PID=%q = %v, %v; want %v, %v", tt.usec, tt.pid, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// The watchdog pings only after healthy() said true, on a real socket.
func TestRunWatchdogPingsOnlyWhileHealthy(t *testing.T) {
	conn := listen(t, filepath.Join(t.TempDir(), "notify"))
	t.Setenv(sdnotify.EnvWatchdogUSec, "2000") // a tick every millisecond
	t.Setenv(sdnotify.EnvWatchdogPID, strconv.Itoa(os.Getpid()))
	answers := []bool{true, false, false, true, true, false}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	healthy := func() bool {
		if calls == len(answers) {
			cancel() // the pings of every answer have been sent by now
			return false
		}
		calls++
		return answers[calls-1]
	}
	sdnotify.RunWatchdog(ctx, healthy)
	if calls != len(answers) {
		t.Fatalf("healthy called %d times, want %d", calls, len(answers))
	}
	got := received(t, conn)
	want := []string{"WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1"} // one per true
	if !slices.Equal(got, want) {
		t.Errorf("got datagrams %q, want %q", got, want)
	}
}

func TestRunWatchdogTicksAtHalfTheInterval(t *testing.T) {
	t.Setenv(sdnotify.EnvWatchdogUSec, "30000000")
	t.Setenv(sdnotify.EnvWatchdogPID, "")
	var asked time.Duration
	ctx, cancel := context.WithCancel(context.Background())
	defer sdnotify.SetNewTicker(func(d time.Duration) (<-chan time.Time, func()) {
		asked = d
		cancel()
		return make(chan time.Time), func() {}
	})()
	sdnotify.RunWatchdog(ctx, func() bool { return true })
	if asked != 15*time.Second {
		t.Errorf("ticker period %v, want 15s (half of WATCHDOG_USEC)", asked)
	}
}

func TestRunWatchdogOffReturnsAtOnce(t *testing.T) {
	for _, tt := range []struct{ name, usec, pid string }{
		{"no watchdog", "", ""},
		{"another process's watchdog", "30000000", strconv.Itoa(os.Getpid() + 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(sdnotify.EnvWatchdogUSec, tt.usec)
			t.Setenv(sdnotify.EnvWatchdogPID, tt.pid)
			// ctx is never done: only returning at once ends the call.
			sdnotify.RunWatchdog(context.Background(), func() bool {
				t.Error("healthy called with the watchdog off")
				return false
			})
		})
	}
}

// The loop itself, tick by tick: a ping follows each healthy answer, none
// an unhealthy one, a failed ping does not end the loop, and a done ctx
// ends it while it waits for the next tick.
func TestWatchdogLoop(t *testing.T) {
	tick := make(chan time.Time)
	health := make(chan bool)
	pings := make(chan struct{}, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		sdnotify.RunWatchdogTicks(ctx, tick, func() bool { return <-health },
			func() error { pings <- struct{}{}; return errors.New("systemd away") })
		close(done)
	}()
	health <- true // at the start
	<-pings
	tick <- time.Time{}
	health <- false
	tick <- time.Time{} // taken only after the unhealthy answer was handled
	if n := len(pings); n != 0 {
		t.Fatalf("%d pings after an unhealthy answer, want 0", n)
	}
	health <- true
	<-pings // the ping after the failed one
	cancel()
	<-done
	if n := len(pings); n != 0 {
		t.Fatalf("%d pings after cancel, want 0", n)
	}
}

// ChildEnv hands the watchdog to a supervisor's child: with the
// supervisor's WATCHDOG_PID inherited the child's watchdog is off, with
// ChildEnv appended it is on.
func TestChildEnvHandsTheWatchdogToTheChild(t *testing.T) {
	if os.Getenv("SDNOTIFY_TEST_CHILD") == "1" {
		d, ok := sdnotify.WatchdogInterval()
		fmt.Printf("%v %v\n", d, ok)
		os.Exit(0)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(sdnotify.EnvWatchdogUSec, "30000000")
	t.Setenv(sdnotify.EnvWatchdogPID, strconv.Itoa(os.Getpid()))
	t.Setenv("SDNOTIFY_TEST_CHILD", "1")
	for _, tt := range []struct {
		name  string
		extra []string
		want  string
	}{
		{"inherited", nil, "0s false"},
		{"with ChildEnv", sdnotify.ChildEnv(), "30s true"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(exe, "-test.run=^TestChildEnvHandsTheWatchdogToTheChild$")
			cmd.Env = append(os.Environ(), tt.extra...)
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(string(out)); got != tt.want {
				t.Errorf("child's WatchdogInterval: got %q, want %q", got, tt.want)
			}
		})
	}
}

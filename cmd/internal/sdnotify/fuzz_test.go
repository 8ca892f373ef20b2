package sdnotify_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/cmd/internal/sdnotify"
)

// The environment is outside input: whatever it holds, the watchdog is on
// only for a positive interval that is exactly WATCHDOG_USEC microseconds
// and a PID that is empty or this process's.
func FuzzWatchdogInterval(f *testing.F) {
	for _, s := range [][2]string{{"30000000", ""}, {"30000000", "42"}, {"0", ""}, {"-1", "42"}, {"9223372036854775", "042"},
		{"18446744073709551615", ""}, {"+5", ""}, {" 5", ""}, {"5", "+42"}} {
		f.Add(s[0], s[1], 42)
	}
	f.Fuzz(func(t *testing.T, usec, pid string, self int) {
		d, ok := sdnotify.WatchdogIntervalOf(usec, pid, self)
		if !ok {
			if d != 0 {
				t.Errorf("(%q, %q): interval %v with the watchdog off", usec, pid, d)
			}
			return
		}
		n, err := strconv.ParseUint(usec, 10, 64)
		if err != nil || n == 0 || d != time.Duration(n)*time.Microsecond || d <= 0 {
			t.Errorf("(%q, %q): on with interval %v", usec, pid, d)
		}
		if pid != "" {
			if p, err := strconv.Atoi(pid); err != nil || p != self {
				t.Errorf("(%q, %q): on for another process than %d", usec, pid, self)
			}
		}
	})
}

// A status never smuggles a second assignment into the datagram, and a
// socket address is accepted only in a form that can be sent to.
func FuzzStatusAndSocket(f *testing.F) {
	for _, s := range []string{"serving", "a\nREADY=1", "a\r\nb", "/run/systemd/notify", "@abstract", "@", "vsock:1:2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line := sdnotify.StatusLine(s)
		if !strings.HasPrefix(line, "STATUS=") || strings.ContainsAny(line, "\n\r") {
			t.Errorf("StatusLine(%q) = %q", s, line)
		}
		if len(line) != len("STATUS=")+len(strings.ReplaceAll(s, "\r\n", " ")) {
			t.Errorf("StatusLine(%q) = %q: not one character for each", s, line)
		}
		addr, err := sdnotify.SocketAddr(s)
		if err != nil {
			return
		}
		if addr.Name != s || len(s) < 2 || (s[0] != '/' && s[0] != '@') || strings.ContainsRune(s, 0) {
			t.Errorf("SocketAddr(%q) accepted as %q", s, addr.Name)
		}
	})
}

package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Environment variables systemd sets for a service (sd_notify(3),
// sd_watchdog_enabled(3)).
const (
	EnvSocket       = "NOTIFY_SOCKET" // the socket to send notifications to
	EnvWatchdogUSec = "WATCHDOG_USEC" // the watchdog interval in microseconds
	EnvWatchdogPID  = "WATCHDOG_PID"  // the process the watchdog pings are expected from
)

const (
	sendTimeout      = 2 * time.Second
	maxSocketPathLen = 107 // sun_path holds 108 bytes with the terminating NUL
)

// ErrBadSocket means $NOTIFY_SOCKET names no unix socket this package can
// send to (neither an absolute path nor '@' and an abstract name, or too
// long).
var ErrBadSocket = errors.New("sdnotify: NOTIFY_SOCKET is not a unix socket path")

// Enabled reports whether $NOTIFY_SOCKET is set, that is whether the
// process runs under a systemd service that listens for notifications.
func Enabled() bool { return os.Getenv(EnvSocket) != "" }

// Ready tells systemd that start-up has finished ("READY=1"): under
// Type=notify the unit becomes active and units ordered after it start.
// Send it once the daemon serves. A second Ready (a restarted child of a
// supervisor) is harmless.
func Ready() error { return Notify("READY=1") }

// Stopping tells systemd that the service has begun to shut down
// ("STOPPING=1"). systemd then treats the whole service as stopping: it
// waits at most TimeoutStopSec= for the main process to exit and kills
// it after. So a child of a supervisor that stops only to be replaced (a
// firmware switch or rollback, while the service goes on) must not send
// it; send it when the service itself is being stopped (SIGTERM).
func Stopping() error { return Notify("STOPPING=1") }

// Status sets the one-line status `systemctl status` shows ("STATUS=…").
// Line breaks in s become spaces: a newline would start another
// assignment.
func Status(s string) error { return Notify(statusLine(s)) }

// Watchdog pings the service watchdog ("WATCHDOG=1"). RunWatchdog calls it
// on a schedule; call it directly only to cover a long step the schedule
// does not.
func Watchdog() error { return Notify("WATCHDOG=1") }

// Notify sends state, one or more newline-separated assignments such as
// "READY=1\nSTATUS=serving", to $NOTIFY_SOCKET in one datagram. It returns
// nil at once when $NOTIFY_SOCKET is unset, ErrBadSocket when it names no
// usable socket, and the error of the send otherwise (systemd not
// listening, or the send not done within two seconds).
func Notify(state string) error {
	name := os.Getenv(EnvSocket)
	if name == "" {
		return nil
	}
	addr, err := socketAddr(name)
	if err != nil {
		return err
	}
	conn, err := net.DialUnix("unixgram", nil, addr)
	if err != nil {
		return fmt.Errorf("sdnotify: notify systemd at %s: %w", name, err)
	}
	defer conn.Close()
	// A full receive queue blocks a datagram send; never let that hang
	// the daemon.
	if err := conn.SetWriteDeadline(time.Now().Add(sendTimeout)); err != nil {
		return fmt.Errorf("sdnotify: notify systemd at %s: %w", name, err)
	}
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sdnotify: notify systemd at %s: %w", name, err)
	}
	return nil
}

// socketAddr checks the value of $NOTIFY_SOCKET: an absolute path, or '@'
// and a name in the abstract namespace (net maps a leading '@' to the
// NUL byte of an abstract address on Linux).
func socketAddr(name string) (*net.UnixAddr, error) {
	if len(name) < 2 || (name[0] != '/' && name[0] != '@') || len(name) > maxSocketPathLen ||
		strings.IndexByte(name, 0) >= 0 {
		return nil, fmt.Errorf("%w: %q", ErrBadSocket, name)
	}
	return &net.UnixAddr{Name: name, Net: "unixgram"}, nil
}

// statusLine is the assignment that sets the status to s.
func statusLine(s string) string {
	return "STATUS=" + strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

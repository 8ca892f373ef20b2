package e2e_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNotifiesSystemd runs the gateway as systemd would with Type=notify
// and WatchdogSec: it must say READY=1 once serving, ping the watchdog,
// and say STOPPING=1 on SIGTERM.
func TestNotifiesSystemd(t *testing.T) {
	g := newGW(t)
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cmd := exec.Command(seatgateBin, "run", "--config", g.cfgPath)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=400000")
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var got []string
	buf := make([]byte, 4096)
	deadline := time.Now().Add(20 * time.Second)
	pings := 0
	for time.Now().Before(deadline) && pings < 2 {
		conn.SetReadDeadline(deadline)
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			break
		}
		msg := string(buf[:n])
		got = append(got, msg)
		if strings.Contains(msg, "WATCHDOG=1") {
			pings++
		}
	}
	if len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), "READY=1") || pings < 2 {
		t.Fatalf("systemd heard %q: want READY=1 and watchdog pings\n%s", got, logs.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	stopDeadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(stopDeadline) {
		conn.SetReadDeadline(stopDeadline)
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no STOPPING=1 after SIGTERM: %v", err)
		}
		if strings.Contains(string(buf[:n]), "STOPPING=1") {
			cmd.Wait()
			return
		}
	}
}

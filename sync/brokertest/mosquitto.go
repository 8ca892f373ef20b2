// Package brokertest starts real MQTT brokers for the sync packages'
// integration tests: a Mosquitto process on a loopback port.
package brokertest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Mosquitto is a running mosquitto process.
type Mosquitto struct {
	t    testing.TB
	Addr string // host:port on loopback
	conf string
	cmd  *exec.Cmd
	log  string
}

// MosquittoPath finds the mosquitto binary. The project's test script
// installs it (Debian package mosquitto); a missing binary fails the test,
// it is never skipped.
func MosquittoPath(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("mosquitto not found: install the Debian package mosquitto (./test.sh does)")
	return ""
}

// StartMosquitto runs mosquitto with extra config lines (listener,
// persistence, TLS, ACL...) appended to a minimal base on a free loopback
// port, and stops it when the test ends. "%PORT%" and "%DIR%" in extra are
// replaced by the port and a fresh directory.
func StartMosquitto(t testing.TB, extra string) *Mosquitto {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	// As root, mosquitto drops to the user "mosquitto", which cannot write
	// a persistence file into the test's directory (it logs "Permission
	// denied" and runs without saving): "user" keeps the current user.
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	conf := "listener " + port + " 127.0.0.1\n" + "user " + me.Username + "\nlog_dest stderr\nlog_type error\nlog_type warning\n" +
		strings.NewReplacer("%PORT%", port, "%DIR%", dir).Replace(extra)
	path := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &Mosquitto{t: t, Addr: "127.0.0.1:" + port, conf: path, log: filepath.Join(dir, "mosquitto.log")}
	m.Start()
	t.Cleanup(m.Kill)
	return m
}

// Start (re)starts the process on the same port and waits until it
// accepts connections.
func (m *Mosquitto) Start() {
	m.t.Helper()
	logf, err := os.OpenFile(m.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		m.t.Fatal(err)
	}
	m.cmd = exec.Command(MosquittoPath(m.t), "-c", m.conf)
	m.cmd.Stdout, m.cmd.Stderr = logf, logf
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	go func(c *exec.Cmd, f *os.File) { c.Wait(); f.Close() }(m.cmd, logf)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("tcp", m.Addr); err == nil {
			c.Close()
			return
		}
	}
	b, _ := os.ReadFile(m.log)
	m.t.Fatalf("mosquitto did not listen on %s:\n%s", m.Addr, b)
}

// Kill stops the process with SIGKILL (a broker crash) and waits for the
// port to be free.
func (m *Mosquitto) Kill() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGKILL)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("tcp", m.Addr); err != nil {
			return
		} else {
			c.Close()
		}
	}
}

// Log returns what mosquitto logged.
func (m *Mosquitto) Log() string {
	b, _ := os.ReadFile(m.log)
	return string(b)
}

func freePort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

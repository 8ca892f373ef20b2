package broker_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/pki"
)

// TestMosquitto runs the same gateway rights specification against
// Mosquitto started with deploy/mosquitto/mosquitto.conf (paths and port
// changed) and an ACL from broker.WriteMosquittoACL. It needs the
// mosquitto binary and fails without it: ./test.sh installs it.
func TestMosquitto(t *testing.T) {
	f := newFixture(t)
	addr := startMosquitto(t, f, enrolled)
	hq := mustConnect(t, addr, f.hqService)
	checkGatewayRights(t, f, addr, &mqttHQ{c: hq}, brokerDiffs{})
}

// mqttHQ is HQ's side of a Mosquitto broker: an MQTT client with the
// seathq service certificate.
type mqttHQ struct{ c *mqttClient }

func (h *mqttHQ) receiveAll(t *testing.T) <-chan hqMsg {
	t.Helper()
	ch := make(chan hqMsg, 100)
	tok := h.c.c.Subscribe("seats/v1/#", 1, func(_ mqtt.Client, m mqtt.Message) {
		if !strings.HasPrefix(string(m.Payload()), "hq:") {
			ch <- hqMsg{strings.ReplaceAll(m.Topic(), "/", "."), string(m.Payload())}
		}
	})
	if !tok.WaitTimeout(opTimeout) || tok.Error() != nil {
		t.Fatalf("HQ subscribe seats/v1/#: %v", tok.Error())
	}
	if got := tok.(*mqtt.SubscribeToken).Result()["seats/v1/#"]; got != 1 {
		t.Fatalf("HQ subscribe seats/v1/#: granted %#x, want 1", got)
	}
	return ch
}

func (h *mqttHQ) publish(t *testing.T, subject, payload string) {
	t.Helper()
	h.c.publish(t, topic(subject), 1, false, payload)
}

// mosquittoBinary finds mosquitto on PATH or in /usr/sbin (where Debian
// puts it, often outside a user's PATH).
func mosquittoBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
		return "/usr/sbin/mosquitto"
	}
	where := "locally"
	if os.Getenv("CI") == "true" {
		where = "in CI"
	}
	t.Fatalf("mosquitto not found (PATH or /usr/sbin) %s: the Mosquitto tests need it; "+
		"install it with `apt-get install -y mosquitto` (./test.sh does this when run as root)", where)
	return ""
}

// startMosquitto writes the TLS files and ACL into a temporary directory,
// adapts deploy/mosquitto/mosquitto.conf to them and a free loopback
// port, runs mosquitto and returns its address. The process is stopped
// on cleanup.
func startMosquitto(t *testing.T, f *fixture, gateways []broker.GatewayIdentity) string {
	t.Helper()
	bin := mosquittoBinary(t)
	dir := t.TempDir()
	write := func(name string, data []byte, perm os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := pki.WriteFileAtomic(p, data, perm); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var acl bytes.Buffer
	if err := broker.WriteMosquittoACL(&acl, []string{hqUser}, gateways); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	replace := map[string]string{
		"listener":             fmt.Sprintf("listener %d 127.0.0.1", port),
		"cafile":               "cafile " + write("ca.pem", f.ca.CertPEM(), 0o644),
		"certfile":             "certfile " + write("server.pem", f.serverCert, 0o644),
		"keyfile":              "keyfile " + write("server-key.pem", f.serverKey, 0o600),
		"acl_file":             "acl_file " + write("acl", acl.Bytes(), 0o644),
		"persistence_location": "persistence_location " + filepath.Join(dir, "data") + "/",
		"log_dest":             "log_dest stderr",
	}
	conf := adaptConf(t, "../../deploy/mosquitto/mosquitto.conf", replace)
	// As root, mosquitto drops to the "mosquitto" user, which cannot read
	// the test's files; the option has no effect for other users.
	conf += "\nuser " + me.Username + "\nlog_type all\n"
	confPath := write("mosquitto.conf", []byte(conf), 0o644)

	cmd := exec.Command(bin, "-c", confPath)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mosquitto: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("mosquitto output:\n%s", out.String())
		}
	})

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return addr
		}
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("mosquitto exited at start (%v):\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto not listening on %s after 10 s:\n%s", addr, out.String())
		}
	}
}

// adaptConf returns the configuration file at path with every line whose
// first word is a key of replace replaced by its value. Each key must
// occur, so the test notices when the deployed file changes shape.
func adaptConf(t *testing.T, path string, replace map[string]string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var b strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if key, _, _ := strings.Cut(strings.TrimSpace(line), " "); replace[key] != "" && !strings.HasPrefix(line, "#") {
			line = replace[key]
			seen[key] = true
		}
		b.WriteString(line + "\n")
	}
	for key := range replace {
		if !seen[key] {
			t.Fatalf("%s has no %q line", path, key)
		}
	}
	return b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/sync/brokertest"
)

// hqProc is one seathq process and its files.
type hqProc struct {
	t       *testing.T
	dir     string
	cfgPath string
	api     string // http://127.0.0.1:port
	mqtt    string // 127.0.0.1:port
	cmd     *exec.Cmd
	logs    *syncBuffer
	done    chan error // the exit error, then closed
}

const seathqConfig = `data_dir: %s
secrets_dir: %s
replicas: %d
api:
  listen: %s
firmware:
  listen: %s
  hosts: [127.0.0.1]
  rollout_every: 500ms
embedded:
  server_name: %s
  client_listen: %s
  mqtt_listen: %s
  mqtt_hosts: [127.0.0.1, localhost]
%s`

// newHQ writes a seathq configuration in a new directory. cluster, when not
// empty, is extra YAML for the embedded section (routes).
func newHQ(t *testing.T, name string, replicas int, cluster string) *hqProc {
	t.Helper()
	dir := t.TempDir()
	h := &hqProc{t: t, dir: dir, cfgPath: filepath.Join(dir, "seathq.yaml")}
	apiAddr, mqttAddr := freePort(t), freePort(t)
	h.api, h.mqtt = "http://"+apiAddr, mqttAddr
	cfg := fmt.Sprintf(seathqConfig, filepath.Join(dir, "data"), filepath.Join(dir, "secrets"), replicas,
		apiAddr, freePort(t), name, freePort(t), mqttAddr, cluster)
	if err := os.WriteFile(h.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *hqProc) start() {
	h.t.Helper()
	h.cmd, h.done, h.logs = startProcess(h.t, "seathq "+h.dir, seathqBin, "run", "--config", h.cfgPath)
}

// waitReady waits until the API answers healthz.
func (h *hqProc) waitReady() {
	h.t.Helper()
	deadline := time.Now().Add(150 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-h.done:
			h.t.Fatalf("seathq exited at start: %v\n%s", err, h.logs.String())
		default:
		}
		if resp, err := http.Get(h.api + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("seathq did not become ready\n%s", h.logs.String())
}

func (h *hqProc) kill() {
	h.t.Helper()
	h.cmd.Process.Signal(syscall.SIGKILL)
	<-h.done
}

// ctl runs seatctl against this HQ and returns its output, failing the test
// on an error.
func (h *hqProc) ctl(args ...string) string {
	h.t.Helper()
	out, err := h.ctlErr(args...)
	if err != nil {
		h.t.Fatalf("seatctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (h *hqProc) ctlErr(args ...string) (string, error) {
	// The API flags go after the command words.
	n := 1
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
		n = 2
	}
	full := append(append([]string{}, args[:n]...), "--dir", filepath.Join(h.dir, "secrets"), "--hq", h.api)
	full = append(full, args[n:]...)
	out, err := exec.Command(seatctlBin, full...).CombinedOutput()
	return string(out), err
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// enrolGateway enrols g at HQ with its device key, has HQ certify that key,
// and adds the hq: section to g's configuration.
func enrolGateway(t *testing.T, h *hqProc, g *gw, centre, gateway string) {
	t.Helper()
	out, err := g.seatgate("key", "show", "--config", g.cfgPath)
	if err != nil {
		t.Fatalf("key show: %v\n%s", err, out)
	}
	key := regexp.MustCompile(`device_key: (\S+)`).FindStringSubmatch(out)
	if key == nil {
		t.Fatalf("key show printed no key:\n%s", out)
	}
	h.ctl("gateway", "enrol", "--centre", centre, "--gateway", gateway, "--device-key", key[1], "--note", "e2e")
	certDir := filepath.Join(g.dir, "tls")
	h.ctl("gateway", "cert", "--centre", centre, "--gateway", gateway, "--out", certDir)
	hqKey := regexp.MustCompile(`hq_key: (\S+)`).FindStringSubmatch(h.ctl("hq", "keys"))
	section := fmt.Sprintf("hq:\n  broker: tls://%s\n  ca: %s\n  cert: %s\n  key: device\n  hq_key: %s\n  batches_per_second: 200\n",
		h.mqtt, filepath.Join(certDir, "hq-ca.pem"), filepath.Join(certDir, "gateway.pem"), hqKey[1])
	f, err := os.OpenFile(g.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(section)
	f.Close()
}

type hqGateway struct {
	Centre  string `json:"centre"`
	Gateway string `json:"gateway"`
	Live    struct {
		State string `json:"state"`
	} `json:"live"`
	Chain *struct {
		Seq           uint64            `json:"seq"`
		AnomalyCounts map[string]uint64 `json:"anomaly_counts"`
	} `json:"chain"`
}

// gatewayAtHQ reads one gateway from HQ's API.
func (h *hqProc) gatewayAtHQ(centre, gateway string) (hqGateway, error) {
	token, err := os.ReadFile(filepath.Join(h.dir, "secrets", "api-token"))
	if err != nil {
		return hqGateway{}, err
	}
	req, _ := http.NewRequest("GET", h.api+"/api/v1/gateways/"+centre+"/"+gateway, nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return hqGateway{}, err
	}
	defer resp.Body.Close()
	var g hqGateway
	if resp.StatusCode != 200 {
		return g, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return g, json.NewDecoder(resp.Body).Decode(&g)
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", timeout, what)
	return 0
}

const planJSON = `{"id":"monthly","name":"Monthly","grace_days":3,"price_pkr":3500}`

// putPlan puts the plan "monthly" at HQ and returns today and a month from
// now, for members of it.
func putPlan(t *testing.T, h *hqProc) (today, until string) {
	t.Helper()
	plan := filepath.Join(t.TempDir(), "plan.json")
	writeFile(plan, planJSON)
	h.ctl("plan", "put", "--centre", "e2e-centre", plan)
	return time.Now().Format("2006-01-02"), time.Now().AddDate(0, 1, 0).Format("2006-01-02")
}

// putMember puts member m-{i} with card 04A0000{i} through seatctl.
func putMember(t *testing.T, h *hqProc, i int, today, until string) {
	t.Helper()
	h.ctl("member", "put", "--centre", "e2e-centre", "--id", fmt.Sprintf("m-%d", i), "--name", "Member",
		"--plan", "monthly", "--from", today, "--until", until)
	h.ctl("card", "add", "--centre", "e2e-centre", "--member", fmt.Sprintf("m-%d", i), fmt.Sprintf("%08X", 0x04A00000+i))
}

// The whole system with real processes: seathq (embedded NATS), seatctl and
// a gateway. Enrolment and certificates through seatctl, memberships from a
// CSV reach the gateway, taps reach HQ's ledger and occupancy, a revocation
// reaches the desk, and seathq SIGKILLed in the middle of a stream of taps
// loses and doubles nothing.
func TestSystemWithSeathq(t *testing.T) {
	h := newHQ(t, "hq-1", 1, "")
	h.start()
	h.waitReady()
	g := newGW(t)
	enrolGateway(t, h, g, "e2e-centre", "gw-1")

	dir := t.TempDir()
	today, until := putPlan(t, h)
	var csv strings.Builder
	csv.WriteString("member_id,name,plan,valid_from,valid_until,cards\n")
	for i := 1; i <= 6; i++ {
		fmt.Fprintf(&csv, "m-%d,Member %d,monthly,%s,%s,%08X\n", i, i, today, until, 0x04A00000+i)
	}
	members := filepath.Join(dir, "members.csv")
	writeFile(members, csv.String())
	if out := h.ctl("members", "import", "--centre", "e2e-centre", members); !strings.Contains(out, "6 members written") {
		t.Fatalf("import: %s", out)
	}

	g.start()
	// The membership arrives by catch-up: the first card is let in.
	waitUntil(t, "the membership at the gateway", 20*time.Second, func() bool {
		return g.tap("desk-1", "04A00001").Outcome == "checkin"
	})
	waitUntil(t, "the gateway online at HQ", 20*time.Second, func() bool {
		gw, err := h.gatewayAtHQ("e2e-centre", "gw-1")
		return err == nil && gw.Live.State == "online"
	})

	// A revocation at HQ reaches the desk.
	h.ctl("card", "revoke", "--centre", "e2e-centre", "04A00002")
	took := waitUntil(t, "the revocation at the desk", 10*time.Second, func() bool {
		return g.tap("desk-2", "04A00002").Outcome == "deny"
	})
	t.Logf("revocation reached the desk in %v (polling taps every 20 ms)", took)

	// Taps stream while seathq is SIGKILLed and restarted.
	taps := 0
	tapSome := func(n int) {
		for i := 0; i < n; i++ {
			reader := fmt.Sprintf("desk-%d", 3+taps%4)
			g.tap(reader, fmt.Sprintf("%08X", 0x04A00003+taps%4))
			taps++
		}
	}
	tapSome(20)
	h.kill()
	tapSome(20)
	h.start()
	h.waitReady()
	tapSome(20)

	last := g.events()[len(g.events())-1].Seq
	waitUntil(t, "every event stored at HQ", 60*time.Second, func() bool {
		gw, err := h.gatewayAtHQ("e2e-centre", "gw-1")
		return err == nil && gw.Chain != nil && gw.Chain.Seq == last
	})
	gwAtHQ, _ := h.gatewayAtHQ("e2e-centre", "gw-1")
	if len(gwAtHQ.Chain.AnomalyCounts) != 0 {
		t.Errorf("anomalies at HQ: %v", gwAtHQ.Chain.AnomalyCounts)
	}
	var health struct {
		Outbox struct {
			Depth     uint64 `json:"depth"`
			Delivered uint64 `json:"delivered"`
		} `json:"outbox"`
	}
	waitUntil(t, "the outbox empty", 30*time.Second, func() bool {
		g.call("GET", "/healthz", nil, &health)
		return health.Outbox.Depth == 0 && health.Outbox.Delivered == last
	})

	// The seatctl views.
	if out := h.ctl("gateways"); !regexp.MustCompile(`e2e-centre\s+gw-1\s+online`).MatchString(out) || !strings.Contains(out, fmt.Sprint(last)) {
		t.Errorf("seatctl gateways:\n%s", out)
	}
	waitUntil(t, "occupancy at HQ", 10*time.Second, func() bool {
		out, _ := h.ctlErr("occupancy", "--centre", "e2e-centre")
		return strings.Contains(out, "A-01") && strings.Contains(out, "m-1")
	})
	out := h.ctl("ledger", "--centre", "e2e-centre", "--from", today, "--to", today)
	if !strings.Contains(out, today) {
		t.Errorf("seatctl ledger:\n%s", out)
	}
	mf := filepath.Join(dir, "membership.json")
	if out := h.ctl("membership", "get", "--centre", "e2e-centre", "--out", mf); !strings.Contains(out, "6 members") {
		t.Errorf("membership get: %s", out)
	}
	// The signed file imports at an offline centre's gateway, which pins
	// HQ's key and nothing else; a changed byte is refused.
	offline := newGW(t)
	hqKey := regexp.MustCompile(`hq_key: (\S+)`).FindStringSubmatch(h.ctl("hq", "keys"))[1]
	f, _ := os.OpenFile(offline.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "hq:\n  hq_key: %s\n", hqKey)
	f.Close()
	if out, err := offline.seatgate("members", "import", "--config", offline.cfgPath, mf); err != nil {
		t.Errorf("import of HQ's signed membership: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(mf)
	os.WriteFile(mf, []byte(strings.Replace(string(data), "Member 1", "Member X", 1)), 0o600)
	if out, err := offline.seatgate("members", "import", "--config", offline.cfgPath, mf); err == nil {
		t.Errorf("a tampered membership was imported:\n%s", out)
	}
}

// get reads JSON from HQ's API.
func (h *hqProc) get(path string, out any) error {
	token, err := os.ReadFile(filepath.Join(h.dir, "secrets", "api-token"))
	if err != nil {
		return err
	}
	req, _ := http.NewRequest("GET", h.api+path, nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// copySecrets copies HQ's secrets from one node to another: every node of a
// cluster holds the same key, CA, token and password.
func copySecrets(t *testing.T, from, to *hqProc) {
	t.Helper()
	src, dst := filepath.Join(from.dir, "secrets"), filepath.Join(to.dir, "secrets")
	out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput()
	if err != nil {
		os.MkdirAll(dst, 0o700)
		out, err = exec.Command("cp", "-a", src+"/.", dst).CombinedOutput()
	}
	if err != nil {
		t.Fatalf("copy secrets: %v %s", err, out)
	}
	// Each node issues its own MQTT certificate.
	os.Remove(filepath.Join(dst, "mqtt-server.pem"))
	os.Remove(filepath.Join(dst, "mqtt-server.key"))
}

// A 3-node HQ cluster (three seathq processes, each with its embedded NATS,
// streams and buckets with 3 replicas); one node is SIGKILLed in the middle
// of a stream of taps: no event lost, none counted twice in the ledger.
func TestClusterNodeKilled(t *testing.T) {
	ports := []string{freePort(t), freePort(t), freePort(t)}
	routes := "[" + "nats-route://" + ports[0] + ", nats-route://" + ports[1] + ", nats-route://" + ports[2] + "]"
	var nodes []*hqProc
	for i := range 3 {
		extra := fmt.Sprintf("  cluster_listen: %s\n  cluster_name: seathq-e2e\n  routes: %s\n", ports[i], routes)
		nodes = append(nodes, newHQ(t, fmt.Sprintf("hq-%d", i+1), 3, extra))
	}
	if out, err := exec.Command(seathqBin, "init", "--config", nodes[0].cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("seathq init: %v\n%s", err, out)
	}
	copySecrets(t, nodes[0], nodes[1])
	copySecrets(t, nodes[0], nodes[2])
	for _, n := range nodes {
		n.start()
	}
	start := time.Now()
	for _, n := range nodes {
		n.waitReady()
	}
	t.Logf("cluster ready in %v", time.Since(start))
	h := nodes[0]
	g := newGW(t)
	enrolGateway(t, h, g, "e2e-centre", "gw-1")
	today, until := putPlan(t, h)
	for i := 3; i <= 6; i++ {
		putMember(t, h, i, today, until)
	}
	g.start()
	waitUntil(t, "the membership at the gateway", 30*time.Second, func() bool {
		if g.tap("desk-3", "04A00003").Outcome == "checkin" {
			g.tap("desk-3", "04A00003") // and out again
			return true
		}
		return false
	})

	taps := 0
	tapSome := func(n int) {
		for range n {
			k := 3 + taps%4
			g.tap(fmt.Sprintf("desk-%d", k), fmt.Sprintf("%08X", 0x04A00000+k))
			taps++
			time.Sleep(10 * time.Millisecond)
		}
	}
	tapSome(40)
	nodes[2].kill() // may lead the streams: JetStream elects another leader
	tapSome(40)
	t.Logf("taps done at %v", time.Since(start))
	events := g.events()
	last := events[len(events)-1].Seq
	waitUntil(t, "every event stored at HQ", 90*time.Second, func() bool {
		gw, err := h.gatewayAtHQ("e2e-centre", "gw-1")
		return err == nil && gw.Chain != nil && gw.Chain.Seq == last
	})
	t.Logf("events stored at %v", time.Since(start))
	checkouts := 0
	for _, e := range events {
		if e.Kind == "checkout" {
			checkouts++
		}
	}
	day := events[0].Time.In(karachi).Format("2006-01-02")
	var days []struct {
		Sessions int64 `json:"sessions"`
		Verified bool  `json:"verified"`
	}
	path := "/api/v1/centres/e2e-centre/ledger?from=" + day + "&to=" + day
	waitUntil(t, "the ledger folded", 90*time.Second, func() bool {
		return h.get(path, &days) == nil && len(days) == 1 && days[0].Sessions >= int64(checkouts)
	})
	time.Sleep(2 * time.Second) // anything counted twice would show now
	if err := h.get(path, &days); err != nil || days[0].Sessions != int64(checkouts) {
		t.Fatalf("ledger sessions %+v (%v), want exactly %d", days, err, checkouts)
	}
	// A gap is a batch that arrived before its predecessor was stored (the
	// leader changed under it): HQ acknowledged its head and the gateway
	// resent. Forks and resets would be evidence of tampering.
	gw, _ := h.gatewayAtHQ("e2e-centre", "gw-1")
	if gw.Chain.AnomalyCounts["fork"] != 0 || gw.Chain.AnomalyCounts["reset"] != 0 {
		t.Errorf("anomalies at HQ: %v", gw.Chain.AnomalyCounts)
	}
	t.Logf("ledger checked at %v; anomalies %v", time.Since(start), gw.Chain.AnomalyCounts)
	t.Logf("%d events, %d sessions, all at HQ and counted once with node 3 of 3 killed", last, checkouts)
}

// With the disk quota reached the gateway keeps serving desks, says so in
// its health, and prunes what HQ acknowledged — never what it has not.
func TestDiskAlarmPrunesOnlyDeliveredEvents(t *testing.T) {
	h := newHQ(t, "hq-1", 1, "")
	h.start()
	h.waitReady()
	g := newGW(t)
	enrolGateway(t, h, g, "e2e-centre", "gw-1")
	f, _ := os.OpenFile(g.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("  min_free_mb: 1048576\n") // a terabyte: the alarm is always up
	f.Close()
	// Withdrawn at HQ: the broker refuses the gateway, nothing is delivered.
	h.ctl("gateway", "remove", "--centre", "e2e-centre", "--gateway", "gw-1")
	g.start()
	for i := range 3 {
		if r := g.tap("desk-1", fmt.Sprintf("0BAD%04X", i)); r.Outcome != "deny" {
			t.Fatalf("tap with the disk alarm up: %+v", r)
		}
	}
	type health struct {
		Status string `json:"status"`
		Outbox struct {
			LastSeq   uint64 `json:"last_seq"`
			Delivered uint64 `json:"delivered"`
			Pruned    uint64 `json:"pruned"`
		} `json:"outbox"`
		HQ struct {
			DiskAlarm string `json:"disk_alarm"`
		} `json:"hq"`
	}
	var hl health
	waitUntil(t, "the disk alarm in health", 15*time.Second, func() bool {
		hl = health{}
		g.call("GET", "/healthz", nil, &hl)
		return hl.HQ.DiskAlarm != "" && hl.Status == "degraded"
	})
	time.Sleep(6 * time.Second) // at least one more check while alarmed
	g.call("GET", "/healthz", nil, &hl)
	if hl.Outbox.Pruned != 0 || hl.Outbox.LastSeq != 3 {
		t.Fatalf("undelivered events pruned: %+v", hl.Outbox)
	}
	// Enrolled again: the events reach HQ, and only then are they pruned.
	out, _ := g.seatgate("key", "show", "--config", g.cfgPath)
	key := regexp.MustCompile(`device_key: (\S+)`).FindStringSubmatch(out)[1]
	h.ctl("gateway", "enrol", "--centre", "e2e-centre", "--gateway", "gw-1", "--device-key", key)
	waitUntil(t, "delivered and pruned", 90*time.Second, func() bool {
		g.call("GET", "/healthz", nil, &hl)
		return hl.Outbox.Delivered == 3 && hl.Outbox.Pruned == 3
	})
	t.Logf("alarm: %s", hl.HQ.DiskAlarm)
}

// Broker portability: a gateway connected to a Mosquitto process, which
// seathq serves through its relay. Membership reaches the desk, and every
// event reaches HQ's ledger.
func TestGatewayOnMosquittoWithSeathq(t *testing.T) {
	mq := brokertest.StartMosquitto(t, "allow_anonymous true\n")
	h := newHQ(t, "hq-1", 1, "")
	f, _ := os.OpenFile(h.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "mosquitto:\n  broker: tcp://%s\n", mq.Addr)
	f.Close()
	h.start()
	h.waitReady()
	g := newGW(t)
	enrolGateway(t, h, g, "e2e-centre", "gw-1")
	// The same gateway, but on Mosquitto (loopback, no TLS in this test;
	// TLS and per-gateway ACLs on Mosquitto are tested in hq/broker).
	cfg, _ := os.ReadFile(g.cfgPath)
	cfg = regexp.MustCompile(`broker: tls://\S+`).ReplaceAll(cfg, []byte("broker: tcp://"+mq.Addr))
	os.WriteFile(g.cfgPath, cfg, 0o600)

	today, until := putPlan(t, h)
	putMember(t, h, 1, today, until)
	g.start()
	waitUntil(t, "the membership at the gateway, through Mosquitto", 30*time.Second, func() bool {
		return g.tap("desk-1", "04A00001").Outcome == "checkin"
	})
	for range 5 {
		g.tap("desk-1", "04A00001")
	}
	last := g.events()[len(g.events())-1].Seq
	waitUntil(t, "every event at HQ, through Mosquitto", 60*time.Second, func() bool {
		gw, err := h.gatewayAtHQ("e2e-centre", "gw-1")
		return err == nil && gw.Chain != nil && gw.Chain.Seq == last
	})
	waitUntil(t, "the gateway online at HQ", 30*time.Second, func() bool {
		gw, err := h.gatewayAtHQ("e2e-centre", "gw-1")
		return err == nil && gw.Live.State == "online"
	})
	if acl := h.ctl("mosquitto-acl"); !strings.Contains(acl, "user e2e-centre.gw-1") || !strings.Contains(acl, "user seathq") {
		t.Errorf("mosquitto ACL:\n%s", acl)
	}
}

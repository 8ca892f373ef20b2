package e2e_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Releases of seatgate built by the test, with the version (and, for the
// failure paths, a fault) set at link time.
var (
	versionsMu sync.Mutex
	versions   = map[string]string{} // "1.1.0" or "1.2.0+crash-at-start" → binary
)

const daemonPkg = "github.com/pkfreelance/seatgate/cmd/seatgate/internal/daemon"

// buildRelease builds seatgate as version, with fault built in ("" none).
func buildRelease(t *testing.T, version, fault string) string {
	t.Helper()
	versionsMu.Lock()
	defer versionsMu.Unlock()
	key := version + "+" + fault
	if b, ok := versions[key]; ok {
		return b
	}
	bin := filepath.Join(filepath.Dir(seatgateBin), "seatgate-"+version)
	ldflags := "-X main.version=" + version
	if fault != "" {
		ldflags += " -X " + daemonPkg + ".fault=" + fault
	}
	args := []string{"build", "-o", bin, "-ldflags", ldflags}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, "..")...).CombinedOutput()
	if err != nil {
		t.Fatalf("build seatgate %s: %v\n%s", version, err, out)
	}
	versions[key] = bin
	return bin
}

// fwHQ is a seathq with firmware downloads and fast rollouts, and the
// release manager's keys.
type fwHQ struct {
	*hqProc
	keys string // root and release keys, root metadata
}

func newFWHQ(t *testing.T) *fwHQ {
	t.Helper()
	h := newHQ(t, "hq-fw", 1, "")
	h.start()
	h.waitReady()
	f := &fwHQ{hqProc: h, keys: filepath.Join(h.dir, "release-keys")}
	// The release manager: an offline root key, a release key it vouches
	// for (root version 2), both documents published at HQ.
	f.local("release", "keys", "root", "--out", f.keys)
	f.local("release", "keys", "release", "--root-key", filepath.Join(f.keys, "root.key"),
		"--root", filepath.Join(f.keys, "root-1.json"), "--out", f.keys)
	return f
}

// local runs a seatctl command that needs no HQ (the release manager's).
func (f *fwHQ) local(args ...string) string {
	f.t.Helper()
	out, err := exec.Command(seatctlBin, args...).CombinedOutput()
	if err != nil {
		f.t.Fatalf("seatctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// publish signs bin as version with the release key and publishes it.
func (f *fwHQ) publish(t *testing.T, version, bin string) {
	t.Helper()
	manifest := filepath.Join(f.keys, "seatgate-"+version+".manifest")
	f.local("release", "sign", "--key", filepath.Join(f.keys, "release.key"), "--version", version,
		"--channel", "stable", "--arch", runtimeArch(t), "--out", manifest, bin)
	f.ctl("release", "publish", "--manifest", manifest,
		"--root", filepath.Join(f.keys, "root-1.json")+","+filepath.Join(f.keys, "root-2.json"), bin)
}

// runtimeArch is the arch the gateway under test reports.
func runtimeArch(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOOS", "GOARCH").Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	a := f[0] + "/" + f[1]
	if f[1] == "arm" {
		a += "/7"
	}
	return a
}

// rollout starts a rollout of version to the canary gateway and returns its id.
func (f *fwHQ) rollout(t *testing.T, id, version string) {
	t.Helper()
	f.ctl("rollout", "start", "--id", id, "--version", version, "--canary", "e2e-centre/gw-1", "--percent", "100")
}

type rolloutStatus struct {
	State  string `json:"state"`
	Reason string `json:"reason"`
	Counts struct {
		Succeeded, Failed, Unreachable, InProgress int
	} `json:"counts"`
}

func (f *fwHQ) rolloutStatus(t *testing.T, id string) rolloutStatus {
	t.Helper()
	var st struct {
		State  string `json:"state"`
		Reason string `json:"reason"`
		Counts struct {
			Succeeded   int `json:"succeeded"`
			Failed      int `json:"failed"`
			Unreachable int `json:"unreachable"`
			InProgress  int `json:"in_progress"`
		} `json:"counts"`
	}
	if err := f.get("/api/v1/rollouts/"+id, &st); err != nil {
		t.Fatal(err)
	}
	r := rolloutStatus{State: st.State, Reason: st.Reason}
	r.Counts.Succeeded, r.Counts.Failed, r.Counts.Unreachable, r.Counts.InProgress =
		st.Counts.Succeeded, st.Counts.Failed, st.Counts.Unreachable, st.Counts.InProgress
	return r
}

// fwGateway is a gateway run by `seatgate supervise`, as systemd would.
type fwGateway struct {
	*gw
	factory string // the binary systemd starts (installed into slot a at the first start)
	serve   string // its LAN chunk server (firmware.serve), for peers
	bootID  string // the fake boot ID file: rewriting it is a reboot
	sup     *exec.Cmd
	supDone chan error
	supLogs *syncBuffer
}

func newFWGateway(t *testing.T, f *fwHQ, factory string) *fwGateway {
	t.Helper()
	g := newGW(t)
	enrolGateway(t, f.hqProc, g, "e2e-centre", "gw-1")
	// A malicious mirror on the centre's LAN: it answers every range with
	// other bytes. The gateway must drop it and fetch from HQ.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var from, to int64
		if _, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &from, &to); err != nil || to < from {
			http.Error(w, "range please", http.StatusRequestedRangeNotSatisfiable)
			return
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/*", from, to))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(bytes.Repeat([]byte{0xEE}, int(to-from+1)))
	}))
	t.Cleanup(evil.Close)
	serve := freePort(t)
	fw := fmt.Sprintf("firmware:\n  root: %s\n  dwell: 10s\n  start_jitter: 0s\n  rate_kbps: 8192\n  peers: [%s]\n  serve: %s\n",
		filepath.Join(f.keys, "root-1.json"), evil.URL, serve)
	a, err := os.OpenFile(g.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	a.WriteString(fw)
	a.Close()
	fg := &fwGateway{gw: g, factory: factory, bootID: filepath.Join(g.dir, "boot_id"), serve: "http://" + serve}
	fg.reboot()
	return fg
}

// reboot writes a new boot ID.
func (g *fwGateway) reboot() {
	if err := os.WriteFile(g.bootID, []byte(strconv.FormatInt(time.Now().UnixNano(), 16)+"\n"), 0o600); err != nil {
		g.t.Fatal(err)
	}
}

// supervise starts the supervisor in its own process group.
func (g *fwGateway) supervise() {
	g.t.Helper()
	logs := &syncBuffer{}
	cmd := exec.Command(g.factory, "supervise", "--config", g.cfgPath, "--boot-id", g.bootID)
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); close(done) }()
	g.sup, g.supDone, g.supLogs = cmd, done, logs
	g.logs = logs
	g.t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if g.t.Failed() || os.Getenv("E2E_LOGS") != "" {
			g.t.Logf("supervisor log (last 150 lines):\n%s", tail(logs.String(), 150))
		}
	})
}

// powerCut kills the supervisor and its child at once, and reboots.
func (g *fwGateway) powerCut() {
	g.t.Helper()
	syscall.Kill(-g.sup.Process.Pid, syscall.SIGKILL)
	<-g.supDone
	g.reboot()
}

// version is what /healthz says the running gateway is ("" when down).
func (g *fwGateway) version() string {
	resp, err := client.Get(g.base + "/healthz")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var h struct {
		Version string `json:"version"`
	}
	json.NewDecoder(resp.Body).Decode(&h)
	return h.Version
}

type fwState struct {
	Phase    string   `json:"phase"`
	Version  string   `json:"version"`
	Detail   string   `json:"detail"`
	Done     int      `json:"done"`
	Total    int      `json:"total"`
	Attempts int      `json:"attempts"`
	ReArms   int      `json:"rearms"`
	Floor    string   `json:"floor"`
	Refused  []string `json:"refused"`
	History  []struct {
		Phase, Version, Detail string
	} `json:"history"`
}

// state reads the update state document.
func (g *fwGateway) state() fwState {
	var s fwState
	b, err := os.ReadFile(filepath.Join(g.dir, "data", "firmware", "state.json"))
	if err == nil {
		json.Unmarshal(b, &s)
	}
	return s
}

// TestFirmwareUpdateEndToEnd updates a real gateway through real seathq
// rollouts: a good release commits; one that crashes at start and one that
// fails its health check roll back (and pause their rollouts); a power cut
// during a trial re-arms it; a SIGKILL mid-download resumes without
// fetching again what was on disk; and a committed binary that cannot
// start gives way to the factory binary.
func TestFirmwareUpdateEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds six releases of seatgate")
	}
	type rel struct{ version, fault string }
	rels := []rel{{"1.0.0", ""}, {"1.1.0", ""}, {"1.2.0", "crash-at-start"}, {"1.3.0", "fail-health"}, {"1.4.0", ""}, {"1.5.0", ""}}
	bins := map[string]string{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, r := range rels {
		wg.Go(func() {
			b := buildRelease(t, r.version, r.fault)
			mu.Lock()
			bins[r.version] = b
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	f := newFWHQ(t)
	g := newFWGateway(t, f, bins["1.0.0"])
	g.supervise()
	waitUntil(t, "the factory version to run", 30*time.Second, func() bool { return g.version() == "1.0.0" && g.ready() })

	// 1. A good release: downloaded, tried, committed; HQ learns of each step.
	f.publish(t, "1.1.0", bins["1.1.0"])
	f.rollout(t, "r-110", "1.1.0")
	took := waitUntil(t, "1.1.0 committed", 90*time.Second, func() bool {
		return g.version() == "1.1.0" && g.state().Phase == "committed"
	})
	t.Logf("assignment to committed update: %v", took)
	if !strings.Contains(g.supLogs.String(), `rejected="map[peer 1:1]"`) {
		t.Errorf("the malicious mirror's chunk was not rejected (no rejected=\"map[peer 1:1]\" in the log)")
	}
	waitUntil(t, "rollout r-110 completed", 30*time.Second, func() bool {
		st := f.rolloutStatus(t, "r-110")
		return st.State == "completed" && st.Counts.Succeeded == 1
	})
	s := g.state()
	if s.Floor != "1.1.0" {
		t.Errorf("anti-rollback floor %q, want 1.1.0", s.Floor)
	}
	var phases []string
	for _, e := range s.History {
		phases = append(phases, e.Phase)
	}
	for _, want := range []string{"waiting", "downloading", "ready", "trial", "committed"} {
		if !slices.Contains(phases, want) {
			t.Errorf("history %v lacks %s", phases, want)
		}
	}
	waitUntil(t, "HQ to hear of the commit", 30*time.Second, func() bool {
		var gwAtHQ struct {
			Live struct {
				Firmware *struct {
					Phase   string `json:"phase"`
					Version string `json:"version"`
				} `json:"firmware"`
				Presence *struct {
					Firmware string `json:"firmware"`
				} `json:"presence"`
			} `json:"live"`
		}
		return f.get("/api/v1/gateways/e2e-centre/gw-1", &gwAtHQ) == nil && gwAtHQ.Live.Firmware != nil &&
			gwAtHQ.Live.Firmware.Phase == "committed" && gwAtHQ.Live.Firmware.Version == "1.1.0" &&
			gwAtHQ.Live.Presence != nil && gwAtHQ.Live.Presence.Firmware == "1.1.0"
	})
	// The gateway now serves the release it holds to its centre's peers:
	// a Range request gets exactly those bytes of the artifact.
	want, err := os.ReadFile(bins["1.1.0"])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(want)
	req, _ := http.NewRequest("GET", g.serve+"/firmware/v1/"+hex.EncodeToString(sum[:])+"/artifact", nil)
	req.Header.Set("Range", "bytes=300000-300999")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, want[300000:301000]) {
		t.Errorf("LAN chunk server: %d, %d bytes; want 206 and bytes 300000-300999 of the release", resp.StatusCode, len(got))
	}

	// 2. A release that crashes at start: three attempts, then the
	// committed slot runs again; the canary's failure pauses the rollout.
	f.publish(t, "1.2.0", bins["1.2.0"])
	f.rollout(t, "r-120", "1.2.0")
	waitUntil(t, "1.2.0 rolled back", 90*time.Second, func() bool { return g.state().Phase == "rolled_back" })
	waitUntil(t, "1.1.0 back", 30*time.Second, func() bool { return g.version() == "1.1.0" && g.ready() })
	if s := g.state(); !slices.Contains(s.Refused, "1.2.0") || s.Attempts < 3 {
		t.Errorf("after the crash loop: refused %v, attempts %d; want 1.2.0 refused after 3 attempts", s.Refused, s.Attempts)
	}
	waitUntil(t, "rollout r-120 paused by its failed canary", 30*time.Second, func() bool {
		st := f.rolloutStatus(t, "r-120")
		return st.State == "paused" && st.Counts.Failed == 1
	})
	f.ctl("rollout", "abort", "r-120")

	// 3. A release that starts but fails its health check: rolled back at once.
	f.publish(t, "1.3.0", bins["1.3.0"])
	f.rollout(t, "r-130", "1.3.0")
	waitUntil(t, "1.3.0 rolled back", 90*time.Second, func() bool {
		s := g.state()
		return s.Phase == "rolled_back" && s.Version == "1.3.0"
	})
	if s := g.state(); !strings.Contains(s.Detail, "health") {
		t.Errorf("rollback detail %q does not say health failed", s.Detail)
	}
	waitUntil(t, "1.1.0 back", 30*time.Second, func() bool { return g.version() == "1.1.0" && g.ready() })
	waitUntil(t, "rollout r-130 paused", 30*time.Second, func() bool { return f.rolloutStatus(t, "r-130").State == "paused" })
	f.ctl("rollout", "abort", "r-130")

	// 4. A power cut during the trial re-arms it (no attempt counted), and
	// the release then commits.
	f.publish(t, "1.4.0", bins["1.4.0"])
	f.rollout(t, "r-140", "1.4.0")
	waitUntil(t, "1.4.0 on trial", 90*time.Second, func() bool { return g.state().Phase == "trial" && g.version() == "1.4.0" })
	g.powerCut()
	g.supervise()
	waitUntil(t, "1.4.0 committed after the power cut", 90*time.Second, func() bool {
		return g.version() == "1.4.0" && g.state().Phase == "committed"
	})
	if s := g.state(); s.ReArms != 1 || s.Attempts != 0 {
		t.Errorf("after a power cut in the trial: rearms %d attempts %d, want 1 and 0", s.ReArms, s.Attempts)
	}

	// 5. SIGKILL mid-download (a power cut): the download resumes; at most
	// the chunk in flight is fetched again.
	f.publish(t, "1.5.0", bins["1.5.0"])
	f.rollout(t, "r-150", "1.5.0")
	waitUntil(t, "1.5.0 a quarter downloaded", 60*time.Second, func() bool {
		s := g.state()
		return s.Version == "1.5.0" && s.Phase == "downloading" && s.Done >= s.Total/4 && s.Total > 0
	})
	g.powerCut()
	total := g.state().Total
	g.supervise()
	waitUntil(t, "1.5.0 committed after a SIGKILL mid-download", 90*time.Second, func() bool {
		return g.version() == "1.5.0" && g.state().Phase == "committed"
	})
	m := regexp.MustCompile(`artifact complete and verified.* fetched_bytes=(\d+) resumed_chunks=(\d+)`).FindStringSubmatch(g.supLogs.String())
	if m == nil {
		t.Fatalf("no download summary in the log")
	}
	fetched, _ := strconv.ParseInt(m[1], 10, 64)
	resumed, _ := strconv.Atoi(m[2])
	info, err := os.Stat(bins["1.5.0"])
	if err != nil {
		t.Fatal(err)
	}
	const chunk = 256 << 10
	missing := info.Size() - int64(resumed)*chunk
	t.Logf("after SIGKILL: %d of %d chunks on disk, fetched %d bytes for the %d missing (%.2f chunks more)",
		resumed, total, fetched, missing, float64(fetched-missing)/chunk)
	if resumed == 0 || fetched > missing+chunk {
		t.Errorf("resumed %d chunks, fetched %d bytes for %d missing: want at most one chunk more", resumed, fetched, missing)
	}
	if bytes.Contains([]byte(g.supLogs.String()), []byte("panic:")) {
		t.Errorf("a panic in the logs")
	}

	// 6. The committed slot's binary becomes unusable (a bad card: it
	// lost its execute bit) and the machine restarts: the supervisor runs
	// the factory binary in its place, the desks are served, and HQ sees
	// which version runs and why.
	slot, err := os.Readlink(filepath.Join(g.dir, "data", "firmware", "committed"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(g.dir, "data", "firmware", slot, "seatgate"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.powerCut()
	g.supervise()
	waitUntil(t, "the factory binary in place of 1.5.0", 30*time.Second, func() bool { return g.version() == "1.0.0" && g.ready() })
	waitUntil(t, "HQ to see the factory binary and why", 30*time.Second, func() bool {
		var gwAtHQ struct {
			Live struct {
				Presence *struct {
					Firmware string `json:"firmware"`
				} `json:"presence"`
				Health *struct {
					Update *struct {
						Detail string `json:"detail"`
					} `json:"update"`
				} `json:"health"`
			} `json:"live"`
		}
		return f.get("/api/v1/gateways/e2e-centre/gw-1", &gwAtHQ) == nil && gwAtHQ.Live.Presence != nil &&
			gwAtHQ.Live.Presence.Firmware == "1.0.0" && gwAtHQ.Live.Health != nil && gwAtHQ.Live.Health.Update != nil &&
			strings.HasPrefix(gwAtHQ.Live.Health.Update.Detail, "factory binary running: the committed slot "+filepath.Base(slot)+" cannot start")
	})
}

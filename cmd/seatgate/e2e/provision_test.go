package e2e_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The provisioning of a gateway, deploy/provision.md, run as written: every
// sh block of its Steps section, in order, against a real seathq, and then
// deploy/provision.sh, which must do the same. The Pi's paths are moved
// under a scratch root, and a few commands are replaced by stand-ins on
// PATH (sudo runs as the test's user, apt and systemctl are recorded,
// `systemctl enable --now seatgate` starts the unit's ExecStart, sudoedit
// puts emulated readers in the configuration); everything else — seatgate,
// seatctl, sed, install, tee, curl — is the real thing.

const (
	docPath    = "../../../deploy/provision.md"
	scriptPath = "../../../deploy/provision.sh"
	unitPath   = "../../../deploy/systemd/seatgate.service"
	example    = "../../../deploy/seatgate.example.yaml"
)

// editEnv, when set, makes this test binary the sudoedit stand-in: it
// edits the file it is given (see init) and exits.
const editEnv = "SEATGATE_E2E_SUDOEDIT_LISTEN"

func init() {
	listen := os.Getenv(editEnv)
	if listen == "" {
		return
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "sudoedit stand-in: want one file, got", os.Args[1:])
		os.Exit(2)
	}
	if err := editReaders(os.Args[1], listen); err != nil {
		fmt.Fprintln(os.Stderr, "sudoedit stand-in:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// editReaders does what the installer does in sudoedit: it replaces the
// example's MFRC522 readers with the desks of this centre (emulated here)
// and sets where the owner's API listens.
func editReaders(path, listen string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(data)
	start := strings.Index(s, "\nreaders:\n")
	if start < 0 {
		return errors.New(path + ": no readers: section")
	}
	end := start + len("\nreaders:\n")
	for end < len(s) { // the section ends at the next line starting in column 0
		line, _, _ := strings.Cut(s[end:], "\n")
		if line != "" && line[0] != ' ' && line[0] != '-' {
			break
		}
		end += len(line) + 1
	}
	readers := "readers:\n" +
		"  - {id: desk-1, seat: A-01, zone: A, kind: emulated}\n" +
		"  - {id: desk-2, seat: A-02, zone: A, kind: emulated}\n\n"
	s = s[:start+1] + readers + s[min(end, len(s)):]
	const exampleListen = `  listen: ":8080"`
	if strings.Count(s, exampleListen) != 1 {
		return fmt.Errorf("%s: want one line %q", path, exampleListen)
	}
	s = strings.Replace(s, exampleListen, "  listen: "+listen, 1)
	return os.WriteFile(path, []byte(s), 0o640)
}

// docBlocks returns the sh blocks of provision.md's Steps section.
func docBlocks(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	_, steps, ok := strings.Cut(doc, "\n## Steps\n")
	if !ok {
		t.Fatal("provision.md has no Steps section")
	}
	if i := strings.Index(steps, "\n## "); i >= 0 {
		steps = steps[:i]
	}
	var blocks []string
	sc := bufio.NewScanner(strings.NewReader(steps))
	var cur []string
	in := false
	for sc.Scan() {
		l := sc.Text()
		switch {
		case !in && l == "```sh":
			in, cur = true, nil
		case in && l == "```":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n")+"\n")
		case in:
			cur = append(cur, l)
		}
	}
	if len(blocks) < 8 {
		t.Fatalf("provision.md's Steps have %d sh blocks, want one per step", len(blocks))
	}
	return blocks
}

// The variables of the settings block, which the test sets itself.
var provisionSettings = []string{"CENTRE", "GATEWAY", "NOTE", "BROKER", "SEATHQ_URL", "SEATHQ_TOKEN", "FIRMWARE_ROOT"}

func isSettings(block string) bool { return strings.Contains(block, "export CENTRE=") }
func isInstall(block string) bool  { return strings.Contains(block, "apt install") }

// Every command of steps 3 to 9 (all but the settings and the install) is
// a line of provision.sh, so the script does what the page says.
func TestProvisionScriptFollowsTheDoc(t *testing.T) {
	script, err := os.ReadFile(scriptPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(script), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	settings := 0
	for _, b := range docBlocks(t) {
		if isSettings(b) {
			settings++
			for _, v := range provisionSettings {
				if !strings.Contains(b, v+"=") && !strings.Contains(b, " "+v+" ") {
					t.Errorf("the settings block does not set %s:\n%s", v, b)
				}
			}
			for _, m := range regexp.MustCompile(`\b([A-Z][A-Z_]*)=`).FindAllStringSubmatch(b, -1) {
				if !slices.Contains(provisionSettings, m[1]) {
					t.Errorf("the settings block sets %s, which the test does not", m[1])
				}
			}
			continue
		}
		if isInstall(b) {
			continue
		}
		for _, l := range strings.Split(b, "\n") {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			if !lines[l] {
				t.Errorf("provision.md's command is not in provision.sh: %s", l)
			}
		}
	}
	if settings != 1 {
		t.Errorf("%d settings blocks in provision.md, want 1", settings)
	}
}

// piRoot is one gateway's scratch root and the stand-ins its commands run
// with.
type piRoot struct {
	t       *testing.T
	root    string // stands for /
	shims   string // stand-ins for sudo, sudoedit, apt, systemctl
	bin     string // seatgate and seatctl, as the packages install them
	listen  string // the owner's API, for localhost:8080
	notify  *net.UnixConn
	rewrite *strings.Replacer
}

// newPiRoot prepares what the packages leave behind (step 1): the
// directories of tmpfiles.d/seatgate.conf and the example configuration.
func newPiRoot(t *testing.T) *piRoot {
	t.Helper()
	dir := t.TempDir()
	p := &piRoot{t: t, root: filepath.Join(dir, "root"), shims: filepath.Join(dir, "shims"), bin: filepath.Join(dir, "bin"), listen: freePort(t)}
	grp, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
	if err != nil {
		t.Fatal(err)
	}
	p.rewrite = strings.NewReplacer(
		"/etc/seatgate", filepath.Join(p.root, "etc/seatgate"),
		"/var/lib/seatgate", filepath.Join(p.root, "var/lib/seatgate"),
		"/usr/bin/seatgate", seatgateBin,
		"-g seatgate", "-g "+grp.Name,
		"localhost:8080", p.listen,
	)
	for _, d := range []string{"etc/seatgate", "etc/seatgate/tls", "var/lib/seatgate"} {
		if err := os.MkdirAll(filepath.Join(p.root, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	ex, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.root, "etc/seatgate/seatgate.example.yaml"), []byte(p.rewrite.Replace(string(ex))), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{p.shims, p.bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{"seatgate": seatgateBin, "seatctl": seatctlBin} {
		if err := os.Symlink(target, filepath.Join(p.bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	var notify string
	notify, p.notify = notifySocket(t)
	p.writeShims(notify)
	t.Cleanup(p.stopService)
	return p
}

// writeShims writes the stand-ins. systemctl starts the unit's ExecStart,
// with its paths moved under the root, in a session of its own, with the
// environment systemd gives a Type=notify service with a watchdog: the
// notification socket, and WATCHDOG_PID naming the main process (the
// supervisor, which must hand the watchdog to its child). The interval is
// 1 s instead of the unit's 30 s, to see pings soon.
func (p *piRoot) writeShims(notify string) {
	p.t.Helper()
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		p.t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ExecStart=(.+)$`).FindSubmatch(unit)
	if m == nil {
		p.t.Fatal("seatgate.service has no ExecStart")
	}
	var words []string
	for _, w := range strings.Fields(p.rewrite.Replace(string(m[1]))) {
		words = append(words, "'"+w+"'")
	}
	exe, err := os.Executable()
	if err != nil {
		p.t.Fatal(err)
	}
	calls := filepath.Join(p.shims, "calls.log")
	shims := map[string]string{
		"sudo": `# runs the command as the test's user
while [ $# -gt 0 ]; do
	case $1 in
	-u | -g) shift 2 ;;
	--) shift; break ;;
	-*) shift ;;
	*) break ;;
	esac
done
exec "$@"
`,
		"sudoedit": fmt.Sprintf("%s=%s exec '%s' \"$@\"\n", editEnv, p.listen, exe),
		"apt":      fmt.Sprintf("echo \"apt $*\" >>'%s'\n", calls),
		"systemctl": fmt.Sprintf(`echo "systemctl $*" >>'%[1]s'
if [ "$*" = "enable --now seatgate" ]; then
	NOTIFY_SOCKET='%[5]s' WATCHDOG_USEC=1000000 sh -c 'WATCHDOG_PID=$$ exec setsid "$@"' sh %[2]s </dev/null >>'%[3]s' 2>&1 &
	echo $! >'%[4]s'
fi
`, calls, strings.Join(words, " "), filepath.Join(p.shims, "seatgate.log"), filepath.Join(p.shims, "seatgate.pid"), notify),
	}
	for name, body := range shims {
		if err := os.WriteFile(filepath.Join(p.shims, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			p.t.Fatal(err)
		}
	}
}

// env is the environment of the installer's shell: the settings, and the
// stand-ins and binaries first on PATH.
func (p *piRoot) env(settings map[string]string) []string {
	env := append(os.Environ(), "PATH="+p.shims+":"+p.bin+":"+os.Getenv("PATH"))
	for k, v := range settings {
		env = append(env, k+"="+v)
	}
	return env
}

// bash runs script (its /etc/seatgate and friends moved under the root)
// in dir, as the installer's shell would.
func (p *piRoot) bash(dir, script string, settings map[string]string, args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{"-euo", "pipefail", "-c", p.rewrite.Replace(script), "provision"}, args...)...)
	cmd.Dir = dir
	cmd.Env = p.env(settings)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// calls is what the stand-ins recorded of apt and systemctl.
func (p *piRoot) calls() string {
	b, _ := os.ReadFile(filepath.Join(p.shims, "calls.log"))
	return string(b)
}

// stopService stops what `systemctl enable --now` started: SIGTERM to the
// supervisor's session, as systemd's KillMode=mixed does, then SIGKILL to
// what is left; it waits until the supervisor is gone (it is not this
// process's child: it may linger as a zombie of PID 1 briefly).
func (p *piRoot) stopService() {
	b, err := os.ReadFile(filepath.Join(p.shims, "seatgate.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return
	}
	syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(20 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	for i := 0; alive(pid) && i < 250; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if p.t.Failed() || os.Getenv("E2E_LOGS") != "" {
		log, _ := os.ReadFile(filepath.Join(p.shims, "seatgate.log"))
		p.t.Logf("seatgate.service log (last 100 lines):\n%s", tail(string(log), 100))
	}
}

// alive: pid exists and is not a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z")
}

// notified waits up to 10 s until every one of want has arrived on the
// notification socket; it returns nil then, else what did arrive.
func (p *piRoot) notified(want ...string) []string {
	heard := []string{} // not nil: nil means all arrived
	missing := slices.Clone(want)
	buf := make([]byte, 4096)
	deadline := time.Now().Add(10 * time.Second)
	for len(missing) > 0 {
		p.notify.SetReadDeadline(deadline)
		n, err := p.notify.Read(buf)
		if err != nil {
			return heard
		}
		heard = append(heard, string(buf[:n]))
		for _, line := range strings.Split(string(buf[:n]), "\n") {
			missing = slices.DeleteFunc(missing, func(w string) bool { return w == line })
		}
	}
	return nil
}

// notifySocket listens as systemd's notification socket would.
func notifySocket(t *testing.T) (string, *net.UnixConn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return path, conn
}

func TestProvisionFromTheDoc(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "setsid", "install", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required (CI=true)", tool)
			}
			t.Skipf("%s not found; under CI=true this fails", tool)
		}
	}
	h := newHQ(t, "hq-provision", 1, "")
	h.start()
	h.waitReady()
	token, err := os.ReadFile(filepath.Join(h.dir, "secrets", "api-token"))
	if err != nil {
		t.Fatal(err)
	}
	// The release manager's root metadata, handed to the installer.
	media := t.TempDir()
	if out, err := exec.Command(seatctlBin, "release", "keys", "root", "--out", media).CombinedOutput(); err != nil {
		t.Fatalf("seatctl release keys root: %v\n%s", err, out)
	}
	settings := func(gateway string) map[string]string {
		return map[string]string{
			"CENTRE": "prov-centre", "GATEWAY": gateway, "NOTE": "Gulberg, floor 2",
			"BROKER": "tls://" + h.mqtt, "SEATHQ_URL": h.api, "SEATHQ_TOKEN": strings.TrimSpace(string(token)),
			"FIRMWARE_ROOT": filepath.Join(media, "root-1.json"),
		}
	}
	// online waits until HQ sees the gateway online and its /healthz answers.
	online := func(t *testing.T, p *piRoot, gateway string) {
		t.Helper()
		waitUntil(t, gateway+" online at HQ", 90*time.Second, func() bool {
			g, err := h.gatewayAtHQ("prov-centre", gateway)
			return err == nil && g.Live.State == "online"
		})
		resp, err := client.Get("http://" + p.listen + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("/healthz: HTTP %d", resp.StatusCode)
		}
		cfg, err := os.ReadFile(filepath.Join(p.root, "etc/seatgate/seatgate.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"centre: prov-centre\n", "gateway: " + gateway + "\n", "\nhq:\n", "\nfirmware:\n  root: " + filepath.Join(p.root, "etc/seatgate/firmware-root.json")} {
			if !strings.Contains(string(cfg), want) {
				t.Errorf("seatgate.yaml lacks %q:\n%s", want, cfg)
			}
		}
		if !strings.Contains(p.calls(), "systemctl enable --now seatgate\n") {
			t.Errorf("the service was not enabled and started; calls:\n%s", p.calls())
		}
		// Type=notify with a watchdog: the gateway, the supervisor's
		// child, says it is ready and pings the watchdog.
		if heard := p.notified("READY=1", "WATCHDOG=1"); heard != nil {
			t.Errorf("systemd would have heard only %q: want READY=1 and WATCHDOG=1 from the supervisor's child", heard)
		}
	}

	t.Run("provision.md", func(t *testing.T) {
		p := newPiRoot(t)
		s := settings("gw-1")
		work := t.TempDir() // the installer's working directory
		for i, b := range docBlocks(t) {
			if isSettings(b) {
				continue // the test's settings stand in for the installer's
			}
			out, err := p.bash(work, b, s)
			if err != nil {
				t.Fatalf("provision.md block %d failed: %v\n%s\n--- output:\n%s", i+1, err, b, out)
			}
			t.Logf("block %d:\n%s--- output:\n%s", i+1, b, out)
		}
		online(t, p, "gw-1")
		if !strings.Contains(p.calls(), "apt install ./seatgate_*_arm64.deb ./seatctl_*_arm64.deb") {
			t.Errorf("step 1 did not install the packages; calls:\n%s", p.calls())
		}
	})

	t.Run("provision.sh", func(t *testing.T) {
		p := newPiRoot(t)
		script, err := os.ReadFile(scriptPath)
		if err != nil {
			t.Fatal(err)
		}
		s := settings("gw-2")
		token := s["SEATHQ_TOKEN"]
		out, err := p.bash(t.TempDir(), string(script), map[string]string{"SEATHQ_TOKEN": token},
			"--centre", s["CENTRE"], "--gateway", s["GATEWAY"], "--note", s["NOTE"], "--broker", s["BROKER"],
			"--hq", s["SEATHQ_URL"], "--firmware-root", s["FIRMWARE_ROOT"])
		if err != nil {
			t.Fatalf("provision.sh: %v\n%s", err, out)
		}
		if strings.Contains(out, token) {
			t.Error("provision.sh printed the API token")
		}
		t.Logf("provision.sh:\n%s", out)
		online(t, p, "gw-2")
		// Run again, it changes nothing and succeeds.
		cfg, _ := os.ReadFile(filepath.Join(p.root, "etc/seatgate/seatgate.yaml"))
		p.stopService()
		if out, err := p.bash(t.TempDir(), string(script), map[string]string{"SEATHQ_TOKEN": token},
			"--centre", s["CENTRE"], "--gateway", s["GATEWAY"], "--broker", s["BROKER"], "--hq", s["SEATHQ_URL"]); err != nil {
			t.Fatalf("provision.sh, again: %v\n%s", err, out)
		}
		again, _ := os.ReadFile(filepath.Join(p.root, "etc/seatgate/seatgate.yaml"))
		if string(again) != string(cfg) {
			t.Errorf("provision.sh run again changed seatgate.yaml:\n%s\n--- was:\n%s", again, cfg)
		}
	})
}

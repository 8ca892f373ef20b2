// Package deploy_test checks the deployment files: the systemd units with
// systemd-analyze and against the hardening they must keep, the sysusers.d
// and tmpfiles.d files with systemd's own tools, and the release build
// (release_test.go).
package deploy_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// need returns the path of tool, or ends the test: a failure under CI
// (CI=true), where every dependency must be present, a skip that says what
// to install otherwise.
func need(t *testing.T, tool, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI (Debian package %s)", tool, debianPackage)
	}
	t.Skipf("%s not found: install the Debian package %s to run this test (under CI=true this fails)", tool, debianPackage)
	return ""
}

var units = []string{"seatgate.service", "seathq.service"}

// forVerify copies unit into dir with ExecStart's program replaced by exe,
// so that verify does not fail on a binary that is not installed; every
// other line stays as it is.
func forVerify(t *testing.T, unit, dir, exe string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("systemd", unit))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	replaced := 0
	for i, l := range lines {
		if rest, ok := strings.CutPrefix(l, "ExecStart="); ok {
			_, args, _ := strings.Cut(rest, " ")
			lines[i] = "ExecStart=" + exe + " " + args
			replaced++
		}
	}
	if replaced != 1 {
		t.Fatalf("%s: %d ExecStart= lines, want 1", unit, replaced)
	}
	p := filepath.Join(dir, unit)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// verify runs systemd-analyze verify on path and returns what it reports.
// It logs to the console (not the journal) so that every complaint is
// seen; it exits 0 for many of them, so its output is the verdict.
func verify(t *testing.T, analyze, path string) string {
	t.Helper()
	cmd := exec.Command(analyze, "verify", "--man=no", path)
	cmd.Dir = filepath.Dir(path)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_TARGET=console", "SYSTEMD_LOG_COLOR=0", "SYSTEMD_PAGER=")
	out, err := cmd.CombinedOutput()
	report := strings.TrimSpace(string(out))
	if err != nil {
		report += "\n(exit: " + err.Error() + ")"
	}
	return strings.TrimSpace(report)
}

func TestUnitsVerify(t *testing.T) {
	analyze := need(t, "systemd-analyze", "systemd")
	exe, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, unit := range units {
		t.Run(unit, func(t *testing.T) {
			if report := verify(t, analyze, forVerify(t, unit, dir, exe)); report != "" {
				t.Errorf("systemd-analyze verify %s reports:\n%s", unit, report)
			}
		})
	}
	// The check can fail: a misspelt directive is reported.
	t.Run("a misspelt directive is reported", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.service")
		unit := "[Unit]\nDescription=bad\n[Service]\nExecStart=" + exe + "\nTyp=notify\n"
		if err := os.WriteFile(bad, []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
		if report := verify(t, analyze, bad); !strings.Contains(report, "Typ") {
			t.Errorf("systemd-analyze verify did not report the key Typ; it said %q", report)
		}
	})
}

// The units' exposure, as systemd-analyze security scores it (0 is best,
// 10 worst), stays at most 2.0: a hardening line dropped shows here.
func TestUnitsSecurityExposure(t *testing.T) {
	analyze := need(t, "systemd-analyze", "systemd")
	exe, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, unit := range units {
		t.Run(unit, func(t *testing.T) {
			path := forVerify(t, unit, dir, exe)
			cmd := exec.Command(analyze, "security", "--offline=yes", "--threshold=20", "--no-pager", path)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "SYSTEMD_LOG_TARGET=console", "SYSTEMD_COLORS=0")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("systemd-analyze security %s: exposure above 2.0 (%v):\n%s", unit, err, out)
			}
		})
	}
}

// unitFile is a unit's directives: key to values in order (a key may
// repeat, as DeviceAllow does).
type unitFile map[string][]string

func parseUnit(t *testing.T, name string) unitFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("systemd", name))
	if err != nil {
		t.Fatal(err)
	}
	u := unitFile{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' || l[0] == ';' || l[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("%s: line %q is not key=value", name, l)
		}
		u[k] = append(u[k], v)
	}
	return u
}

// The directives each unit must keep: its start-up protocol, restart
// policy, user and hardening (issue 5, section 5; docs/firmware.md for
// the gateway's KillMode and NotifyAccess).
func TestUnitHardening(t *testing.T) {
	common := map[string]string{
		"Type":                    "notify",
		"WatchdogSec":             "30s",
		"Restart":                 "always",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"NoNewPrivileges":         "yes",
		"CapabilityBoundingSet":   "",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"ProtectControlGroups":    "yes",
		"RestrictNamespaces":      "yes",
		"RestrictSUIDSGID":        "yes",
		"LockPersonality":         "yes",
		"MemoryDenyWriteExecute":  "yes",
		"SystemCallArchitectures": "native",
		"DevicePolicy":            "closed",
	}
	for _, tt := range []struct {
		unit     string
		want     map[string]string
		families []string // RestrictAddressFamilies must be exactly these
		devices  []string // DeviceAllow, exactly (none: no device at all)
	}{
		{
			unit: "seatgate.service",
			want: map[string]string{
				"ExecStart":              "/usr/bin/seatgate supervise --config /etc/seatgate/seatgate.yaml",
				"After":                  "network.target", // desks answer before the network and NTP
				"NotifyAccess":           "all",            // the supervisor's child notifies
				"KillMode":               "mixed",          // SIGTERM to the supervisor only
				"User":                   "seatgate",
				"Group":                  "seatgate",
				"SupplementaryGroups":    "spi gpio",
				"StateDirectory":         "seatgate",
				"ConfigurationDirectory": "seatgate",
			},
			families: []string{"AF_INET", "AF_INET6", "AF_UNIX"},
			devices:  []string{"char-spi rw", "char-gpiochip rw"},
		},
		{
			unit: "seathq.service",
			want: map[string]string{
				"ExecStart":              "/usr/bin/seathq run --config /etc/seathq/seathq.yaml",
				"NotifyAccess":           "main",
				"User":                   "seathq",
				"Group":                  "seathq",
				"StateDirectory":         "seathq",
				"ConfigurationDirectory": "seathq",
				"ReadWritePaths":         "/etc/seathq", // secrets_dir, written at the first start
				"PrivateDevices":         "yes",
			},
			families: []string{"AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"},
		},
	} {
		t.Run(tt.unit, func(t *testing.T) {
			u := parseUnit(t, tt.unit)
			for _, want := range []map[string]string{common, tt.want} {
				for k, v := range want {
					if got := u[k]; len(got) != 1 || got[0] != v {
						t.Errorf("%s: %s=%q, want exactly %s=%s", tt.unit, k, got, k, v)
					}
				}
			}
			if got := strings.Fields(strings.Join(u["RestrictAddressFamilies"], " ")); !slices.Equal(got, tt.families) {
				t.Errorf("%s: RestrictAddressFamilies %q, want %q", tt.unit, got, tt.families)
			}
			if got := u["DeviceAllow"]; !slices.Equal(got, tt.devices) {
				t.Errorf("%s: DeviceAllow %q, want %q", tt.unit, got, tt.devices)
			}
			if f := u["SystemCallFilter"]; !slices.Contains(f, "@system-service") || !slices.ContainsFunc(f, func(s string) bool {
				return strings.HasPrefix(s, "~") && strings.Contains(s, "@privileged")
			}) {
				t.Errorf("%s: SystemCallFilter %q, want @system-service and ~@privileged", tt.unit, f)
			}
			if got := u["WantedBy"]; !slices.Equal(got, []string{"multi-user.target"}) {
				t.Errorf("%s: WantedBy %q, want multi-user.target", tt.unit, got)
			}
		})
	}
}

// The service users and directories, created with systemd's own tools in
// a scratch root: the users exist, and the directories have the owners
// and modes the units rely on (the gateway's key is created by
// 'sudo -u seatgate seatgate key show' before the service first starts).
func TestSysusersAndTmpfiles(t *testing.T) {
	sysusers := need(t, "systemd-sysusers", "systemd")
	tmpfiles := need(t, "systemd-tmpfiles", "systemd")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("creating users and chowning in a scratch root needs root; CI runs as root")
		}
		t.Skip("needs root (systemd-tmpfiles chowns in the scratch root); under CI=true this fails")
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"seatgate.conf", "seathq.conf"} {
		run(t, sysusers, "--root="+root, filepath.Join(here, "sysusers.d", name))
		run(t, tmpfiles, "--create", "--root="+root, filepath.Join(here, "tmpfiles.d", name))
	}
	passwd := readIDs(t, filepath.Join(root, "etc", "passwd"))
	group := readIDs(t, filepath.Join(root, "etc", "group"))
	for _, u := range []string{"seatgate", "seathq"} {
		if _, ok := passwd[u]; !ok {
			t.Errorf("user %s not created", u)
		}
	}
	for _, g := range []string{"seatgate", "seathq", "spi", "gpio"} {
		if _, ok := group[g]; !ok {
			t.Errorf("group %s not created", g)
		}
	}
	for _, d := range []struct {
		path       string
		mode       os.FileMode
		owner, grp string
	}{
		{"etc/seatgate", 0o750, "root", "seatgate"},
		{"etc/seatgate/tls", 0o750, "root", "seatgate"},
		{"var/lib/seatgate", 0o750, "seatgate", "seatgate"},
		{"etc/seathq", 0o750, "seathq", "seathq"},
		{"var/lib/seathq", 0o750, "seathq", "seathq"},
	} {
		uid, gid, mode := stat(t, filepath.Join(root, d.path))
		wantUID, wantGID := passwd[d.owner], group[d.grp]
		if d.owner == "root" {
			wantUID = "0"
		}
		if mode != d.mode || uid != wantUID || gid != wantGID {
			t.Errorf("/%s: mode %v uid %s gid %s, want %v %s(%s) %s(%s)", d.path, mode, uid, gid, d.mode, d.owner, wantUID, d.grp, wantGID)
		}
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// readIDs reads an /etc/passwd or /etc/group file: name to numeric ID.
func readIDs(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Split(l, ":")
		if len(f) >= 3 {
			ids[f[0]] = f[2]
		}
	}
	return ids
}

// stat returns a file's owner, group and permission bits.
func stat(t *testing.T, path string) (uid, gid string, mode os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return strconv.FormatUint(uint64(st.Uid), 10), strconv.FormatUint(uint64(st.Gid), 10), fi.Mode().Perm()
}

package deploy_test

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// releaseScript runs deploy/release.sh with args and returns its output.
func releaseScript(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bash := need(t, "bash", "bash")
	cmd := exec.Command(bash, append([]string{"release.sh"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The release build of one target (linux/amd64, to keep CI fast; the
// others differ only in GOARCH/GOARM): static, stamped binaries, checksums
// that verify, and packages holding what the units and provisioning
// expect where they expect it.
func TestReleaseBuild(t *testing.T) {
	need(t, "go", "golang-go")
	sha256sum := need(t, "sha256sum", "coreutils")
	dpkgDeb := need(t, "dpkg-deb", "dpkg")
	out := t.TempDir()
	const version = "9.8.7"
	if log, err := releaseScript(t, "--targets", "linux/amd64", "--out", out, "--deb", version); err != nil {
		t.Fatalf("release.sh: %v\n%s", err, log)
	}
	dest := filepath.Join(out, version)

	for _, b := range []string{"seatgate", "seathq", "seatctl"} {
		t.Run(b, func(t *testing.T) {
			bin := filepath.Join(dest, "linux-amd64", b)
			got, err := exec.Command(bin, "version").Output()
			if err != nil {
				t.Fatalf("%s version: %v", b, err)
			}
			if want := b + " " + version; strings.TrimSpace(string(got)) != want {
				t.Errorf("%s version printed %q, want %q", b, got, want)
			}
			info, err := buildinfo.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			settings := map[string]string{}
			for _, s := range info.Settings {
				settings[s.Key] = s.Value
			}
			for k, v := range map[string]string{"-trimpath": "true", "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "amd64"} {
				if settings[k] != v {
					t.Errorf("%s built with %s=%q, want %q", b, k, settings[k], v)
				}
			}
			f, err := elf.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// -trimpath keeps -ldflags out of the build info: -s and -w
			// show as the symbol table and DWARF left out.
			for _, sec := range []string{".symtab", ".debug_info", ".zdebug_info"} {
				if f.Section(sec) != nil {
					t.Errorf("%s has section %s: not stripped (-ldflags \"-s -w\")", b, sec)
				}
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Errorf("%s is dynamically linked: it would not run on every Pi image", b)
				}
			}
		})
	}

	t.Run("SHA256SUMS", func(t *testing.T) {
		cmd := exec.Command(sha256sum, "--check", "--strict", "SHA256SUMS")
		cmd.Dir = dest
		if log, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sha256sum --check: %v\n%s", err, log)
		}
		sums, err := os.ReadFile(filepath.Join(dest, "SHA256SUMS"))
		if err != nil {
			t.Fatal(err)
		}
		var listed []string
		for _, l := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
			listed = append(listed, strings.Fields(l)[1])
		}
		want := []string{"linux-amd64/seatctl", "linux-amd64/seatgate", "linux-amd64/seathq",
			"seatctl_9.8.7_amd64.deb", "seatgate_9.8.7_amd64.deb", "seathq_9.8.7_amd64.deb"}
		if !slices.Equal(listed, want) {
			t.Errorf("SHA256SUMS lists %q, want %q", listed, want)
		}
		// A changed file fails the check.
		bin := filepath.Join(dest, "linux-amd64", "seatctl")
		if err := os.WriteFile(bin, []byte("tampered"), 0o755); err != nil {
			t.Fatal(err)
		}
		again := exec.Command(sha256sum, "--check", "--strict", "--quiet", "SHA256SUMS")
		again.Dir = dest
		if log, err := again.CombinedOutput(); err == nil {
			t.Errorf("sha256sum --check passed a tampered binary:\n%s", log)
		}
	})

	for _, tt := range []struct {
		pkg   string
		files map[string]string // path in the package → file in the repository it must equal ("" = present)
		conf  []string          // DEBIAN/conffiles
	}{
		{"seatgate", map[string]string{
			"./usr/bin/seatgate":                       "",
			"./lib/systemd/system/seatgate.service":    "systemd/seatgate.service",
			"./usr/lib/sysusers.d/seatgate.conf":       "sysusers.d/seatgate.conf",
			"./usr/lib/tmpfiles.d/seatgate.conf":       "tmpfiles.d/seatgate.conf",
			"./lib/udev/rules.d/60-seatgate.rules":     "udev/60-seatgate.rules",
			"./etc/seatgate/seatgate.example.yaml":     "seatgate.example.yaml",
			"./usr/share/seatgate/provision.sh":        "provision.sh",
			"./usr/share/doc/seatgate/provision.md":    "provision.md",
			"./usr/share/doc/seatgate/raspberry-pi.md": "raspberry-pi.md",
			"./usr/share/doc/seatgate/README.md":       "../README.md",
		}, []string{"/etc/seatgate/seatgate.example.yaml"}},
		{"seathq", map[string]string{
			"./usr/bin/seathq":                    "",
			"./lib/systemd/system/seathq.service": "systemd/seathq.service",
			"./usr/lib/sysusers.d/seathq.conf":    "sysusers.d/seathq.conf",
			"./usr/lib/tmpfiles.d/seathq.conf":    "tmpfiles.d/seathq.conf",
			"./etc/seathq/seathq.example.yaml":    "seathq.example.yaml",
		}, []string{"/etc/seathq/seathq.example.yaml"}},
		{"seatctl", map[string]string{"./usr/bin/seatctl": ""}, nil},
	} {
		t.Run(tt.pkg+".deb", func(t *testing.T) {
			deb := filepath.Join(dest, tt.pkg+"_"+version+"_amd64.deb")
			for field, want := range map[string]string{"Package": tt.pkg, "Version": version, "Architecture": "amd64"} {
				got, err := exec.Command(dpkgDeb, "--field", deb, field).Output()
				if err != nil {
					t.Fatalf("dpkg-deb --field %s: %v", field, err)
				}
				if strings.TrimSpace(string(got)) != want {
					t.Errorf("%s: %s %q, want %q", filepath.Base(deb), field, got, want)
				}
			}
			root := t.TempDir()
			if log, err := exec.Command(dpkgDeb, "--raw-extract", deb, root).CombinedOutput(); err != nil {
				t.Fatalf("dpkg-deb --raw-extract: %v\n%s", err, log)
			}
			for inDeb, inRepo := range tt.files {
				got, err := os.ReadFile(filepath.Join(root, inDeb))
				if err != nil {
					t.Errorf("%s: %v", filepath.Base(deb), err)
					continue
				}
				if inRepo == "" {
					continue
				}
				want, err := os.ReadFile(inRepo)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: %s differs from deploy/%s", filepath.Base(deb), inDeb, inRepo)
				}
			}
			var conf []string
			if data, err := os.ReadFile(filepath.Join(root, "DEBIAN", "conffiles")); err == nil {
				conf = strings.Fields(string(data))
			}
			if !slices.Equal(conf, tt.conf) {
				t.Errorf("%s: conffiles %q, want %q", filepath.Base(deb), conf, tt.conf)
			}
			if tt.pkg != "seatctl" {
				postinst, err := os.ReadFile(filepath.Join(root, "DEBIAN", "postinst"))
				if err != nil {
					t.Fatal(err)
				}
				for _, want := range []string{"systemd-sysusers " + tt.pkg + ".conf", "systemd-tmpfiles --create " + tt.pkg + ".conf"} {
					if !strings.Contains(string(postinst), want) {
						t.Errorf("%s: postinst does not run %q", filepath.Base(deb), want)
					}
				}
				if strings.Contains(string(postinst), "enable") || strings.Contains(string(postinst), "restart") {
					t.Errorf("%s: postinst enables or restarts the service; provisioning starts it", filepath.Base(deb))
				}
			}
		})
	}
}

// release.sh refuses what it cannot build, before building anything.
func TestReleaseRefusesBadArguments(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown target", []string{"--targets", "plan9/386", "--out", t.TempDir(), "1.0.0"}, `target "plan9/386"`},
		{"version with a slash", []string{"--targets", "linux/amd64", "--out", t.TempDir(), "1.0/evil"}, `version "1.0/evil"`},
		{"two versions", []string{"--out", t.TempDir(), "1.0.0", "1.0.1"}, "one VERSION only"},
		{"missing firmware root", []string{"--firmware-root", "/nonexistent/root-1.json", "--out", t.TempDir(), "1.0.0"}, "--firmware-root /nonexistent/root-1.json"},
		{"unknown flag", []string{"--fast"}, "unknown flag --fast"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log, err := releaseScript(t, tt.args...)
			if err == nil {
				t.Fatalf("release.sh %q succeeded, want a refusal", tt.args)
			}
			if !strings.Contains(log, tt.want) {
				t.Errorf("release.sh %q said %q, want it to mention %q", tt.args, log, tt.want)
			}
		})
	}
}

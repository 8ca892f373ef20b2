package tryboot

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// layoutIdle is autoboot.txt with slot 2 committed and no trial armed.
const layoutIdle = "[all]\ntryboot_a_b=1\nboot_partition=2\n"

// layoutDoc is the documentation's example: slot 2 committed, [tryboot]
// pointing at slot 3, which this package reads as a trial of 3 armed.
const layoutDoc = "[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n"

// fakePi is a Raspberry Pi as the package sees it: a boot directory, a
// device tree directory, two slots as regular files, and a bootloader
// that boots from autoboot.txt as the real one does (boot).
type fakePi struct {
	t       *testing.T
	bootDir string
	dt      string
	parts   map[int]string
	reboots []string // the arguments Reboot was called with
}

// newFakePi writes autoboot (skipped when empty) and a device tree saying
// the system booted slot 2 without the tryboot flag. On cleanup it checks
// that autoboot.txt is one the bootloader can boot from, unless the test
// called skipCheck.
func newFakePi(t *testing.T, autoboot string) *fakePi {
	t.Helper()
	dir := t.TempDir()
	p := &fakePi{
		t:       t,
		bootDir: filepath.Join(dir, "boot"),
		dt:      filepath.Join(dir, "device-tree"),
		parts:   map[int]string{2: filepath.Join(dir, "p2"), 3: filepath.Join(dir, "p3")},
	}
	for _, d := range []string{p.bootDir, filepath.Join(p.dt, "chosen", "bootloader")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range p.parts {
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if autoboot != "" {
		p.writeBootFile(autobootName, autoboot)
	}
	p.setDT(false, 2)
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		if _, err := p.bootloaderReads(); err != nil {
			t.Errorf("after the test: %v", err)
		}
	})
	return p
}

func (p *fakePi) config() Config {
	return Config{
		BootDir:    p.bootDir,
		DeviceTree: p.dt,
		Partitions: p.parts,
		Reboot: func(arg string) error {
			p.reboots = append(p.reboots, arg)
			return nil
		},
	}
}

// backend returns New on the fake, failing the test on an error.
func (p *fakePi) backend() *Backend {
	p.t.Helper()
	b, err := New(p.config())
	if err != nil {
		p.t.Fatalf("New: %v", err)
	}
	return b
}

// setDT sets /chosen/bootloader/tryboot and partition as the bootloader
// would; partition 0 removes the partition property (older firmware).
func (p *fakePi) setDT(tryboot bool, partition int) {
	p.t.Helper()
	dir := filepath.Join(p.dt, "chosen", "bootloader")
	flag := uint32(0)
	if tryboot {
		flag = 1
	}
	p.writeFile(filepath.Join(dir, "tryboot"), binary.BigEndian.AppendUint32(nil, flag))
	if partition == 0 {
		os.Remove(filepath.Join(dir, "partition"))
		return
	}
	p.writeFile(filepath.Join(dir, "partition"), binary.BigEndian.AppendUint32(nil, uint32(partition)))
}

// bootloaderReads parses autoboot.txt as the bootloader reads it: the file
// itself, no repair, and it must name a slot for both kinds of boot.
func (p *fakePi) bootloaderReads() (Autoboot, error) {
	data, err := os.ReadFile(filepath.Join(p.bootDir, autobootName))
	if err != nil {
		return Autoboot{}, err
	}
	ab, err := ParseAutoboot(data)
	if err != nil {
		return Autoboot{}, err
	}
	b := Backend{slots: []int{2, 3}}
	return ab, b.valid(ab)
}

// boot simulates a reboot: the bootloader takes the tryboot flag from the
// last Reboot argument (one-shot: it is cleared), boots the partition
// autoboot.txt names for that kind of boot, and sets the device tree. It
// returns a Backend made in the new boot.
func (p *fakePi) boot() *Backend {
	p.t.Helper()
	tryboot := len(p.reboots) > 0 && p.reboots[len(p.reboots)-1] == "0 tryboot"
	p.reboots = nil
	p.bootAs(tryboot)
	return p.backend()
}

// powerCut simulates power lost and restored: the tryboot flag does not
// survive, whatever the last reboot asked for.
func (p *fakePi) powerCut() *Backend {
	p.t.Helper()
	p.reboots = nil
	p.bootAs(false)
	return p.backend()
}

func (p *fakePi) bootAs(tryboot bool) {
	p.t.Helper()
	ab, err := p.bootloaderReads()
	if err != nil {
		p.t.Fatalf("bootloader: %v", err)
	}
	p.setDT(tryboot, ab.BootPartition(tryboot))
}

func (p *fakePi) writeBootFile(name, content string) {
	p.t.Helper()
	p.writeFile(filepath.Join(p.bootDir, name), []byte(content))
}

func (p *fakePi) readBootFile(name string) string {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.bootDir, name))
	if err != nil {
		p.t.Fatal(err)
	}
	return string(b)
}

func (p *fakePi) writeFile(path string, b []byte) {
	p.t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// bootState is what autoboot.txt makes the bootloader do.
type bootState struct{ normal, tryboot int }

func stateOf(ab Autoboot) bootState {
	return bootState{ab.BootPartition(false), ab.BootPartition(true)}
}

func (p *fakePi) state() bootState {
	p.t.Helper()
	ab, err := p.bootloaderReads()
	if err != nil {
		p.t.Fatalf("autoboot.txt: %v", err)
	}
	return stateOf(ab)
}

func (p *fakePi) wantReboots(want ...string) {
	p.t.Helper()
	if !slices.Equal(p.reboots, want) {
		p.t.Errorf("Reboot calls %q, want %q", p.reboots, want)
	}
}

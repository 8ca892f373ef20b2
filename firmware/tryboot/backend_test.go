package tryboot

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestFullCycle(t *testing.T) {
	p := newFakePi(t, layoutIdle)
	b := p.backend()

	target, err := b.Prepare(4096)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if target != p.parts[3] {
		t.Fatalf("Prepare target %s, want slot 3's %s", target, p.parts[3])
	}
	if err := os.WriteFile(target, []byte("image v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.StartTrial(); err != nil {
		t.Fatalf("StartTrial: %v", err)
	}
	p.wantReboots("0 tryboot")
	if got := p.readBootFile(autobootName); got != layoutIdle+"[tryboot]\nboot_partition=3\n" {
		t.Errorf("armed autoboot.txt = %q", got)
	}

	b = p.boot() // the bootloader: tryboot=1, partition=3
	if trying, err := b.Trying(); err != nil || !trying {
		t.Fatalf("Trying() = %v, %v; want true", trying, err)
	}
	if booted, err := b.Booted(); err != nil || booted != 3 {
		t.Fatalf("Booted() = %d, %v; want 3", booted, err)
	}
	if got := b.Committed(); got != 2 {
		t.Fatalf("Committed() before Commit = %d, want 2", got)
	}
	if err := b.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got := b.Committed(); got != 3 {
		t.Errorf("Committed() = %d, want 3", got)
	}
	if got := p.state(); got != (bootState{3, 3}) {
		t.Errorf("after Commit the bootloader boots %+v, want 3 either way", got)
	}
	p.wantReboots() // commit needs no reboot

	b = p.boot() // a normal boot, no tryboot flag
	if booted, _ := b.Booted(); booted != 3 {
		t.Errorf("next normal boot booted %d, want 3", booted)
	}
	if trying, _ := b.Trying(); trying {
		t.Error("next normal boot: Trying() = true")
	}
	if got := b.Inactive(); got != 2 {
		t.Errorf("Inactive() = %d, want 2", got)
	}
	if target, err := b.Prepare(0); err != nil || target != p.parts[2] {
		t.Errorf("next Prepare = %s, %v; want slot 2's %s", target, err, p.parts[2])
	}
}

// A power cut or a crash during the trial: the bootloader's flag is gone,
// it boots the committed slot, and TrialInterrupted says so, so that the
// agent can arm again; the second trial commits.
func TestTrialInterruptedAndRearmed(t *testing.T) {
	p := newFakePi(t, layoutIdle)
	b := p.backend()
	if _, err := b.Prepare(10); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.TrialInterrupted(); got {
		t.Error("TrialInterrupted before any trial")
	}
	if err := b.StartTrial(); err != nil {
		t.Fatal(err)
	}

	b = p.powerCut()
	if trying, _ := b.Trying(); trying {
		t.Error("after the power cut Trying() = true")
	}
	if booted, _ := b.Booted(); booted != b.Committed() || booted != 2 {
		t.Errorf("after the power cut Booted() = %d, Committed() = %d; want 2, 2", booted, b.Committed())
	}
	if got, err := b.TrialInterrupted(); err != nil || !got {
		t.Fatalf("TrialInterrupted() = %v, %v; want true", got, err)
	}
	if err := b.Commit(); !errors.Is(err, ErrNotTrying) {
		t.Errorf("Commit after the power cut: %v, want ErrNotTrying", err)
	}

	if err := b.StartTrial(); err != nil { // the agent re-arms
		t.Fatal(err)
	}
	b = p.boot()
	if got, _ := b.TrialInterrupted(); got {
		t.Error("TrialInterrupted during the trial")
	}
	if err := b.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got, _ := b.TrialInterrupted(); got {
		t.Error("TrialInterrupted after Commit")
	}
}

// A power cut between StartTrial's write and its reboot looks the same.
func TestPowerCutBeforeTheTrialReboot(t *testing.T) {
	p := newFakePi(t, layoutIdle)
	cfg := p.config()
	cfg.Reboot = func(string) error { return errors.New("power lost") }
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.StartTrial(); err == nil {
		t.Fatal("StartTrial with a failing Reboot: no error")
	}
	if part, armed := b.Armed(); !armed || part != 3 {
		t.Errorf("Armed() = %d, %v; want 3, true (the trial stays armed)", part, armed)
	}
	if got, err := p.powerCut().TrialInterrupted(); err != nil || !got {
		t.Errorf("TrialInterrupted() = %v, %v; want true", got, err)
	}
}

func TestRollback(t *testing.T) {
	p := newFakePi(t, layoutIdle)
	b := p.backend()
	if err := b.StartTrial(); err != nil {
		t.Fatal(err)
	}
	b = p.boot()
	if err := b.Rollback(); err != nil { // health failed
		t.Fatal(err)
	}
	p.wantReboots("0")
	if got := p.readBootFile(autobootName); got != layoutIdle {
		t.Errorf("after Rollback autoboot.txt = %q, want %q", got, layoutIdle)
	}
	b = p.boot()
	if booted, _ := b.Booted(); booted != 2 {
		t.Errorf("after Rollback booted %d, want 2", booted)
	}
	if got, _ := b.TrialInterrupted(); got {
		t.Error("TrialInterrupted after a deliberate rollback")
	}
}

func TestCommitRefuses(t *testing.T) {
	t.Run("not trying", func(t *testing.T) {
		p := newFakePi(t, layoutDoc)
		p.setDT(false, 3)
		if err := p.backend().Commit(); !errors.Is(err, ErrNotTrying) {
			t.Errorf("Commit: %v, want ErrNotTrying", err)
		}
		if got := p.readBootFile(autobootName); got != layoutDoc {
			t.Errorf("a refused Commit changed autoboot.txt to %q", got)
		}
	})
	t.Run("trying, but on the committed partition", func(t *testing.T) {
		p := newFakePi(t, layoutIdle)
		p.setDT(true, 2)
		if err := p.backend().Commit(); !errors.Is(err, ErrBootedCommitted) {
			t.Errorf("Commit: %v, want ErrBootedCommitted", err)
		}
		if got := p.readBootFile(autobootName); got != layoutIdle {
			t.Errorf("a refused Commit changed autoboot.txt to %q", got)
		}
	})
	t.Run("twice in one boot", func(t *testing.T) {
		p := newFakePi(t, layoutDoc)
		p.setDT(true, 3)
		b := p.backend()
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := b.Commit(); !errors.Is(err, ErrBootedCommitted) {
			t.Errorf("second Commit: %v, want ErrBootedCommitted", err)
		}
		if got := p.state(); got != (bootState{3, 3}) {
			t.Errorf("boots %+v, want 3 either way", got)
		}
	})
	t.Run("booted partition unknown", func(t *testing.T) {
		p := newFakePi(t, layoutDoc)
		p.setDT(true, 1)
		if err := p.backend().Commit(); !errors.Is(err, ErrNotAB) {
			t.Errorf("Commit: %v, want ErrNotAB", err)
		}
	})
}

func TestPrepare(t *testing.T) {
	t.Run("grows a regular file, never shrinks it", func(t *testing.T) {
		p := newFakePi(t, layoutIdle)
		b := p.backend()
		if _, err := b.Prepare(1 << 20); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Prepare(10); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p.parts[3])
		if err != nil || fi.Size() != 1<<20 {
			t.Errorf("slot 3: %v, %v; want 1 MiB", fi.Size(), err)
		}
	})
	t.Run("disarms the trial of the slot it hands out", func(t *testing.T) {
		p := newFakePi(t, layoutDoc)
		b := p.backend()
		if _, err := b.Prepare(1); err != nil {
			t.Fatal(err)
		}
		if _, armed := b.Armed(); armed {
			t.Error("still armed")
		}
		if got := p.readBootFile(autobootName); got != layoutIdle {
			t.Errorf("autoboot.txt = %q, want %q", got, layoutIdle)
		}
	})
	t.Run("refuses while running on the slot", func(t *testing.T) {
		p := newFakePi(t, layoutDoc)
		p.setDT(true, 3)
		if _, err := p.backend().Prepare(1); !errors.Is(err, ErrRunningOnTarget) {
			t.Errorf("Prepare: %v, want ErrRunningOnTarget", err)
		}
		if got := p.readBootFile(autobootName); got != layoutDoc {
			t.Errorf("a refused Prepare changed autoboot.txt to %q", got)
		}
	})
	t.Run("refuses a directory", func(t *testing.T) {
		p := newFakePi(t, layoutIdle)
		if err := os.Remove(p.parts[3]); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(p.parts[3], 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := p.backend().Prepare(1); err == nil {
			t.Error("Prepare into a directory: no error")
		}
	})
	t.Run("refuses a missing slot", func(t *testing.T) {
		p := newFakePi(t, layoutIdle)
		os.Remove(p.parts[3])
		if _, err := p.backend().Prepare(1); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Prepare: %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("refuses a negative size", func(t *testing.T) {
		p := newFakePi(t, layoutIdle)
		if _, err := p.backend().Prepare(-1); err == nil {
			t.Error("Prepare(-1): no error")
		}
	})
}

// deviceSize is how Prepare sizes a block device; a regular file seeks
// the same way.
func TestDeviceSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dev")
	if err := os.WriteFile(path, make([]byte, 12345), 0o644); err != nil {
		t.Fatal(err)
	}
	if n, err := deviceSize(path); err != nil || n != 12345 {
		t.Errorf("deviceSize = %d, %v; want 12345", n, err)
	}
	if _, err := deviceSize(path + "x"); err == nil {
		t.Error("deviceSize of a missing file: no error")
	}
}

func TestStartTrialRefusesDuringATrial(t *testing.T) {
	p := newFakePi(t, layoutDoc)
	p.setDT(true, 3)
	if err := p.backend().StartTrial(); !errors.Is(err, ErrRunningOnTarget) {
		t.Errorf("StartTrial: %v, want ErrRunningOnTarget", err)
	}
	p.wantReboots()
}

func TestDisarm(t *testing.T) {
	p := newFakePi(t, layoutDoc)
	b := p.backend()
	if err := b.Disarm(); err != nil {
		t.Fatal(err)
	}
	if got := p.readBootFile(autobootName); got != layoutIdle {
		t.Errorf("autoboot.txt = %q, want %q", got, layoutIdle)
	}
	if got, _ := p.powerCut().TrialInterrupted(); got {
		t.Error("TrialInterrupted after Disarm")
	}
	p.wantReboots()
}

func TestBootedWithoutThePartitionProperty(t *testing.T) {
	p := newFakePi(t, layoutDoc)
	p.setDT(true, 0)
	if got, err := p.backend().Booted(); err != nil || got != 3 {
		t.Errorf("tryboot boot: Booted() = %d, %v; want 3 from autoboot.txt", got, err)
	}
	p.setDT(false, 0)
	if got, err := p.backend().Booted(); err != nil || got != 2 {
		t.Errorf("normal boot: Booted() = %d, %v; want 2 from autoboot.txt", got, err)
	}
}

func TestDeviceTreeRefused(t *testing.T) {
	cell := func(b ...byte) []byte { return b }
	tests := []struct {
		name, prop string
		value      []byte // nil: remove
	}{
		{"tryboot missing", "tryboot", nil},
		{"tryboot 8 bytes", "tryboot", cell(0, 0, 0, 0, 0, 0, 0, 1)},
		{"tryboot 1 byte", "tryboot", cell(1)},
		{"tryboot 2", "tryboot", cell(0, 0, 0, 2)},
		{"tryboot little-endian 1", "tryboot", cell(1, 0, 0, 0)},
		{"partition 3 bytes", "partition", cell(0, 0, 3)},
		{"partition not a slot", "partition", cell(0, 0, 0, 4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFakePi(t, layoutDoc)
			p.setDT(true, 3)
			path := filepath.Join(p.dt, "chosen", "bootloader", tt.prop)
			if tt.value == nil {
				os.Remove(path)
			} else {
				p.writeFile(path, tt.value)
			}
			b := p.backend()
			if err := b.Commit(); err == nil {
				t.Error("Commit: no error")
			}
			if got := p.readBootFile(autobootName); got != layoutDoc {
				t.Errorf("Commit changed autoboot.txt to %q", got)
			}
			if tt.prop == "partition" {
				p.setDT(false, 0)
				p.writeFile(path, tt.value)
			}
			if _, err := b.TrialInterrupted(); err == nil {
				t.Error("TrialInterrupted: no error")
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name     string
		autoboot string // "": no file
		config   func(*Config)
		notAB    bool
	}{
		{"tryboot_a_b missing", "[all]\nboot_partition=2\n", nil, true},
		{"tryboot_a_b=0", "[all]\ntryboot_a_b=0\nboot_partition=2\n", nil, true},
		{"boot_partition missing", "[all]\ntryboot_a_b=1\n", nil, true},
		{"boot_partition 0, the default", "[all]\ntryboot_a_b=1\nboot_partition=0\n", nil, true},
		{"boot_partition not a slot", "[all]\ntryboot_a_b=1\nboot_partition=4\n", nil, true},
		{"[tryboot] not a slot", layoutIdle + "[tryboot]\nboot_partition=1\n", nil, true},
		{"syntax", "[all]\ntryboot_a_b=1\nboot_partition=2\n[pi5]\n", nil, false},
		{"no autoboot.txt", "", nil, false},
		{"one partition", layoutIdle, func(c *Config) { delete(c.Partitions, 3) }, true},
		{"three partitions", layoutIdle, func(c *Config) { c.Partitions[4] = "/dev/p4" }, true},
		{"partition 0", layoutIdle, func(c *Config) { c.Partitions = map[int]string{0: "/a", 2: "/b"} }, true},
		{"no device", layoutIdle, func(c *Config) { c.Partitions[3] = "" }, true},
		{"one device twice", layoutIdle, func(c *Config) { c.Partitions[3] = c.Partitions[2] }, true},
		{"no Reboot", layoutIdle, func(c *Config) { c.Reboot = nil }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFakePi(t, tt.autoboot)
			t.Cleanup(func() { p.writeBootFile(autobootName, layoutIdle) }) // for the cleanup check
			c := p.config()
			c.Partitions = map[int]string{2: p.parts[2], 3: p.parts[3]}
			if tt.config != nil {
				tt.config(&c)
			}
			_, err := New(c)
			if err == nil {
				t.Fatal("New: no error")
			}
			if got := errors.Is(err, ErrNotAB); got != tt.notAB {
				t.Errorf("errors.Is(%v, ErrNotAB) = %v, want %v", err, got, tt.notAB)
			}
		})
	}
}

func TestNewKeepsItsOwnPartitions(t *testing.T) {
	p := newFakePi(t, layoutIdle)
	c := p.config()
	c.Partitions = map[int]string{2: p.parts[2], 3: p.parts[3]}
	b, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	c.Partitions[3] = "/elsewhere"
	if target, err := b.Prepare(1); err != nil || target != p.parts[3] {
		t.Errorf("Prepare = %s, %v; want %s", target, err, p.parts[3])
	}
}

func TestConfigDefaults(t *testing.T) {
	got := Config{}.withDefaults()
	if got.BootDir != DefaultBootDir || got.DeviceTree != DefaultDeviceTree {
		t.Errorf("defaults %q, %q; want %q, %q", got.BootDir, got.DeviceTree, DefaultBootDir, DefaultDeviceTree)
	}
	set := Config{BootDir: "/b", DeviceTree: "/d"}.withDefaults()
	if set.BootDir != "/b" || set.DeviceTree != "/d" {
		t.Errorf("withDefaults replaced set fields: %q, %q", set.BootDir, set.DeviceTree)
	}
}

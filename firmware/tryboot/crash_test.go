package tryboot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var errPowerCut = errors.New("power cut")

// faultMode is what a step cut by the power does to the card.
type faultMode int

const (
	// cutClean: the step does nothing. This is Linux's vfat with dirsync:
	// each step is on the card, or not, and rename rewrites the target's
	// directory entry in place, so autoboot.txt never goes missing.
	cutClean faultMode = iota
	// cutTorn: the step does half its work: a file gets half its bytes, a
	// rename drops the target's name and leaves the source's (the worst a
	// FAT implementation could do).
	cutTorn
	// cutZeros: the directory is updated but the data never reached the
	// card: a written file, or the rename's target, holds zero bytes.
	cutZeros
)

func (m faultMode) String() string { return [...]string{"clean", "torn", "zeros"}[m] }

// faultyDisk is a disk with a power cut at step failAt (1 for the first
// call): that step does what mode says and fails, as does every later one,
// since the process is dead. Uncut steps do osDisk's work without its
// fsyncs, which only a real power cut could tell from none, and which make
// the hundreds of cuts here slow; the other tests run osDisk.
type faultyDisk struct {
	failAt int
	mode   faultMode
	steps  []string // every step tried, the cut one included
}

func (d *faultyDisk) cut(step string) bool {
	d.steps = append(d.steps, step)
	return len(d.steps) >= d.failAt
}

func (d *faultyDisk) writeFile(name string, data []byte) error {
	if !d.cut("write " + filepath.Base(name)) {
		return os.WriteFile(name, data, 0o644)
	}
	if len(d.steps) == d.failAt {
		switch d.mode {
		case cutTorn:
			os.WriteFile(name, data[:len(data)/2], 0o644)
		case cutZeros:
			os.WriteFile(name, make([]byte, len(data)), 0o644)
		}
	}
	return errPowerCut
}

func (d *faultyDisk) syncFile(name string) error {
	if !d.cut("sync " + filepath.Base(name)) {
		return nil
	}
	return errPowerCut
}

func (d *faultyDisk) rename(from, to string) error {
	if !d.cut("rename " + filepath.Base(from)) {
		return os.Rename(from, to)
	}
	if len(d.steps) == d.failAt {
		switch d.mode {
		case cutTorn:
			os.Remove(to)
		case cutZeros:
			if fi, err := os.Stat(from); err == nil {
				os.WriteFile(to, make([]byte, fi.Size()), 0o644)
			}
		}
	}
	return errPowerCut
}

func (d *faultyDisk) syncDir(dir string) error {
	if !d.cut("sync dir") {
		return nil
	}
	return errPowerCut
}

var writeSteps = []string{"write autoboot.txt.bak", "write autoboot.txt.new", "sync dir", "rename autoboot.txt.new", "sync dir"}

// TestPowerCutAtEveryStep cuts the power at each step of each change of
// autoboot.txt, in each way, and checks that the next boot finds autoboot
// .txt as it was before the change or as it is after it, and never
// missing or half-written: New repairs it when the cut left it so, and
// with a clean cut the bootloader itself reads it before any repair.
func TestPowerCutAtEveryStep(t *testing.T) {
	t.Parallel()
	scenarios := []struct {
		name          string
		autoboot      string
		booted        int  // the partition the system runs
		trying        bool // booted with the tryboot flag
		setup         func(p *fakePi)
		op            func(b *Backend) error // nil: New is the change (a repair)
		before, after bootState
		steps         []string
	}{
		{name: "StartTrial", autoboot: layoutIdle, booted: 2,
			op: (*Backend).StartTrial, before: bootState{2, 2}, after: bootState{2, 3}, steps: writeSteps},
		{name: "Commit", autoboot: layoutDoc, booted: 3, trying: true,
			op: (*Backend).Commit, before: bootState{2, 3}, after: bootState{3, 3}, steps: writeSteps},
		{name: "Disarm", autoboot: layoutDoc, booted: 2,
			op: (*Backend).Disarm, before: bootState{2, 3}, after: bootState{2, 2}, steps: writeSteps},
		{name: "Rollback", autoboot: layoutDoc, booted: 3, trying: true,
			op: (*Backend).Rollback, before: bootState{2, 3}, after: bootState{2, 2}, steps: writeSteps},
		{name: "Prepare", autoboot: layoutDoc, booted: 2,
			op:     func(b *Backend) error { _, err := b.Prepare(1); return err },
			before: bootState{2, 3}, after: bootState{2, 2}, steps: writeSteps},
		{name: "repair from .new", booted: 2,
			setup: func(p *fakePi) {
				p.writeBootFile(autobootName+newSuffix, layoutDoc)
				p.writeBootFile(autobootName+bakSuffix, layoutIdle)
			},
			before: bootState{2, 3}, after: bootState{2, 3},
			steps: []string{"sync autoboot.txt.new", "sync dir", "rename autoboot.txt.new", "sync dir"}},
		{name: "repair from .bak", booted: 2,
			setup: func(p *fakePi) {
				p.writeBootFile(autobootName, "[all]\ntryboot_a_b=1\nboot_parti")
				p.writeBootFile(autobootName+bakSuffix, layoutDoc)
			},
			before: bootState{2, 3}, after: bootState{2, 3},
			steps: writeSteps[1:]},
	}
	for _, sc := range scenarios {
		for _, mode := range []faultMode{cutClean, cutTorn, cutZeros} {
			t.Run(fmt.Sprintf("%s/%v", sc.name, mode), func(t *testing.T) {
				t.Parallel()
				for failAt := 1; ; failAt++ {
					p := newFakePi(t, sc.autoboot)
					if sc.setup != nil {
						sc.setup(p)
					}
					p.setDT(sc.trying, sc.booted)
					d := &faultyDisk{failAt: failAt, mode: mode}
					b, err := newBackend(p.config(), d)
					if err == nil && sc.op != nil {
						err = sc.op(b)
					}
					if len(d.steps) < failAt { // the change completed before the cut
						if err != nil {
							t.Fatalf("uncut: %v", err)
						}
						if !slices.Equal(d.steps, sc.steps) {
							t.Errorf("steps %q, want %q", d.steps, sc.steps)
						}
						if got := p.state(); got != sc.after {
							t.Errorf("uncut: the bootloader boots %+v, want %+v", got, sc.after)
						}
						return
					}
					cut := d.steps[failAt-1]
					if !errors.Is(err, errPowerCut) {
						t.Fatalf("cut at %q: got %v, want the power cut", cut, err)
					}
					nameLost := mode != cutClean && cut == "rename autoboot.txt.new"
					if !nameLost && sc.op != nil {
						if _, err := p.bootloaderReads(); err != nil {
							t.Errorf("cut at %q: before any repair the bootloader reads: %v", cut, err)
						}
					}
					b, err = New(p.config()) // the next boot
					if err != nil {
						t.Fatalf("cut at %q: New: %v", cut, err)
					}
					got := stateOf(b.ab)
					if got != sc.before && got != sc.after {
						t.Errorf("cut at %q: New sees %+v, want %+v (before) or %+v (after)", cut, got, sc.before, sc.after)
					}
					if disk := p.state(); disk != got {
						t.Errorf("cut at %q: New sees %+v, the bootloader %+v", cut, got, disk)
					}
				}
			})
		}
	}
}

func TestRepair(t *testing.T) {
	zeros := string(make([]byte, len(layoutDoc)))
	tests := []struct {
		name               string
		live, newer, older string // "": no such file
		want               string // autoboot.txt after New; "": New fails
	}{
		{"missing: from .new", "", layoutDoc, layoutIdle, layoutDoc},
		{"zeros: from .new", zeros, layoutDoc, layoutIdle, layoutDoc},
		{"half: from .new", layoutDoc[:20], layoutDoc, layoutIdle, layoutDoc},
		{".new damaged too: from .bak", zeros, layoutDoc[:25], layoutIdle, layoutIdle},
		{".new not A/B: from .bak", "", "[all]\nboot_partition=3\n", layoutIdle, layoutIdle},
		{"nothing to repair from", zeros, "", "", ""},
		{"not A/B, no backups", "[all]\nboot_partition=2\n", "", "", ""},
		{"valid: untouched", layoutIdle, layoutDoc, layoutDoc, layoutIdle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFakePi(t, "")
			files := map[string]string{autobootName: tt.live, autobootName + newSuffix: tt.newer, autobootName + bakSuffix: tt.older}
			for name, content := range files {
				if content != "" {
					p.writeBootFile(name, content)
				}
			}
			_, err := New(p.config())
			if tt.want == "" {
				if err == nil {
					t.Error("New: no error")
				}
				p.writeBootFile(autobootName, layoutIdle) // for the cleanup check
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := p.readBootFile(autobootName); got != tt.want {
				t.Errorf("autoboot.txt = %q, want %q", got, tt.want)
			}
			if tt.older != "" {
				if got := p.readBootFile(autobootName + bakSuffix); got != tt.older {
					t.Errorf("a repair changed .bak to %q", got)
				}
			}
			if tt.want == tt.live {
				if got := p.readBootFile(autobootName + newSuffix); got != tt.newer {
					t.Errorf("autoboot.txt was valid, yet .new changed to %q", got)
				}
			}
		})
	}
}

// A change that does not change the bytes writes nothing: no wear, no
// window for a cut.
func TestUnchangedIsNotWritten(t *testing.T) {
	p := newFakePi(t, layoutDoc)
	d := &faultyDisk{failAt: 1}
	b, err := newBackend(p.config(), d)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.StartTrial(); err != nil { // already armed for 3
		t.Fatalf("StartTrial: %v", err)
	}
	if err := b.Rollback(); !errors.Is(err, errPowerCut) {
		t.Fatalf("Rollback: %v, want it to write (and meet the cut)", err)
	}
	if len(d.steps) != 1 {
		t.Errorf("steps %q: StartTrial wrote", d.steps)
	}
	p.wantReboots("0 tryboot")
}

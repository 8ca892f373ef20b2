package image

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/releasetest"
	"github.com/pkfreelance/seatgate/firmware/state"
	"github.com/pkfreelance/seatgate/firmware/tryboot"
)

// startTrial downloads r on a fresh start and requests its trial, which
// must succeed and ask for the tryboot reboot.
func (p *fakePi) startTrial(r releasetest.Artifact) *Backend {
	p.t.Helper()
	b := p.open()
	p.download(b, r)
	if err := b.RequestTrial(time.Now()); err != nil {
		p.t.Fatalf("RequestTrial: %v", err)
	}
	if got := p.rebootArgs(); !slices.Equal(got, []string{"0 tryboot"}) {
		p.t.Fatalf("reboots %q, want [\"0 tryboot\"]", got)
	}
	return b
}

// reconcile is a start of the gateway: Open and Reconcile.
func (p *fakePi) reconcile() (*Backend, bool) {
	p.t.Helper()
	b := p.open()
	trial, err := b.Reconcile(time.Now())
	if err != nil {
		p.t.Fatalf("Reconcile: %v", err)
	}
	return b, trial
}

func (p *fakePi) wantAutoboot(normal, try int) {
	p.t.Helper()
	if n, tr := p.autoboot(); n != normal || tr != try {
		p.t.Errorf("autoboot.txt boots %d, with tryboot %d; want %d, %d", n, tr, normal, try)
	}
}

func TestTrialCommits(t *testing.T) {
	p := newFakePi(t)
	r := p.newRelease("1.1.0", 300<<10)
	b := p.startTrial(r)
	st := p.state(b)
	if st.Phase != state.Trial || st.Slot != "3" || st.Attempts != 0 || st.ReArms != 0 || st.BootID != "boot-1" {
		t.Errorf("after RequestTrial: phase %s slot %q attempts %d rearms %d boot %q; want trial, 3, 0, 0, boot-1",
			st.Phase, st.Slot, st.Attempts, st.ReArms, st.BootID)
	}
	if got := phases(st, 0); !slices.Equal(got, []state.Phase{state.Waiting, state.Downloading, state.Ready, state.Trial}) {
		t.Errorf("history %v", got)
	}
	if !b.Rebooting() {
		t.Error("Rebooting is false after the trial's reboot was asked for")
	}
	p.wantAutoboot(2, 3)

	p.bootNow()
	b, trial := p.reconcile()
	if !trial {
		t.Fatal("Reconcile in the trial boot: not the trial")
	}
	if b.Rebooting() {
		t.Error("Rebooting in the trial boot")
	}
	if st := p.state(b); st.BootID != "boot-2" || st.Phase != state.Trial {
		t.Errorf("trial boot: phase %s boot %q, want trial, boot-2", st.Phase, st.BootID)
	}
	p.passed[r.Manifest.SHA256] = true
	if err := b.Commit(time.Now()); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	p.wantAutoboot(3, 3)
	st = p.state(b)
	if st.Phase != state.Committed || st.Floor != "1.1.0" {
		t.Errorf("after Commit: phase %s floor %q, want committed, 1.1.0", st.Phase, st.Floor)
	}
	n := len(st.History)
	if err := b.Commit(time.Now()); err != nil {
		t.Errorf("Commit again: %v", err)
	}
	// A later start changes nothing, and reboots into the new image.
	p.powerCut()
	b, trial = p.reconcile()
	if st := p.state(b); trial || len(st.History) != n || st.Phase != state.Committed {
		t.Errorf("start after the commit: trial %v, phase %s, %d history entries, want false, committed, %d", trial, st.Phase, len(st.History), n)
	}
	if want := []string{"tryboot 3", "3"}; !slices.Equal(p.boots, want) {
		t.Errorf("boots %q, want %q", p.boots, want)
	}
}

func TestPowerCutDuringTrialReArmsThenRollsBack(t *testing.T) {
	p := newFakePi(t)
	r := p.newRelease("1.1.0", 100<<10)
	p.startTrial(r)
	for i := 1; i <= DefaultMaxReArms; i++ {
		p.powerCut() // the tryboot boot never completes: the flag is gone
		b, trial := p.reconcile()
		st := p.state(b)
		if trial || st.Phase != state.Trial || st.ReArms != i || st.Attempts != 0 {
			t.Fatalf("cut %d: trial %v phase %s rearms %d attempts %d; want false, trial, %d, 0", i, trial, st.Phase, st.ReArms, st.Attempts, i)
		}
		if got := p.rebootArgs(); !slices.Equal(got, []string{"0 tryboot"}) {
			t.Fatalf("cut %d: reboots %q, want the trial again", i, got)
		}
		p.wantAutoboot(2, 3)
	}
	p.powerCut()
	b, trial := p.reconcile()
	st := p.state(b)
	if trial || st.Phase != state.RolledBack || !st.Refuses("1.1.0") || !strings.Contains(st.Detail, "interrupted 4 times") {
		t.Errorf("after %d cuts: trial %v phase %s refused %v detail %q; want rolled back, 1.1.0 refused", DefaultMaxReArms+1, trial, st.Phase, st.Refused, st.Detail)
	}
	if got := p.rebootArgs(); len(got) != 0 {
		t.Errorf("reboots %q after giving up, want none", got)
	}
	p.wantAutoboot(2, 2)
	for _, boot := range p.boots {
		if boot != "2" {
			t.Errorf("boots %q: want only the committed partition", p.boots)
			break
		}
	}
	// Nothing more happens at the next start.
	p.powerCut()
	b, trial = p.reconcile()
	if st2 := p.state(b); trial || len(st2.History) != len(st.History) {
		t.Errorf("start after the rollback: trial %v, history %d entries, want false, %d", trial, len(st2.History), len(st.History))
	}
}

func TestReArmedTrialCommits(t *testing.T) {
	p := newFakePi(t)
	r := p.newRelease("1.1.0", 100<<10)
	p.startTrial(r)
	p.powerCut()
	p.reconcile()
	p.bootNow()
	b, trial := p.reconcile()
	if !trial {
		t.Fatal("the re-armed trial boot is not the trial")
	}
	p.passed[r.Manifest.SHA256] = true
	if err := b.Commit(time.Now()); err != nil {
		t.Fatal(err)
	}
	if st := p.state(b); st.Phase != state.Committed || st.ReArms != 1 || st.Floor != "1.1.0" {
		t.Errorf("phase %s rearms %d floor %q, want committed, 1, 1.1.0", st.Phase, st.ReArms, st.Floor)
	}
	p.wantAutoboot(3, 3)
}

func TestRollback(t *testing.T) {
	p := newFakePi(t)
	r := p.newRelease("1.1.0", 100<<10)
	before, _ := os.ReadFile(p.bootDir + "/autoboot.txt")
	p.startTrial(r)
	p.bootNow()
	b, trial := p.reconcile()
	if !trial {
		t.Fatal("not the trial")
	}
	if err := b.Rollback(time.Now(), "health failed on trial: 2 of 6 readers answering"); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	st := p.state(b)
	if st.Phase != state.RolledBack || !st.Refuses("1.1.0") || !strings.Contains(st.Detail, "2 of 6 readers") || st.Floor != "" {
		t.Errorf("after Rollback: phase %s refused %v detail %q floor %q", st.Phase, st.Refused, st.Detail, st.Floor)
	}
	if got := p.rebootArgs(); !slices.Equal(got, []string{"0"}) {
		t.Errorf("reboots %q, want [\"0\"]", got)
	}
	if after, _ := os.ReadFile(p.bootDir + "/autoboot.txt"); string(after) != string(before) {
		t.Errorf("autoboot.txt after the rollback:\n%s\nwant as before the trial:\n%s", after, before)
	}
	p.bootNow()
	b, trial = p.reconcile()
	if trial || p.state(b).Phase != state.RolledBack || b.Rebooting() {
		t.Errorf("start after the rollback: trial %v phase %s rebooting %v", trial, p.state(b).Phase, b.Rebooting())
	}
	if want := []string{"tryboot 3", "2"}; !slices.Equal(p.boots, want) {
		t.Errorf("boots %q, want %q", p.boots, want)
	}
	// The version is never tried again.
	p.download(b, r)
	if err := b.RequestTrial(time.Now()); !errors.Is(err, ErrWrongPhase) {
		t.Errorf("RequestTrial of a refused version: %v, want ErrWrongPhase", err)
	}
}

// The agent records its reason in Detail and asks the daemon to roll
// back; Rollback(now, "") takes that reason.
func TestRollbackTakesTheAgentsReason(t *testing.T) {
	p := newFakePi(t)
	p.startTrial(p.newRelease("1.1.0", 100<<10))
	p.bootNow()
	b, _ := p.reconcile()
	b.State().Update(func(st *state.State) error { st.Detail = "health failed on trial: database"; return nil })
	if err := b.Rollback(time.Now(), ""); err != nil {
		t.Fatal(err)
	}
	if st := p.state(b); st.Detail != "health failed on trial: database" || st.History[len(st.History)-1].Detail != st.Detail {
		t.Errorf("detail %q, last entry %q", st.Detail, st.History[len(st.History)-1].Detail)
	}
}

func TestCorruptedPartitionIsNotTried(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(path string) error
		want    string
	}{
		{"one byte flipped", func(path string) error {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			b := []byte{0}
			f.ReadAt(b, 70000)
			b[0] ^= 0x10
			_, err = f.WriteAt(b, 70000)
			return err
		}, "SHA-256"},
		{"truncated", func(path string) error { return os.Truncate(path, 1000) }, "holds 1000 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakePi(t)
			r := p.newRelease("1.1.0", 100<<10)
			b := p.open()
			p.download(b, r)
			if err := tc.corrupt(p.parts[3]); err != nil {
				t.Fatal(err)
			}
			err := b.RequestTrial(time.Now())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("RequestTrial: %v, want an error saying %q", err, tc.want)
			}
			if st := p.state(b); st.Phase != state.Downloading {
				t.Errorf("phase %s, want downloading: nothing recorded", st.Phase)
			}
			if got := p.rebootArgs(); len(got) != 0 || b.Rebooting() {
				t.Errorf("reboots %q after a refused trial", got)
			}
			p.wantAutoboot(2, 2)
		})
	}
}

func TestPrepare(t *testing.T) {
	p := newFakePi(t)
	r := p.newRelease("1.1.0", 100<<10)
	b := p.open()
	p.download(b, r)
	if st := p.state(b); st.Slot != "3" {
		t.Errorf("slot %q after Prepare, want 3", st.Slot)
	}
	target, bitmap, err := b.Prepare(r.Manifest)
	if err != nil || target != p.parts[3] || !strings.HasSuffix(bitmap, "/firmware/image.bitmap") {
		t.Errorf("Prepare: %q, %q, %v; want the inactive partition and firmware/image.bitmap", target, bitmap, err)
	}

	// A download recorded for the other partition: its bitmap counts
	// chunks that are not in this one.
	if err := os.WriteFile(bitmap, []byte("chunks of partition 2"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.State().Update(func(st *state.State) error { st.Slot = "2"; return nil })
	if _, _, err := b.Prepare(r.Manifest); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bitmap); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the other partition's bitmap is kept (%v)", err)
	}
	if st := p.state(b); st.Slot != "3" {
		t.Errorf("slot %q, want 3", st.Slot)
	}

	// A binary release is not an image.
	bin := r.Manifest
	bin.Product = "seatgate"
	if _, _, err := b.Prepare(bin); err == nil {
		t.Error("Prepare accepted a release of the binary")
	}

	// Refused during the trial: before the reboot, and in the trial boot.
	other := p.newRelease("1.2.0", 10<<10)
	if err := b.RequestTrial(time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Prepare(other.Manifest); !errors.Is(err, ErrWrongPhase) {
		t.Errorf("Prepare while a trial is armed: %v, want ErrWrongPhase", err)
	}
	p.wantAutoboot(2, 3)
	p.bootNow()
	b, _ = p.reconcile()
	if _, _, err := b.Prepare(other.Manifest); !errors.Is(err, ErrWrongPhase) {
		t.Errorf("Prepare in the trial boot: %v, want ErrWrongPhase", err)
	}
	// Even with the state not on trial, the running partition is never handed out.
	b.State().Update(func(st *state.State) error { st.Enter(time.Now(), state.Failed, "test"); return nil })
	if _, _, err := b.Prepare(other.Manifest); !errors.Is(err, tryboot.ErrRunningOnTarget) {
		t.Errorf("Prepare of the partition running: %v, want ErrRunningOnTarget", err)
	}
	if err := b.Rollback(time.Now(), "test"); !errors.Is(err, ErrWrongPhase) {
		t.Errorf("Rollback in phase failed: %v, want ErrWrongPhase", err)
	}
}

func TestRequestTrialRefusals(t *testing.T) {
	cases := []struct {
		name string
		edit func(*state.State)
	}{
		{"not downloading", func(st *state.State) { st.Phase = state.Committed }},
		{"no version", func(st *state.State) { st.Version = "" }},
		{"committed partition", func(st *state.State) { st.Slot = "2" }},
		{"no partition", func(st *state.State) { st.Slot = "" }},
		{"refused before", func(st *state.State) { st.Refused = []string{"1.1.0"} }},
		{"at the floor", func(st *state.State) { st.Floor = "1.1.0" }},
		{"manifest of another version", func(st *state.State) { st.SHA256 = strings.Repeat("0", 64) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakePi(t)
			r := p.newRelease("1.1.0", 10<<10)
			b := p.open()
			p.download(b, r)
			b.State().Update(func(st *state.State) error { tc.edit(st); return nil })
			if err := b.RequestTrial(time.Now()); !errors.Is(err, ErrWrongPhase) {
				t.Errorf("RequestTrial: %v, want ErrWrongPhase", err)
			}
			if got := p.rebootArgs(); len(got) != 0 {
				t.Errorf("reboots %q", got)
			}
			p.wantAutoboot(2, 2)
		})
	}
}

// A reboot that cannot be asked for leaves nothing armed; the state says
// Trial until the agent records the failure, and a start before that arms
// the trial again, counted.
func TestRebootFails(t *testing.T) {
	p := newFakePi(t)
	r := p.newRelease("1.1.0", 10<<10)
	b := p.open()
	p.download(b, r)
	p.rebootErr = errors.New("systemctl: Failed to connect to bus")
	err := b.RequestTrial(time.Now())
	if err == nil || !strings.Contains(err.Error(), "Failed to connect to bus") {
		t.Fatalf("RequestTrial: %v, want the reboot's error", err)
	}
	if b.Rebooting() {
		t.Error("Rebooting after a failed reboot")
	}
	p.wantAutoboot(2, 2)
	b2 := p.open() // the same boot: the gateway restarted
	trial, err := b2.Reconcile(time.Now())
	if trial || err == nil || !strings.Contains(err.Error(), "re-arm") {
		t.Errorf("Reconcile: %v, %v; want false and the re-arm's failure", trial, err)
	}
	st := p.state(b2)
	if st.Phase != state.Trial || st.ReArms != 1 {
		t.Errorf("phase %s rearms %d, want trial, 1", st.Phase, st.ReArms)
	}
	p.rebootErr = nil
	if _, err := p.open().Reconcile(time.Now()); err != nil {
		t.Fatal(err)
	}
	p.bootNow()
	if _, trial := p.reconcile(); !trial {
		t.Error("the trial did not boot once the reboot worked")
	}
}

func TestCommitRefusals(t *testing.T) {
	p := newFakePi(t)
	r := p.newRelease("1.1.0", 10<<10)
	b := p.open()
	if err := b.Commit(time.Now()); !errors.Is(err, ErrWrongPhase) {
		t.Errorf("Commit with nothing on trial: %v, want ErrWrongPhase", err)
	}
	p.startTrial(r)
	// Still in the old boot, or in a normal boot after a cut trial.
	if err := p.open().Commit(time.Now()); !errors.Is(err, ErrWrongPhase) {
		t.Errorf("Commit before the trial boot: %v, want ErrWrongPhase", err)
	}
	p.powerCut()
	if err := p.open().Commit(time.Now()); !errors.Is(err, ErrWrongPhase) {
		t.Errorf("Commit in a normal boot: %v, want ErrWrongPhase", err)
	}
	p.wantAutoboot(2, 3)
	if st := p.state(b); st.Phase != state.Trial {
		t.Errorf("phase %s after refused commits", st.Phase)
	}
}

// A Commit cut between autoboot.txt and the state is completed at the
// next start, in the same boot or after a power cut.
func TestCommitCutIsCompleted(t *testing.T) {
	for _, cut := range []bool{false, true} {
		t.Run(map[bool]string{false: "restart", true: "power cut"}[cut], func(t *testing.T) {
			p := newFakePi(t)
			r := p.newRelease("1.1.0", 10<<10)
			p.startTrial(r)
			p.bootNow()
			b, _ := p.reconcile()
			b.testHook = func(point string) {
				if point == pointCommitWritten {
					panic(crash{point})
				}
			}
			p.passed[r.Manifest.SHA256] = true
			if point := survive(func() { b.Commit(time.Now()) }); point != pointCommitWritten {
				t.Fatalf("crashed at %q", point)
			}
			p.wantAutoboot(3, 3)
			if st := p.state(b); st.Phase != state.Trial {
				t.Fatalf("phase %s, want trial (the state write was cut)", st.Phase)
			}
			if cut {
				p.powerCut()
			}
			b, trial := p.reconcile()
			st := p.state(b)
			if trial || st.Phase != state.Committed || st.Floor != "1.1.0" || !strings.Contains(st.Detail, "completed") {
				t.Errorf("trial %v phase %s floor %q detail %q; want the commit completed", trial, st.Phase, st.Floor, st.Detail)
			}
		})
	}
}

// Restarts of the gateway in the trial boot count attempts; at
// MaxAttempts the version is rolled back.
func TestRestartsDuringTrialCountAttempts(t *testing.T) {
	p := newFakePi(t)
	p.startTrial(p.newRelease("1.1.0", 10<<10))
	p.bootNow()
	if _, trial := p.reconcile(); !trial {
		t.Fatal("not the trial")
	}
	for i := 1; i < DefaultMaxAttempts; i++ {
		b, trial := p.reconcile()
		if st := p.state(b); !trial || st.Attempts != i {
			t.Fatalf("restart %d: trial %v attempts %d", i, trial, st.Attempts)
		}
	}
	b, trial := p.reconcile()
	st := p.state(b)
	if trial || st.Phase != state.RolledBack || !st.Refuses("1.1.0") {
		t.Errorf("restart %d: trial %v phase %s refused %v; want rolled back", DefaultMaxAttempts, trial, st.Phase, st.Refused)
	}
	if got := p.rebootArgs(); !slices.Equal(got, []string{"0"}) || !b.Rebooting() {
		t.Errorf("reboots %q, want [\"0\"]", got)
	}
	p.wantAutoboot(2, 2)
	p.bootNow()
	if want := []string{"tryboot 3", "2"}; !slices.Equal(p.boots, want) {
		t.Errorf("boots %q, want %q", p.boots, want)
	}
}

// Reconcile reads nothing of the boot while no trial is on: it works
// with a device tree that cannot be read.
func TestReconcileIdleTouchesNothing(t *testing.T) {
	p := newFakePi(t)
	b := p.open()
	if err := os.RemoveAll(p.dt); err != nil {
		t.Fatal(err)
	}
	trial, err := b.Reconcile(time.Now())
	if trial || err != nil {
		t.Errorf("Reconcile: %v, %v; want false, nil", trial, err)
	}
	if st := p.state(b); st.Phase != state.Idle || len(st.History) != 0 {
		t.Errorf("state changed: %+v", st)
	}
}

// survive runs fn and returns the crash point where it died, or "".
func survive(fn func()) (point string) {
	defer func() {
		if r := recover(); r != nil {
			c, ok := r.(crash)
			if !ok {
				panic(r)
			}
			point = c.point
		}
	}()
	fn()
	return ""
}

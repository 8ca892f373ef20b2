package slots_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/slots"
	"github.com/pkfreelance/seatgate/firmware/state"
)

var t0 = time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)

func TestInstall(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "firmware")
	s, err := slots.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Committed(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Committed before Install: got %v, want fs.ErrNotExist", err)
	}
	if _, err := s.Inactive(); err == nil {
		t.Fatal("Inactive before Install: got no error")
	}
	if err := s.Install(""); !errors.Is(err, slots.ErrNotInstalled) {
		t.Fatalf("Install without a factory binary: got %v, want ErrNotInstalled", err)
	}
	if err := s.Install(childBin); err != nil {
		t.Fatal(err)
	}
	slot, binary, err := s.Committed()
	if err != nil || slot != "a" || binary != filepath.Join(dir, "slots", "a", "seatgate") {
		t.Fatalf("Committed: got %q %q %v, want slot a", slot, binary, err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "committed")); err != nil || target != filepath.Join("slots", "a") {
		t.Errorf("committed link: got %q %v, want relative slots/a", target, err)
	}
	want, err := os.ReadFile(childBin)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(binary)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("slot a's binary is not the factory binary (%v)", err)
	}
	fi, err := os.Stat(binary)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("slot a's binary: mode %v %v, want 0755", fi.Mode(), err)
	}
	if inactive, err := s.Inactive(); err != nil || inactive != "b" {
		t.Errorf("Inactive: got %q %v, want b", inactive, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "slots", "a", "*.tmp*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// Again: nothing changes, even with another factory binary.
	other := filepath.Join(t.TempDir(), "other")
	if err := os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.Install(other); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(binary); !bytes.Equal(got, want) {
		t.Error("a second Install replaced the committed binary")
	}

	// The committed slot lost its binary: the factory binary goes back
	// into it.
	if err := os.Remove(binary); err != nil {
		t.Fatal(err)
	}
	if err := s.Install(""); !errors.Is(err, slots.ErrNotInstalled) {
		t.Errorf("Install without the binary and without a factory binary: got %v, want ErrNotInstalled", err)
	}
	if err := s.Install(other); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(binary); string(got) != "#!/bin/sh\n" {
		t.Errorf("Install after the binary was lost: got %q", got)
	}
}

func TestCommittedRefusesAStrangeLink(t *testing.T) {
	for _, target := range []string{"slots/c", "/etc", "../slots/a", "slots", "other/a"} {
		t.Run(target, func(t *testing.T) {
			dir := t.TempDir()
			s, err := slots.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(dir, "committed")); err != nil {
				t.Fatal(err)
			}
			if slot, _, err := s.Committed(); err == nil || errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Committed with the link naming %q: got slot %q, %v; want an error", target, slot, err)
			}
		})
	}
}

func manifest(size int64, sha string) release.Manifest {
	return release.Manifest{Version: "2", Size: size, SHA256: sha}
}

// TestPrepare: Prepare returns the inactive slot, sized and executable,
// keeps what a resumed download already wrote, records the slot in the
// state, and never returns the committed slot, before or after a commit.
func TestPrepare(t *testing.T) {
	f := newFixture(t)
	f.update(func(st *state.State) {
		st.Version, st.SHA256 = "2", "ab12"
		st.Enter(t0, state.Downloading, "")
	})
	target, bitmap, err := f.slots.Prepare(manifest(1000, "ab12"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(f.fw, "slots", "b", "seatgate"); target != want || bitmap != want+".bitmap" {
		t.Fatalf("Prepare: got %s %s, want slot b's binary and its bitmap", target, bitmap)
	}
	if st := f.state(); st.Slot != "b" {
		t.Errorf("state slot after Prepare: got %q, want b", st.Slot)
	}
	fi, err := os.Stat(target)
	if err != nil || fi.Size() != 1000 || fi.Mode().Perm() != 0o755 {
		t.Fatalf("target: %v %v, want 1000 bytes, mode 0755", fi, err)
	}
	if b, p := f.slots.Paths("b"); b != target || p != bitmap {
		t.Errorf("Paths(b): got %s %s", b, p)
	}
	// A resumed download keeps its bytes.
	fh, err := os.OpenFile(target, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteAt([]byte("chunk"), 10); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	if _, _, err := f.slots.Prepare(manifest(1000, "ab12")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); len(b) != 1000 || string(b[10:15]) != "chunk" {
		t.Errorf("a second Prepare lost the bytes written (len %d)", len(b))
	}
	// Another artifact: the state keeps its slot unset.
	f.update(func(st *state.State) { st.Slot = "" })
	if _, _, err := f.slots.Prepare(manifest(10, "ffff")); err != nil {
		t.Fatal(err)
	}
	if st := f.state(); st.Slot != "" {
		t.Errorf("Prepare for another artifact set the state's slot to %q", st.Slot)
	}
	if _, _, err := f.slots.Prepare(manifest(0, "ab12")); err == nil {
		t.Error("Prepare of an empty artifact: got no error")
	}

	// While b is on trial, Prepare refuses it; once b is committed,
	// Prepare returns a.
	f.update(func(st *state.State) {
		st.Slot = "b"
		st.Enter(t0, state.Trial, "")
	})
	if _, _, err := f.slots.Prepare(manifest(1000, "ab12")); !errors.Is(err, slots.ErrWrongPhase) {
		t.Errorf("Prepare during the trial of its slot: got %v, want ErrWrongPhase", err)
	}
	if err := f.slots.Commit(t0); err != nil {
		t.Fatal(err)
	}
	committedBinary, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	target, bitmap, err = f.slots.Prepare(manifest(77, "cd34"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(f.fw, "slots", "a", "seatgate"); target != want {
		t.Errorf("Prepare after b was committed: got %s, want %s", target, want)
	}
	if b, _ := os.ReadFile(filepath.Join(f.fw, "slots", "b", "seatgate")); !bytes.Equal(b, committedBinary) {
		t.Error("Prepare changed the committed slot's binary")
	}
}

// TestRequestTrial: only a verified artifact in the inactive slot, at the
// download step, becomes Ready.
func TestRequestTrial(t *testing.T) {
	t.Run("at the wrong step", func(t *testing.T) {
		f := newFixture(t)
		for _, phase := range []state.Phase{state.Idle, state.Trial, state.Committed, state.RolledBack, state.Failed} {
			f.update(func(st *state.State) { st.Version, st.Slot = "2", "b"; st.Enter(t0, phase, "") })
			if err := f.slots.RequestTrial(t0); !errors.Is(err, slots.ErrWrongPhase) {
				t.Errorf("RequestTrial in phase %s: got %v, want ErrWrongPhase", phase, err)
			}
		}
	})
	t.Run("for the committed slot", func(t *testing.T) {
		f := newFixture(t)
		f.download(behaviour{Version: "2", Mode: "run"})
		f.update(func(st *state.State) { st.Slot = "a" })
		if err := f.slots.RequestTrial(t0); !errors.Is(err, slots.ErrWrongPhase) {
			t.Errorf("got %v, want ErrWrongPhase", err)
		}
	})
	t.Run("corrupted artifact", func(t *testing.T) {
		f := newFixture(t)
		f.download(behaviour{Version: "2", Mode: "run"})
		target, _ := f.slots.Paths("b")
		fh, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fh.WriteAt([]byte{0xff}, 100)
		fh.Close()
		err = f.slots.RequestTrial(t0)
		if err == nil || !strings.Contains(err.Error(), "SHA-256") {
			t.Errorf("got %v, want a SHA-256 mismatch", err)
		}
		if st := f.state(); st.Phase != state.Downloading {
			t.Errorf("phase after a refused request: %s", st.Phase)
		}
	})
	t.Run("verified", func(t *testing.T) {
		f := newFixture(t)
		f.download(behaviour{Version: "2", Mode: "run"})
		f.update(func(st *state.State) { st.Enter(t0, state.Waiting, "waiting for the install window") })
		if err := f.slots.RequestTrial(t0); err != nil {
			t.Fatal(err)
		}
		st := f.state()
		if st.Phase != state.Ready || st.Slot != "b" || st.Version != "2" {
			t.Fatalf("got %+v, want version 2 ready in slot b", st)
		}
		if err := f.slots.RequestTrial(t0.Add(time.Hour)); err != nil {
			t.Fatalf("RequestTrial again: %v", err)
		}
		if again := f.state(); again.NextSeq != st.NextSeq {
			t.Error("RequestTrial again added a history entry")
		}
	})
}

// TestCommit: only a trial commits; the link moves to its slot, the floor
// rises, and a second call changes nothing.
func TestCommit(t *testing.T) {
	f := newFixture(t)
	if err := f.slots.Commit(t0); !errors.Is(err, slots.ErrWrongPhase) {
		t.Fatalf("Commit when idle: got %v, want ErrWrongPhase", err)
	}
	f.stage(behaviour{Version: "2.1", Mode: "run"})
	if err := f.slots.Commit(t0); !errors.Is(err, slots.ErrWrongPhase) {
		t.Fatalf("Commit when ready: got %v, want ErrWrongPhase", err)
	}
	f.update(func(st *state.State) {
		st.Floor = "1.9"
		st.Enter(t0, state.Trial, "trial")
	})
	if err := f.slots.Commit(t0); err != nil {
		t.Fatal(err)
	}
	st := f.state()
	if st.Phase != state.Committed || st.Floor != "2.1" || f.committed() != "b" {
		t.Fatalf("after Commit: phase %s floor %q link %s, want committed, 2.1, b", st.Phase, st.Floor, f.committed())
	}
	if err := f.slots.Commit(t0.Add(time.Minute)); err != nil {
		t.Fatalf("Commit again: %v", err)
	}
	if again := f.state(); again.NextSeq != st.NextSeq {
		t.Error("Commit again added a history entry")
	}
	if _, err := os.Lstat(filepath.Join(f.fw, "committed.tmp")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary link left: %v", err)
	}

	// A lower version committed (HQ never sends one, the agent refuses
	// it) does not lower the floor.
	f.update(func(st *state.State) {
		st.Version, st.Slot = "1.10", "a"
		st.Enter(t0, state.Trial, "")
	})
	if err := f.slots.Commit(t0); err != nil {
		t.Fatal(err)
	}
	if st := f.state(); st.Floor != "2.1" {
		t.Errorf("floor after committing 1.10: got %q, want 2.1 kept", st.Floor)
	}
}

package slots

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/state"
)

// Exit codes of the child that the supervisor acts on (the agent stops
// the daemon with them).
const (
	ExitUpdate   = 75 // the child stops so the supervisor can start the trial (state phase is Ready)
	ExitRollback = 76 // the trial child found its health failing and asks to roll back
)

// Environment the supervisor gives its child.
const (
	EnvSlot  = "SEATGATE_SLOT"  // "a" or "b": the slot the child runs from
	EnvTrial = "SEATGATE_TRIAL" // "1" when the child is the trial version, else "0"
	// EnvFallback is set, to why, when the child is the factory binary
	// standing in for a committed version that fails (Supervise).
	EnvFallback = "SEATGATE_FALLBACK"
)

// Names inside the firmware directory.
const (
	slotsDir      = "slots"
	binaryName    = "seatgate"
	bitmapSuffix  = ".bitmap"
	committedLink = "committed"
)

// ErrNotInstalled is returned when no slot is committed and there is no
// factory binary to install.
var ErrNotInstalled = errors.New("no firmware slot is committed")

// ErrWrongPhase is wrapped by the errors of Prepare, RequestTrial and
// Commit when the update is not at the step they belong to.
var ErrWrongPhase = errors.New("the update is not at this step")

// Slots are the two binary slots of one gateway and its update state.
type Slots struct {
	dir   string
	state *state.File
}

// Open returns the slots in dir, DATA/firmware, which holds state.json,
// slots/{a,b}/seatgate and the committed symlink; it creates dir if
// needed.
func Open(dir string) (*Slots, error) {
	f, err := state.Open(dir)
	if err != nil {
		return nil, err
	}
	return &Slots{dir: dir, state: f}, nil
}

// State is the update state document the slots share with the agent.
func (s *Slots) State() *state.File { return s.state }

// Paths returns the binary of slot ("a" or "b") and the path of the
// download bitmap next to it.
func (s *Slots) Paths(slot string) (binary, bitmap string) {
	binary = filepath.Join(s.dir, slotsDir, slot, binaryName)
	return binary, binary + bitmapSuffix
}

// validSlot reports whether slot names one of the two slots.
func validSlot(slot string) bool { return slot == "a" || slot == "b" }

// other is the slot that is not slot.
func other(slot string) string {
	if slot == "a" {
		return "b"
	}
	return "a"
}

// Committed returns the slot the committed symlink names and that slot's
// binary. An error wrapping fs.ErrNotExist means no slot was ever
// committed.
func (s *Slots) Committed() (slot, binary string, err error) {
	target, err := os.Readlink(filepath.Join(s.dir, committedLink))
	if err != nil {
		return "", "", fmt.Errorf("committed firmware slot: %w", err)
	}
	dir, slot := filepath.Split(filepath.Clean(target))
	if filepath.Clean(dir) != slotsDir || !validSlot(slot) {
		return "", "", fmt.Errorf("committed firmware slot: link %s names %q, want %s/a or %s/b",
			filepath.Join(s.dir, committedLink), target, slotsDir, slotsDir)
	}
	binary, _ = s.Paths(slot)
	return slot, binary, nil
}

// Inactive returns the slot that is not committed: where a new version
// goes.
func (s *Slots) Inactive() (string, error) {
	slot, _, err := s.Committed()
	if err != nil {
		return "", err
	}
	return other(slot), nil
}

// Prepare readies the inactive slot for m's artifact and records it as
// the state's Slot when the state is about that artifact (same SHA-256).
// It returns the slot's binary, created with mode 0755 and sized to
// m.Size (the bytes already there are kept, so that a download resumes),
// and the path of the download bitmap next to it. It never returns the
// committed slot, and refuses (ErrWrongPhase) while the inactive slot
// holds a version that is Ready or on Trial.
func (s *Slots) Prepare(m release.Manifest) (target, bitmap string, err error) {
	if m.Size <= 0 {
		return "", "", fmt.Errorf("prepare firmware slot: artifact size %d", m.Size)
	}
	_, err = s.state.Update(func(st *state.State) error {
		slot, err := s.Inactive()
		if err != nil {
			return err
		}
		if (st.Phase == state.Ready || st.Phase == state.Trial) && st.Slot == slot {
			return fmt.Errorf("prepare firmware slot %s: it holds version %s, phase %s: %w", slot, st.Version, st.Phase, ErrWrongPhase)
		}
		target, bitmap = s.Paths(slot)
		if err := sizeBinary(target, m.Size); err != nil {
			return fmt.Errorf("prepare firmware slot %s: %w", slot, err)
		}
		if st.SHA256 != "" && st.SHA256 == m.SHA256 {
			st.Slot = slot
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	return target, bitmap, nil
}

// sizeBinary creates path (and its directory) if needed, mode 0755, and
// makes it size bytes long, durably.
func sizeBinary(path string, size int64) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o755)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Chmod(0o755); err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return state.SyncDir(dir)
}

// Install makes a first start possible: when no slot is committed (or the
// committed slot has lost its binary), it copies initial, the factory
// binary, into the slot (a for a first start) and points the committed
// symlink at it. Each step is atomic and durable, so a power cut during
// Install leaves either nothing committed or a complete slot, and Install
// runs again. It does nothing when a committed slot has its binary;
// without one and with initial "" it fails with ErrNotInstalled.
func (s *Slots) Install(initial string) error {
	slot, binary, err := s.Committed()
	if err == nil {
		if fi, serr := os.Stat(binary); serr == nil && fi.Mode().IsRegular() {
			return nil
		} else if serr != nil {
			err = serr
		} else {
			err = fmt.Errorf("%s is not a regular file", binary)
		}
	} else {
		slot = "a"
	}
	if initial == "" {
		return fmt.Errorf("install firmware: %w (%v) and no factory binary is given", ErrNotInstalled, err)
	}
	binary, _ = s.Paths(slot)
	if err := copyBinary(initial, binary); err != nil {
		return fmt.Errorf("install firmware from %s into slot %s: %w", initial, slot, err)
	}
	if err := s.pointCommitted(slot); err != nil {
		return fmt.Errorf("install firmware into slot %s: %w", slot, err)
	}
	return nil
}

// copyBinary copies src to dst through a temporary file, synced and
// renamed into place, mode 0755.
func copyBinary(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(dst)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, in)
	if err == nil {
		err = tmp.Chmod(0o755)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	return state.SyncDir(dir)
}

// pointCommitted makes the committed symlink name slot: a symlink under a
// temporary name, renamed over the link, and the directory synced.
func (s *Slots) pointCommitted(slot string) error {
	link := filepath.Join(s.dir, committedLink)
	tmp := link + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Symlink(filepath.Join(slotsDir, slot), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, link); err != nil {
		return err
	}
	return state.SyncDir(s.dir)
}

// RequestTrial marks the verified artifact in the inactive slot as ready
// for the trial (phase Ready); the daemon then exits with ExitUpdate and
// the supervisor starts the trial. The state must be at the download
// (phase Waiting, Downloading or already Ready) for the inactive slot,
// with a version. The binary is synced and, when the state names the
// artifact's SHA-256, hashed again: a slot that does not hold exactly the
// verified artifact is never tried. Calling it again once Ready does
// nothing.
func (s *Slots) RequestTrial(now time.Time) error {
	st, err := s.state.Load()
	if err != nil {
		return err
	}
	slot, err := s.Inactive()
	if err != nil {
		return err
	}
	if err := s.checkReady(st, slot); err != nil {
		return err
	}
	if st.Phase == state.Ready {
		return nil
	}
	binary, _ := s.Paths(slot)
	if err := verifyBinary(binary, st.SHA256); err != nil {
		return fmt.Errorf("request the trial of %s: %w", st.Version, err)
	}
	_, err = s.state.Update(func(cur *state.State) error {
		if err := s.checkReady(*cur, slot); err != nil {
			return err
		}
		if cur.Phase == state.Ready {
			return nil
		}
		if cur.Version != st.Version || cur.SHA256 != st.SHA256 {
			return fmt.Errorf("request the trial of %s: the state changed to version %s meanwhile: %w", st.Version, cur.Version, ErrWrongPhase)
		}
		cur.Enter(now, state.Ready, fmt.Sprintf("version %s verified in slot %s", cur.Version, slot))
		return nil
	})
	return err
}

func (s *Slots) checkReady(st state.State, inactive string) error {
	switch {
	case st.Phase != state.Waiting && st.Phase != state.Downloading && st.Phase != state.Ready:
		return fmt.Errorf("request the trial: phase is %s, want downloading: %w", st.Phase, ErrWrongPhase)
	case st.Slot != inactive:
		return fmt.Errorf("request the trial: the state's slot is %q, the inactive slot is %s: %w", st.Slot, inactive, ErrWrongPhase)
	case st.Version == "":
		return fmt.Errorf("request the trial: the state names no version: %w", ErrWrongPhase)
	}
	return nil
}

// verifyBinary syncs path and checks that it is a non-empty regular file
// whose SHA-256 is sum (when sum is not empty).
func verifyBinary(path, sum string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Size() == 0 {
		return fmt.Errorf("%s is not a non-empty regular file", path)
	}
	if err := f.Chmod(0o755); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if sum == "" {
		return nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("hash %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, sum) {
		return fmt.Errorf("%s has SHA-256 %s, the release %s", path, got, sum)
	}
	return nil
}

// Commit makes the version on trial the committed one. The trial's agent
// calls it once local health has held for the dwell time. It requires
// phase Trial; it repoints the committed symlink at the trial's slot
// (atomically and durably), raises the anti-rollback floor to the
// version, and records phase Committed. Calling it again once committed
// does nothing. If a power cut falls between the link's move and the
// state's write, the supervisor completes the commit when it starts.
func (s *Slots) Commit(now time.Time) error {
	_, err := s.state.Update(func(st *state.State) error {
		committed, _, err := s.Committed()
		if err != nil {
			return err
		}
		if st.Phase == state.Committed && st.Slot == committed {
			return nil
		}
		if st.Phase != state.Trial {
			return fmt.Errorf("commit firmware: phase is %s, want trial: %w", st.Phase, ErrWrongPhase)
		}
		if !validSlot(st.Slot) {
			return fmt.Errorf("commit firmware: the trial names slot %q", st.Slot)
		}
		if st.Slot != committed {
			if err := s.pointCommitted(st.Slot); err != nil {
				return fmt.Errorf("commit firmware slot %s: %w", st.Slot, err)
			}
		}
		completeCommit(st, now, fmt.Sprintf("version %s committed in slot %s", st.Version, st.Slot))
		return nil
	})
	return err
}

// completeCommit records a commit whose link has moved.
func completeCommit(st *state.State, now time.Time, detail string) {
	if release.CompareVersions(st.Version, st.Floor) > 0 {
		st.Floor = st.Version
	}
	st.Enter(now, state.Committed, detail)
}

// Package state is the update state of one gateway: a single JSON
// document, firmware/state.json in the data directory, that the update
// agent (inside the running seatgate) and the supervisor (the process
// systemd runs, which starts the slot's binary) both change. Every change
// is made under an exclusive flock, read-modify-write, and written
// atomically (temporary file, fsync, rename, fsync of the directory)
// before the transition it records takes effect, so a power cut at any
// instant leaves either the old or the new document.
//
// The document also keeps a bounded history of transitions, each with a
// sequence number: the agent reports every entry HQ has not yet seen into
// the event log, so transitions made while HQ was unreachable, or by the
// supervisor while no agent ran, still reach HQ.
package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// Phase is where an update stands.
type Phase string

// The phases, in the order an update goes through them. Committed,
// RolledBack and Failed are final for their release; Idle is the state of
// a gateway that was never assigned one.
const (
	Idle        Phase = "idle"
	Waiting     Phase = "waiting"     // assigned; waiting for the download window or a retry
	Downloading Phase = "downloading" // chunks going into the inactive slot
	Ready       Phase = "ready"       // artifact complete and verified; the daemon stops for the switch
	Trial       Phase = "trial"       // the new version runs on trial
	Committed   Phase = "committed"   // the new version is the known-good one
	RolledBack  Phase = "rolled_back" // the trial failed; the previous version runs again
	Failed      Phase = "failed"      // refused or gave up before the trial (bad signature, 404, …)
)

// Phases lists every phase.
func Phases() []Phase {
	return []Phase{Idle, Waiting, Downloading, Ready, Trial, Committed, RolledBack, Failed}
}

// Valid reports whether p is one of Phases.
func (p Phase) Valid() bool { return slices.Contains(Phases(), p) }

// Final reports whether p ends an update (nothing more will happen for
// that release without a new assignment).
func (p Phase) Final() bool { return p == Idle || p == Committed || p == RolledBack || p == Failed }

// Entry is one transition in the history.
type Entry struct {
	Seq     uint64    `json:"seq"`
	At      time.Time `json:"at"`
	Phase   Phase     `json:"phase"`
	Version string    `json:"version,omitempty"`
	Rollout string    `json:"rollout,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

// MaxHistory is how many history entries the document keeps; older ones
// are dropped (an agent that has not reported them by then reports a gap).
const MaxHistory = 64

// State is the whole document.
type State struct {
	Phase   Phase  `json:"phase"`
	Rollout string `json:"rollout,omitempty"` // rollout that assigned the release
	// Manifest is the signed manifest envelope of the release being
	// installed (bytes as HQ's release key signed them).
	Manifest []byte `json:"manifest,omitempty"`
	Version  string `json:"version,omitempty"` // the release's version
	SHA256   string `json:"sha256,omitempty"`  // the artifact's hash
	From     string `json:"from,omitempty"`    // version that was running when it was assigned
	// URLs of the artifact at HQ, from the assignment, so that a restarted
	// agent resumes the download.
	URLs []string `json:"urls,omitempty"`
	// Window is the assignment's install window ("02:00-05:00", local
	// time; empty: any time), kept so that a restarted agent honours it.
	Window string `json:"window,omitempty"`
	// ReadersOK is how many desk readers answered when the switch was
	// requested: the trial version must have at least as many (a desk
	// that was already dead does not fail every release).
	ReadersOK int `json:"readers_ok,omitempty"`
	// Slot is where the release goes: "a" or "b" for backend A, the
	// partition number for backend B.
	Slot string `json:"slot,omitempty"`
	// Progress of the download, in chunks.
	Done  int `json:"done,omitempty"`
	Total int `json:"total,omitempty"`
	// Attempts counts starts of the trial version that ended in a crash;
	// ReArms counts trials restarted because the machine lost power. Both
	// are bounded (see firmware/slots).
	Attempts int `json:"attempts,omitempty"`
	ReArms   int `json:"rearms,omitempty"`
	// BootID is the kernel boot ID when the trial was (re)started.
	BootID       string    `json:"boot_id,omitempty"`
	TrialStarted time.Time `json:"trial_started,omitzero"`
	Detail       string    `json:"detail,omitempty"` // why the phase was entered, for people
	// Floor is the anti-rollback floor: the highest version ever committed.
	Floor string `json:"floor,omitempty"`
	// Refused lists versions rolled back on this gateway, never tried again.
	Refused []string `json:"refused,omitempty"`
	History []Entry  `json:"history,omitempty"`
	NextSeq uint64   `json:"next_seq,omitempty"` // sequence of the next history entry (from 1)
}

// Enter moves s to phase, records why, and appends a history entry.
func (s *State) Enter(now time.Time, phase Phase, detail string) {
	s.Phase, s.Detail = phase, detail
	if s.NextSeq == 0 {
		s.NextSeq = 1
	}
	s.History = append(s.History, Entry{Seq: s.NextSeq, At: now.UTC(), Phase: phase,
		Version: s.Version, Rollout: s.Rollout, Detail: detail})
	s.NextSeq++
	if n := len(s.History) - MaxHistory; n > 0 {
		s.History = slices.Delete(s.History, 0, n)
	}
}

// Since returns the history entries with Seq > seq.
func (s State) Since(seq uint64) []Entry {
	if seq == math.MaxUint64 {
		return nil
	}
	i, _ := slices.BinarySearchFunc(s.History, seq+1, func(e Entry, t uint64) int {
		switch {
		case e.Seq < t:
			return -1
		case e.Seq > t:
			return 1
		}
		return 0
	})
	return slices.Clone(s.History[i:])
}

// Refuses reports whether version was rolled back here before.
func (s State) Refuses(version string) bool { return slices.Contains(s.Refused, version) }

// File is the state document in a directory.
type File struct{ dir string }

// Names inside the directory.
const (
	fileName = "state.json"
	prevName = "state.json.prev" // the document before the last change
	lockName = "state.lock"
)

// Open returns the state file in dir, creating dir (0750) if needed.
func Open(dir string) (*File, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("firmware state: %w", err)
	}
	return &File{dir: dir}, nil
}

// Dir is the directory the state lives in.
func (f *File) Dir() string { return f.dir }

// Load reads the document without locking: a snapshot for display. A
// missing document is the zero State with Phase Idle.
func (f *File) Load() (State, error) {
	s, _, err := f.read()
	return s, err
}

// Update locks the document, reads it, calls fn and, if fn changed it and
// returned nil, writes it durably before returning the new state. An error
// from fn is returned as is and nothing is written.
func (f *File) Update(fn func(*State) error) (State, error) {
	unlock, err := f.lock()
	if err != nil {
		return State{}, err
	}
	defer unlock()
	old, fromPrev, err := f.read()
	if err != nil {
		return State{}, err
	}
	before, err := json.Marshal(old)
	if err != nil {
		return State{}, err
	}
	s := old
	s.Manifest = bytes.Clone(old.Manifest)
	s.Refused, s.History, s.URLs = slices.Clone(old.Refused), slices.Clone(old.History), slices.Clone(old.URLs)
	if err := fn(&s); err != nil {
		return old, err
	}
	if !s.Phase.Valid() {
		return old, fmt.Errorf("firmware state: phase %q is not one of %v", s.Phase, Phases())
	}
	after, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return old, err
	}
	if compact(after, before) && !fromPrev {
		return s, nil
	}
	// When state.json was damaged, the write repairs it and keeps .prev,
	// the good copy it was read from.
	if err := f.write(after, !fromPrev); err != nil {
		return old, err
	}
	return s, nil
}

func compact(indented, plain []byte) bool {
	var b bytes.Buffer
	if json.Compact(&b, indented) != nil {
		return false
	}
	return bytes.Equal(b.Bytes(), plain)
}

// read decodes state.json, or state.json.prev when state.json is missing
// or damaged (a disk that lost the rename, a truncated file); fromPrev
// says which.
func (f *File) read() (s State, fromPrev bool, err error) {
	s, err = decodeFile(filepath.Join(f.dir, fileName))
	if err == nil {
		return s, false, nil
	}
	p, perr := decodeFile(filepath.Join(f.dir, prevName))
	if perr == nil {
		return p, true, nil
	}
	if errors.Is(err, fs.ErrNotExist) && errors.Is(perr, fs.ErrNotExist) {
		return State{Phase: Idle}, false, nil
	}
	return State{}, false, fmt.Errorf("firmware state: %w (and the previous copy: %v)", err, perr)
}

// MaxSize bounds the document (a manifest for a large image and the
// history fit well inside it).
const MaxSize = 4 << 20

func decodeFile(path string) (State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return State{}, err
	}
	return Decode(b)
}

// Decode parses a state document strictly.
func Decode(b []byte) (State, error) {
	if len(b) > MaxSize {
		return State{}, fmt.Errorf("state document is %d bytes, limit %d", len(b), MaxSize)
	}
	var s State
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&s); err != nil {
		return State{}, fmt.Errorf("state document: %w", err)
	}
	if d.More() {
		return State{}, errors.New("state document: data after the JSON object")
	}
	if s.Phase == "" {
		s.Phase = Idle
	}
	if !s.Phase.Valid() {
		return State{}, fmt.Errorf("state document: phase %q is not one of %v", s.Phase, Phases())
	}
	if s.Attempts < 0 || s.ReArms < 0 || s.Done < 0 || s.Total < 0 {
		return State{}, errors.New("state document: negative counter")
	}
	if len(s.History) > 0 && s.History[0].Seq == 0 {
		return State{}, errors.New("state document: history sequence 0 (sequences start at 1)")
	}
	for i := 1; i < len(s.History); i++ {
		if s.History[i].Seq <= s.History[i-1].Seq {
			return State{}, fmt.Errorf("state document: history sequence %d after %d", s.History[i].Seq, s.History[i-1].Seq)
		}
	}
	if n := len(s.History); n > 0 && s.NextSeq <= s.History[n-1].Seq {
		return State{}, fmt.Errorf("state document: next_seq %d not above the last entry's %d", s.NextSeq, s.History[n-1].Seq)
	}
	return s, nil
}

// write replaces the document: the current one becomes state.json.prev
// (a hard link, so state.json itself is never absent) when keepCurrent,
// the new one is written to a temporary file, synced, renamed over
// state.json, and the directory synced.
func (f *File) write(b []byte, keepCurrent bool) error {
	path := filepath.Join(f.dir, fileName)
	prev := filepath.Join(f.dir, prevName)
	if keepCurrent {
		if err := os.Remove(prev); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("firmware state: %w", err)
		}
		if err := os.Link(path, prev); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("firmware state: %w", err)
		}
	}
	if err := WriteFileAtomic(path, b, 0o640); err != nil {
		return fmt.Errorf("firmware state: %w", err)
	}
	return nil
}

// WriteFileAtomic replaces path with data so that a power cut leaves the
// old file or the new one, never a mix: a temporary file in the same
// directory, written and fsynced, renamed over path, and the directory
// fsynced.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir fsyncs a directory, so that a rename or a new name in it
// survives a power cut.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// lock takes the exclusive flock that serialises Update across
// processes.
func (f *File) lock() (func(), error) {
	l, err := os.OpenFile(filepath.Join(f.dir, lockName), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("firmware state: %w", err)
	}
	for {
		err = syscall.Flock(int(l.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("firmware state: lock: %w", err)
	}
	return func() { l.Close() }, nil
}

// BootID returns the kernel's boot ID (a new random value every boot),
// read from path, normally /proc/sys/kernel/random/boot_id. It tells a
// power cut (the boot ID changed) from a crash (it did not).
func BootID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("boot id: %w", err)
	}
	id := string(bytes.TrimSpace(b))
	if id == "" {
		return "", fmt.Errorf("boot id: %s is empty", path)
	}
	return id, nil
}

// DefaultBootIDPath is where Linux publishes the boot ID.
const DefaultBootIDPath = "/proc/sys/kernel/random/boot_id"

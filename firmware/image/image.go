package image

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/state"
	"github.com/pkfreelance/seatgate/firmware/tryboot"
)

// Config configures a Backend. Zero fields take the defaults given.
type Config struct {
	// Dir is DATA/firmware: the update state (state.json, through
	// state.Open) and the download bitmap image.bitmap. Required.
	Dir string
	// Tryboot says where the boot partition, the device tree and the two
	// slots are, and how to reboot (tryboot.SystemReboot in production).
	Tryboot tryboot.Config
	// BootIDPath holds the kernel's boot ID; default
	// state.DefaultBootIDPath (tests: a file they rewrite at each boot).
	BootIDPath string
	// MaxReArms bounds the trials interrupted (power cut, crash or
	// watchdog reset: the bootloader fell back to the committed partition)
	// that are armed again; one more rolls the version back. Default 3.
	MaxReArms int
	// MaxAttempts bounds the starts of the gateway within trial boots
	// after the first of each (systemd restarting a gateway that crashed
	// or was killed during the trial); at MaxAttempts the version is
	// rolled back. Default 3.
	MaxAttempts int
	// Logger receives the decisions of Reconcile; default: discard.
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultMaxReArms   = 3
	DefaultMaxAttempts = 3
)

// bitmapName is the download bitmap in Config.Dir.
const bitmapName = "image.bitmap"

// ErrWrongPhase is wrapped by the errors of Prepare, RequestTrial, Commit
// and Rollback when the update is not at the step they belong to.
var ErrWrongPhase = errors.New("the update is not at this step")

// Backend installs boot images through firmware/tryboot for the update
// agent: it implements agent.Backend. Its methods take the state file's
// lock for every change, so a Backend may be shared by the agent and the
// daemon; they start no goroutines.
type Backend struct {
	c     Config
	state *state.File
	tb    *tryboot.Backend
	log   *slog.Logger

	rebooting atomic.Bool
	// testHook, when set, is called at each crash point (tests).
	testHook func(point string)
}

// Crash points: where a test may kill the process. Each follows a state
// write and precedes what it announces, or (pointCommitWritten) lies
// between a Commit's two writes.
const (
	pointTrialRecorded = "trial-recorded" // RequestTrial: Trial written, not yet armed
	pointCommitWritten = "commit-written" // Commit: autoboot.txt committed, state not yet
	pointRolledBack    = "rolled-back"    // Rollback: RolledBack written, not yet rebooted
	pointReconciled    = "reconciled-"    // Reconcile: decision written, not yet acted on (+ the action)
)

// Open checks c, opens the state file in c.Dir and reads autoboot.txt
// (tryboot.New, which repairs a damaged one). An error wrapping
// tryboot.ErrNotAB means this is not a tryboot A/B system.
func Open(c Config) (*Backend, error) {
	if c.Dir == "" {
		return nil, errors.New("firmware image: config: Dir is empty")
	}
	if c.BootIDPath == "" {
		c.BootIDPath = state.DefaultBootIDPath
	}
	if c.MaxReArms <= 0 {
		c.MaxReArms = DefaultMaxReArms
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	st, err := state.Open(c.Dir)
	if err != nil {
		return nil, fmt.Errorf("firmware image: %w", err)
	}
	tb, err := tryboot.New(c.Tryboot)
	if err != nil {
		return nil, fmt.Errorf("firmware image: %w", err)
	}
	return &Backend{c: c, state: st, tb: tb, log: c.Logger.With("component", "firmware", "backend", "tryboot")}, nil
}

// State is the update state document the backend shares with the agent.
func (b *Backend) State() *state.File { return b.state }

// Rebooting reports whether this Backend has asked for a reboot that is
// under way (StartTrial or Rollback returned without error): the daemon
// need not start, or go on with, anything.
func (b *Backend) Rebooting() bool { return b.rebooting.Load() }

// at marks a crash point.
func (b *Backend) at(point string) {
	if b.testHook != nil {
		b.testHook(point)
	}
}

// partition parses a state's Slot as one of the two partitions.
func (b *Backend) partition(slot string) (int, bool) {
	n, err := strconv.Atoi(slot)
	if err != nil || strconv.Itoa(n) != slot {
		return 0, false
	}
	_, ok := b.c.Tryboot.Partitions[n]
	return n, ok
}

// Prepare readies the inactive partition for m's image and records it as
// the state's Slot (the partition number) when the state is about that
// image (same SHA-256). It returns the partition's device, at least
// m.Size bytes long (a regular file standing for one is grown), and the
// download bitmap's path. It never returns the partition the system runs
// from (tryboot.ErrRunningOnTarget), disarms a trial left armed (it would
// boot the partition about to be overwritten), and refuses, with
// ErrWrongPhase, while the state says a trial is on.
func (b *Backend) Prepare(m release.Manifest) (target, bitmap string, err error) {
	if m.Size <= 0 {
		return "", "", fmt.Errorf("prepare boot partition: image size %d", m.Size)
	}
	if m.Product != release.ProductImage {
		return "", "", fmt.Errorf("prepare boot partition: release %s is product %q, not a boot image (%q)", m.Version, m.Product, release.ProductImage)
	}
	bitmap = filepath.Join(b.c.Dir, bitmapName)
	_, err = b.state.Update(func(st *state.State) error {
		if st.Phase == state.Trial || st.Phase == state.Ready {
			return fmt.Errorf("prepare boot partition: version %s is %s in partition %s: %w", st.Version, st.Phase, st.Slot, ErrWrongPhase)
		}
		t, err := b.tb.Prepare(m.Size)
		if err != nil {
			return fmt.Errorf("prepare boot partition for version %s: %w", m.Version, err)
		}
		slot := strconv.Itoa(b.tb.Inactive())
		if st.SHA256 != "" && st.SHA256 == m.SHA256 {
			if st.Slot != "" && st.Slot != slot {
				// The chunks the bitmap counts are in the other partition.
				if err := removeDurably(bitmap); err != nil {
					return fmt.Errorf("prepare boot partition %s: %w", slot, err)
				}
			}
			st.Slot = slot
		}
		target = t
		return nil
	})
	if err != nil {
		return "", "", err
	}
	return target, bitmap, nil
}

func removeDurably(path string) error {
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return state.SyncDir(filepath.Dir(path))
}

// RequestTrial starts the trial of the downloaded image: it reads the
// state's partition back and checks its first Size bytes against the
// release's SHA-256, records the trial (phase Ready, then Trial, with
// Attempts and ReArms 0 and this boot's ID), and only then arms it in
// autoboot.txt and reboots with "0 tryboot". The state must be at the
// download (phase Waiting or Downloading) of a version neither refused
// nor at or below the floor, for the inactive partition; else the error
// wraps ErrWrongPhase and nothing changes. An image that does not match
// is never armed.
//
// If the reboot cannot be requested, the trial is disarmed and the error
// returned; the state says Trial until the caller records the failure
// (the agent records Failed), and a start before that re-arms it, counted
// in ReArms.
func (b *Backend) RequestTrial(now time.Time) error {
	st, err := b.state.Load()
	if err != nil {
		return fmt.Errorf("request the trial: %w", err)
	}
	part, err := b.checkReady(st)
	if err != nil {
		return err
	}
	m, err := release.ParseManifest(st.Manifest)
	if err != nil {
		return fmt.Errorf("request the trial of %s: the state's manifest: %w", st.Version, err)
	}
	if m.SHA256 != st.SHA256 || m.Version != st.Version {
		return fmt.Errorf("request the trial of %s: the state's manifest is of version %s, SHA-256 %s, the state's %s: %w",
			st.Version, m.Version, m.SHA256, st.SHA256, ErrWrongPhase)
	}
	device := b.c.Tryboot.Partitions[part]
	if err := verifyPartition(device, m.Size, m.SHA256); err != nil {
		return fmt.Errorf("request the trial of %s: %w", st.Version, err)
	}
	boot, err := state.BootID(b.c.BootIDPath)
	if err != nil {
		return fmt.Errorf("request the trial of %s: %w", st.Version, err)
	}
	_, err = b.state.Update(func(cur *state.State) error {
		if _, err := b.checkReady(*cur); err != nil {
			return err
		}
		if cur.Version != st.Version || cur.SHA256 != st.SHA256 || cur.Slot != st.Slot {
			return fmt.Errorf("request the trial of %s: the state changed to version %s meanwhile: %w", st.Version, cur.Version, ErrWrongPhase)
		}
		cur.Attempts, cur.ReArms, cur.BootID, cur.TrialStarted = 0, 0, boot, now.UTC()
		cur.Enter(now, state.Ready, fmt.Sprintf("version %s verified in partition %d", cur.Version, part))
		cur.Enter(now, state.Trial, fmt.Sprintf("trial of version %s in partition %d: rebooting with tryboot", cur.Version, part))
		return nil
	})
	if err != nil {
		return err
	}
	b.at(pointTrialRecorded)
	if err := b.tb.StartTrial(); err != nil {
		if derr := b.tb.Disarm(); derr != nil {
			b.log.Error("firmware: cannot disarm the trial that did not start", "err", derr)
		}
		return fmt.Errorf("request the trial of %s: %w", st.Version, err)
	}
	b.rebooting.Store(true)
	return nil
}

// checkReady returns the partition of a state ready to be tried, or why
// it is not.
func (b *Backend) checkReady(st state.State) (int, error) {
	part, ok := b.partition(st.Slot)
	inactive := b.tb.Inactive()
	switch {
	case st.Phase != state.Waiting && st.Phase != state.Downloading:
		return 0, fmt.Errorf("request the trial: phase is %s, want downloading: %w", st.Phase, ErrWrongPhase)
	case st.Version == "" || st.SHA256 == "":
		return 0, fmt.Errorf("request the trial: the state names no version or SHA-256: %w", ErrWrongPhase)
	case !ok || part != inactive:
		return 0, fmt.Errorf("request the trial of %s: the state's partition is %q, the inactive one %d: %w", st.Version, st.Slot, inactive, ErrWrongPhase)
	case st.Refuses(st.Version):
		return 0, fmt.Errorf("request the trial of %s: it was rolled back here before: %w", st.Version, ErrWrongPhase)
	case st.Floor != "" && release.CompareVersions(st.Version, st.Floor) <= 0:
		return 0, fmt.Errorf("request the trial of %s: not above the floor %s: %w", st.Version, st.Floor, ErrWrongPhase)
	}
	return part, nil
}

// verifyPartition flushes device and checks that its first size bytes
// have SHA-256 sum.
func verifyPartition(device string, size int64, sum string) error {
	f, err := os.Open(device)
	if err != nil {
		return fmt.Errorf("verify partition: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("verify partition: fsync %s: %w", device, err)
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, size))
	if err != nil {
		return fmt.Errorf("verify partition: read %s: %w", device, err)
	}
	if n < size {
		return fmt.Errorf("verify partition: %s holds %d bytes of the %d-byte image", device, n, size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, sum) {
		return fmt.Errorf("verify partition: the first %d bytes of %s have SHA-256 %s, the release %s", size, device, got, sum)
	}
	return nil
}

// Commit makes the image on trial the committed one; the trial's agent
// calls it once local health has held for the dwell time. It requires
// phase Trial in a boot made with the tryboot flag from the trial's
// partition; it rewrites autoboot.txt to boot that partition every time
// (tryboot.Commit, crash-safe, no reboot), raises the anti-rollback floor
// to the version and records phase Committed. Calling it again once
// committed does nothing. A cut between the autoboot.txt write and the
// state's is completed by the next Commit or Reconcile.
func (b *Backend) Commit(now time.Time) error {
	_, err := b.state.Update(func(st *state.State) error {
		committed := b.tb.Committed()
		slot, ok := b.partition(st.Slot)
		switch {
		case st.Phase == state.Committed && ok && slot == committed:
			return nil
		case st.Phase != state.Trial:
			return fmt.Errorf("commit firmware image: phase is %s, want trial: %w", st.Phase, ErrWrongPhase)
		case !ok:
			return fmt.Errorf("commit firmware image: the trial names partition %q: %w", st.Slot, ErrWrongPhase)
		}
		if slot != committed {
			trying, err := b.tb.Trying()
			if err != nil {
				return fmt.Errorf("commit firmware image: %w", err)
			}
			booted, err := b.tb.Booted()
			if err != nil {
				return fmt.Errorf("commit firmware image: %w", err)
			}
			if !trying || booted != slot {
				return fmt.Errorf("commit firmware image: this boot is from partition %d (tryboot %v), the trial is in %d: %w",
					booted, trying, slot, ErrWrongPhase)
			}
			if err := b.tb.Commit(); err != nil {
				return fmt.Errorf("commit firmware image: %w", err)
			}
			b.at(pointCommitWritten)
		}
		completeCommit(st, now, fmt.Sprintf("version %s committed in partition %d", st.Version, slot))
		return nil
	})
	return err
}

// completeCommit records a commit that autoboot.txt already holds.
func completeCommit(st *state.State, now time.Time, detail string) {
	if release.CompareVersions(st.Version, st.Floor) > 0 {
		st.Floor = st.Version
	}
	st.Enter(now, state.Committed, detail)
}

// Rollback ends a trial whose health failed: the version joins Refused,
// the state enters RolledBack with reason ("" takes the reason the agent
// wrote into the state's Detail), and then the trial is disarmed and the
// system reboots into the committed partition ("0"), or, when this boot
// already runs it, only disarmed. It requires phase Trial, or RolledBack
// (a rollback whose reboot did not happen is done again); a trial that
// autoboot.txt has committed already is not rolled back (ErrWrongPhase).
func (b *Backend) Rollback(now time.Time, reason string) error {
	_, err := b.state.Update(func(st *state.State) error {
		switch {
		case st.Phase == state.RolledBack:
			return nil
		case st.Phase != state.Trial:
			return fmt.Errorf("roll back firmware image: phase is %s, want trial: %w", st.Phase, ErrWrongPhase)
		}
		if slot, ok := b.partition(st.Slot); ok && slot == b.tb.Committed() {
			return fmt.Errorf("roll back firmware image %s: partition %d is committed already: %w", st.Version, slot, ErrWrongPhase)
		}
		if reason == "" {
			reason = agentReason(*st)
		}
		rollBack(st, now, reason)
		return nil
	})
	if err != nil {
		return err
	}
	b.at(pointRolledBack)
	return b.leave()
}

// leave goes back to the committed partition: a reboot ("0") when this
// boot runs the other one, else only a disarm.
func (b *Backend) leave() error {
	booted, err := b.tb.Booted()
	if err != nil {
		return fmt.Errorf("roll back firmware image: %w", err)
	}
	if booted == b.tb.Committed() {
		return b.tb.Disarm()
	}
	if err := b.tb.Rollback(); err != nil {
		return fmt.Errorf("roll back firmware image: %w", err)
	}
	b.rebooting.Store(true)
	return nil
}

// rollBack refuses the trial's version for good. The boot ID is cleared:
// Reconcile records there the boot that tried to leave the trial's
// partition.
func rollBack(st *state.State, now time.Time, detail string) {
	if st.Version != "" && !st.Refuses(st.Version) {
		st.Refused = append(st.Refused, st.Version)
	}
	st.BootID = ""
	st.Enter(now, state.RolledBack, truncate(detail, maxDetail))
}

// agentReason is why the trial asked to roll back: the Detail the agent
// wrote into the state (without a history entry of its own), or a
// generic reason.
func agentReason(st state.State) string {
	if n := len(st.History); n > 0 && st.Detail != "" && st.Detail != st.History[n-1].Detail {
		return st.Detail
	}
	return "the trial's health failed"
}

// maxDetail bounds a detail written into the state (HQ's health message
// carries 200 bytes of it).
const maxDetail = 200

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 { // not inside a UTF-8 sequence
		n--
	}
	return s[:n]
}

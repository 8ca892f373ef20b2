package tryboot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"sync"
)

// Config says where a Backend finds the boot files, the device tree and the
// two slots, and how it reboots.
type Config struct {
	// BootDir is where the FAT partition holding autoboot.txt is mounted.
	// Default /boot/firmware.
	BootDir string
	// DeviceTree is the live device tree. Default /proc/device-tree.
	DeviceTree string
	// Partitions maps the boot partition number of each of the two slots
	// to its block device, e.g. {2: "/dev/mmcblk0p2", 3: "/dev/mmcblk0p3"}.
	// Required; exactly two entries.
	Partitions map[int]string
	// Reboot reboots the system with arg as the argument of reboot(2),
	// which the Raspberry Pi kernel hands to the firmware: "0 tryboot" for
	// a trial, "0" for a normal boot. Required; SystemReboot in production.
	Reboot func(arg string) error
}

// The defaults of Config.
const (
	DefaultBootDir    = "/boot/firmware"
	DefaultDeviceTree = "/proc/device-tree"
)

// Backend drives the A/B boot partitions of one Raspberry Pi: it reads and
// rewrites autoboot.txt, reads the bootloader's flags from the device
// tree, and reboots. Its methods are safe for concurrent use; a change of
// autoboot.txt happens under a lock and re-reads the file first.
type Backend struct {
	cfg   Config
	slots []int // the two partition numbers, ascending
	disk  disk

	mu   sync.Mutex
	ab   Autoboot // autoboot.txt as last read or written
	data []byte   // its bytes
}

// New checks c, reads autoboot.txt and returns a Backend. autoboot.txt
// must have tryboot_a_b=1 and name one of the two slots in boot_partition
// for a boot with and without the tryboot flag, else the error wraps
// ErrNotAB. If autoboot.txt is missing or damaged, New first repairs it
// from autoboot.txt.new or autoboot.txt.bak (see the package
// documentation).
func New(c Config) (*Backend, error) {
	return newBackend(c, osDisk{})
}

// withDefaults returns c with its empty fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.BootDir == "" {
		c.BootDir = DefaultBootDir
	}
	if c.DeviceTree == "" {
		c.DeviceTree = DefaultDeviceTree
	}
	return c
}

func newBackend(c Config, d disk) (*Backend, error) {
	c = c.withDefaults()
	if c.Reboot == nil {
		return nil, errors.New("tryboot: config: Reboot is nil")
	}
	if len(c.Partitions) != 2 {
		return nil, fmt.Errorf("tryboot: config: %d partitions, want the 2 slots: %w", len(c.Partitions), ErrNotAB)
	}
	slots := slices.Sorted(maps.Keys(c.Partitions))
	for _, n := range slots {
		if n < 1 || n > MaxPartition {
			return nil, fmt.Errorf("tryboot: config: partition %d is not from 1 to %d: %w", n, MaxPartition, ErrNotAB)
		}
		if c.Partitions[n] == "" {
			return nil, fmt.Errorf("tryboot: config: partition %d has no device: %w", n, ErrNotAB)
		}
	}
	if c.Partitions[slots[0]] == c.Partitions[slots[1]] {
		return nil, fmt.Errorf("tryboot: config: partitions %d and %d are both %s: %w", slots[0], slots[1], c.Partitions[slots[0]], ErrNotAB)
	}
	c.Partitions = maps.Clone(c.Partitions)
	b := &Backend{cfg: c, slots: slots, disk: d}
	if err := b.reload(); err != nil {
		return nil, err
	}
	return b, nil
}

// valid checks that ab describes this A/B system.
func (b *Backend) valid(ab Autoboot) error {
	if !ab.TrybootAB() {
		return fmt.Errorf("tryboot_a_b=1 is missing: %w", ErrNotAB)
	}
	for _, tryboot := range []bool{false, true} {
		if n := ab.BootPartition(tryboot); !b.isSlot(n) {
			return fmt.Errorf("a boot %s boots partition %d, neither slot %d nor %d: %w",
				bootName(tryboot), n, b.slots[0], b.slots[1], ErrNotAB)
		}
	}
	return nil
}

func bootName(tryboot bool) string {
	if tryboot {
		return "with the tryboot flag"
	}
	return "without the tryboot flag"
}

func (b *Backend) isSlot(n int) bool { return n == b.slots[0] || n == b.slots[1] }

func (b *Backend) other(n int) int {
	if n == b.slots[0] {
		return b.slots[1]
	}
	return b.slots[0]
}

// reload reads autoboot.txt again, repairing it if need be. b.mu held (or
// b not yet shared).
func (b *Backend) reload() error {
	ab, data, err := loadAutoboot(b.disk, b.cfg.BootDir, b.valid)
	if err != nil {
		return err
	}
	b.ab, b.data = ab, data
	return nil
}

// write installs ab as autoboot.txt, keeping the current file as .bak. It
// does nothing when the bytes would not change. b.mu held.
func (b *Backend) write(ab Autoboot) error {
	data := ab.Encode()
	if string(data) == string(b.data) {
		return nil
	}
	if err := b.valid(ab); err != nil { // a setter's bug, never the disk's
		return fmt.Errorf("tryboot: refusing to write autoboot.txt: %w", err)
	}
	if len(data) > MaxAutobootSize {
		return fmt.Errorf("tryboot: refusing to write autoboot.txt of %d bytes, more than %d", len(data), MaxAutobootSize)
	}
	if err := install(b.disk, b.cfg.BootDir, data, b.data); err != nil {
		return fmt.Errorf("tryboot: %w", err)
	}
	b.ab, b.data = ab, data
	return nil
}

// Committed returns the committed partition: the one autoboot.txt boots
// without the tryboot flag (boot_partition under [all]), as last read or
// written.
func (b *Backend) Committed() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ab.BootPartition(false)
}

// Inactive returns the slot that is not committed: the one Prepare hands
// out and StartTrial arms.
func (b *Backend) Inactive() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.other(b.ab.BootPartition(false))
}

// Armed returns the partition a reboot with the tryboot flag would boot
// and whether that is a trial, that is not the committed partition.
func (b *Backend) Armed() (partition int, armed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.armed()
}

func (b *Backend) armed() (int, bool) {
	p := b.ab.BootPartition(true)
	return p, p != b.ab.BootPartition(false)
}

// Trying reports whether the bootloader started this boot with the tryboot
// flag (/chosen/bootloader/tryboot is 1). The flag is one-shot: the
// bootloader clears it before it starts the firmware, so any later boot is
// a normal one. A missing property, one that is not a 4-byte cell, or a
// value other than 0 and 1 is an error: this boot cannot be told apart.
func (b *Backend) Trying() (bool, error) {
	v, err := readCell(b.cfg.DeviceTree, "tryboot")
	if err != nil {
		return false, err
	}
	switch v {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return false, fmt.Errorf("tryboot: device tree chosen/bootloader/tryboot is %d, want 0 or 1", v)
}

// Booted returns the partition this boot came from: the bootloader's
// /chosen/bootloader/partition, or, when the firmware does not set it,
// the one autoboot.txt names for a boot with or without the tryboot flag,
// as Trying says. It is an error if that is neither slot.
func (b *Backend) Booted() (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.booted()
}

func (b *Backend) booted() (int, error) {
	v, err := readCell(b.cfg.DeviceTree, "partition")
	n := int(v)
	if errors.Is(err, fs.ErrNotExist) {
		trying, terr := b.Trying()
		if terr != nil {
			return 0, terr
		}
		n, err = b.ab.BootPartition(trying), nil
	}
	if err != nil {
		return 0, err
	}
	if !b.isSlot(n) {
		return 0, fmt.Errorf("tryboot: booted partition %d is neither slot %d nor %d: %w", n, b.slots[0], b.slots[1], ErrNotAB)
	}
	return n, nil
}

// TrialInterrupted reports whether a trial is armed but this boot is a
// normal one into the committed partition: the trial boot was cut by a
// power loss, crashed, or never happened (a power cut between StartTrial's
// write and its reboot). The bootloader fell back by itself; the agent
// decides whether to arm again (StartTrial, a bounded number of times) or
// to give up (Disarm).
//
// Call it at start, before this boot arms anything: right after a
// StartTrial whose reboot failed it is true as well. And act on it only
// when the agent's own state says a trial is running, since an image that
// ships the documentation's permanent tryboot section looks armed until
// the first Prepare or Disarm.
func (b *Backend) TrialInterrupted() (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, armed := b.armed(); !armed {
		return false, nil
	}
	trying, err := b.Trying()
	if err != nil || trying {
		return false, err
	}
	booted, err := b.booted()
	if err != nil {
		return false, err
	}
	return booted == b.ab.BootPartition(false), nil
}

// Prepare returns the block device of the inactive slot, for the agent to
// write the image to, after checking that it holds size bytes: a block
// device's size is where a seek to its end lands; a regular file (tests)
// is grown to size. It first disarms a trial still armed, since that
// trial would boot the slot about to be overwritten. It refuses with
// ErrRunningOnTarget while the system runs on the inactive slot.
func (b *Backend) Prepare(size int64) (target string, err error) {
	if size < 0 {
		return "", fmt.Errorf("tryboot: prepare: negative size %d", size)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.reload(); err != nil {
		return "", err
	}
	inactive := b.other(b.ab.BootPartition(false))
	booted, err := b.booted()
	if err != nil {
		return "", err
	}
	if booted == inactive {
		return "", fmt.Errorf("tryboot: prepare partition %d: %w", inactive, ErrRunningOnTarget)
	}
	if err := b.disarm(); err != nil {
		return "", err
	}
	target = b.cfg.Partitions[inactive]
	if err := ensureSize(target, size); err != nil {
		return "", err
	}
	return target, nil
}

func ensureSize(path string, size int64) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("tryboot: slot: %w", err)
	}
	mode := fi.Mode()
	switch {
	case mode.IsRegular():
		if fi.Size() < size {
			if err := os.Truncate(path, size); err != nil {
				return fmt.Errorf("tryboot: grow slot: %w", err)
			}
		}
		return nil
	case mode&fs.ModeDevice != 0 && mode&fs.ModeCharDevice == 0:
		have, err := deviceSize(path)
		if err != nil {
			return err
		}
		if have < size {
			return fmt.Errorf("tryboot: slot %s holds %d bytes, the image is %d: %w", path, have, size, ErrTooSmall)
		}
		return nil
	}
	return fmt.Errorf("tryboot: slot %s is a %v, not a block device or a regular file", path, mode.Type())
}

// deviceSize returns the size of a block device, where a seek to its end
// lands (Stat reports 0 for one).
func deviceSize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("tryboot: slot: %w", err)
	}
	defer f.Close()
	n, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("tryboot: size of slot %s: %w", path, err)
	}
	return n, nil
}

// StartTrial arms the inactive slot, writing boot_partition=<inactive> in
// the tryboot section of autoboot.txt crash-safely (nothing when it is
// armed already), and reboots with "0 tryboot": the bootloader boots
// the inactive slot once, and any later boot, after a crash, a watchdog
// reset or a power cut, is a normal one into the committed slot. It
// refuses with ErrRunningOnTarget while the system runs on the inactive
// slot. If Reboot fails the trial stays armed: call StartTrial again, or
// Disarm.
func (b *Backend) StartTrial() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.reload(); err != nil {
		return err
	}
	inactive := b.other(b.ab.BootPartition(false))
	booted, err := b.booted()
	if err != nil {
		return err
	}
	if booted == inactive {
		return fmt.Errorf("tryboot: arm partition %d: %w", inactive, ErrRunningOnTarget)
	}
	ab := b.ab
	if err := ab.SetTrybootPartition(inactive); err != nil {
		return err
	}
	if err := b.write(ab); err != nil {
		return err
	}
	if err := b.cfg.Reboot("0 tryboot"); err != nil {
		return fmt.Errorf("tryboot: reboot for the trial of partition %d: %w", inactive, err)
	}
	return nil
}

// Commit makes the partition this trial boot runs the committed one:
// autoboot.txt's [all] boot_partition becomes it and the trial is
// disarmed, in one crash-safe write; no reboot is needed. It refuses with
// ErrNotTrying when this boot was not made with the tryboot flag, and with
// ErrBootedCommitted when it runs the committed partition (a Commit that
// has already succeeded in this boot, too).
func (b *Backend) Commit() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.reload(); err != nil {
		return err
	}
	trying, err := b.Trying()
	if err != nil {
		return err
	}
	if !trying {
		return fmt.Errorf("tryboot: commit: %w", ErrNotTrying)
	}
	booted, err := b.booted()
	if err != nil {
		return err
	}
	if committed := b.ab.BootPartition(false); booted == committed {
		return fmt.Errorf("tryboot: commit partition %d: %w", booted, ErrBootedCommitted)
	}
	ab := b.ab
	if err := ab.SetBootPartition(booted); err != nil {
		return err
	}
	if err := ab.SetTrybootPartition(0); err != nil {
		return err
	}
	return b.write(ab)
}

// Disarm removes an armed trial from autoboot.txt, so that a tryboot boot
// boots the committed partition and TrialInterrupted reports false. It
// does nothing when no trial is armed.
func (b *Backend) Disarm() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.reload(); err != nil {
		return err
	}
	return b.disarm()
}

func (b *Backend) disarm() error {
	if _, armed := b.armed(); !armed {
		return nil
	}
	ab := b.ab
	if err := ab.SetTrybootPartition(0); err != nil {
		return err
	}
	return b.write(ab)
}

// Rollback leaves a trial: it disarms it (Disarm) and reboots normally,
// Reboot("0"), into the committed partition.
func (b *Backend) Rollback() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.reload(); err != nil {
		return err
	}
	if err := b.disarm(); err != nil {
		return err
	}
	if err := b.cfg.Reboot("0"); err != nil {
		return fmt.Errorf("tryboot: reboot into partition %d: %w", b.ab.BootPartition(false), err)
	}
	return nil
}

package tryboot

import "errors"

// Errors callers branch on. Each is returned wrapped, with what was found.
var (
	// ErrNotAB: the configuration or autoboot.txt does not describe an A/B
	// system this package can drive: not exactly two slots, tryboot_a_b=1
	// missing, or a boot_partition that names neither slot.
	ErrNotAB = errors.New("not a tryboot A/B setup")

	// ErrNotTrying: Commit was called in a boot the bootloader did not make
	// with the tryboot flag, so there is no trial to commit. After a power
	// cut or a crash during the trial this is the normal boot into the
	// committed partition; see TrialInterrupted.
	ErrNotTrying = errors.New("not booted with the tryboot flag")

	// ErrBootedCommitted: Commit was called in a tryboot boot that runs the
	// committed partition, not the inactive one: no trial was armed when
	// the system rebooted, or this boot has already committed it.
	ErrBootedCommitted = errors.New("booted partition is the committed one")

	// ErrRunningOnTarget: Prepare or StartTrial was called while the system
	// runs on the partition it would write to or arm, that is an
	// uncommitted trial. Commit or roll back first.
	ErrRunningOnTarget = errors.New("running on the inactive partition")

	// ErrTooSmall: the inactive slot's block device is smaller than the
	// image.
	ErrTooSmall = errors.New("slot too small")
)

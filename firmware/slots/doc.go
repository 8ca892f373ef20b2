// Package slots is backend A of the firmware updates (docs/firmware.md
// section 3): two slots for the seatgate binary in the data directory, a
// `committed` symlink naming the slot known to be good, and the
// supervisor that systemd runs (`seatgate supervise`), which starts the
// right slot's binary as its child, tries a new version, and rolls it back
// when it fails.
//
// # Layout
//
//	DATA/firmware/state.json          the update state (firmware/state)
//	DATA/firmware/slots/a/seatgate    slot a's binary
//	DATA/firmware/slots/b/seatgate    slot b's binary
//	DATA/firmware/slots/b/seatgate.bitmap  chunks of a download verified so far (firmware/fetch)
//	DATA/firmware/committed -> slots/a
//
// The committed symlink is replaced atomically (a symlink under a
// temporary name, renamed over it, the directory fsynced) and only by
// Install (first start) and Commit. A new version is written into the
// slot the link does not name (Prepare); a trial runs it while the link
// still names the old one, so rolling back never writes a binary.
//
// # The update, step by step
//
//  1. The agent inside the committed version downloads into
//     Prepare's target, verifies it and calls RequestTrial (phase Ready);
//     the daemon exits with ExitUpdate.
//  2. The supervisor records the trial (phase Trial, Attempts and ReArms 0,
//     the boot ID) and starts the new slot with SEATGATE_TRIAL=1.
//  3. The trial's agent calls Commit once local health has held: the
//     link moves to the new slot, the anti-rollback floor rises.
//  4. Or the trial fails: it exits with ExitRollback (its reason in the
//     state's Detail), or it crashes MaxAttempts times, or it is
//     restarted after MaxReArms power cuts. The supervisor records the
//     version as refused (phase RolledBack) and runs the committed slot.
//
// Every decision of the supervisor is written to the state file before it
// acts on it: a trial is never started unless a counter that bounds it
// was persisted first, except the first start from Ready. Hence, whatever
// crashes and power cuts happen, one version is started on trial at most
// MaxAttempts + MaxReArms times, and a version rolled back is never tried
// again (the agent refuses it, and so does the supervisor).
//
// # The factory binary, last resort
//
// When the committed slot's binary cannot be started, or the committed
// version fails FallbackAfter times in a row (exits within a minute of
// its start), the supervisor runs Initial, the factory binary, in its
// place, with SEATGATE_SLOT naming the committed slot, so that its agent
// downloads into the other slot, and SEATGATE_FALLBACK saying why; a
// commit from there ends the fallback.
// When the factory binary fails FallbackAfter times in a row as well, the
// committed version is tried again, in turns. The fallback never writes a
// slot.
//
// # Telling a power cut from a crash
//
// The trial records the kernel's boot ID. When the supervisor starts and
// finds a trial in progress, a different boot ID means the machine lost
// power or rebooted: the trial is re-armed, which is counted in ReArms,
// not in Attempts. The same boot ID means the supervisor itself died
// (killed, or restarted by systemd) during the trial: that counts as an
// attempt.
//
// # The child
//
// The supervisor starts the slot's binary with its Args and an
// environment of its own plus Env, SEATGATE_SLOT ("a" or "b") and
// SEATGATE_TRIAL ("1" for the trial, else "0"); NOTIFY_SOCKET passes
// through untouched so the child can notify systemd itself
// (NotifyAccess=all). On Linux the child is killed when the supervisor
// dies. The child's standard error passes through the supervisor, which
// keeps its last line for the history of a rollback.
package slots

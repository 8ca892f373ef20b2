// Package image is backend B of the firmware updates as the update agent
// (firmware/agent) drives it: it installs a full boot image into the
// inactive Raspberry Pi boot partition, tries it once with the
// bootloader's tryboot flag, and commits or rolls it back, keeping the
// same update state document (firmware/state) and the same guarantees as
// backend A (firmware/slots). The partitions, autoboot.txt and the reboot
// are firmware/tryboot's; this package decides, records and bounds.
//
// # Layout
//
//	DATA/firmware/state.json     the update state; Slot is the partition number ("3")
//	DATA/firmware/image.bitmap   chunks of the download verified so far (firmware/fetch)
//	/boot/firmware/autoboot.txt  which partition boots, with and without the tryboot flag
//	/dev/mmcblk0p2, p3           the two slots; the image is written to the inactive one
//
// # The update, step by step
//
//  1. The agent in the committed image calls Prepare (the inactive
//     partition, sized for the image; any trial still armed is disarmed)
//     and downloads into it.
//  2. RequestTrial hashes the partition's first Size bytes again, records
//     the trial (phases Ready and Trial, Attempts and ReArms 0, the boot
//     ID), and only then arms it in autoboot.txt and reboots with
//     "0 tryboot" (tryboot.StartTrial).
//  3. The bootloader boots the new partition once. At start the gateway
//     calls Reconcile, which says this boot is the trial; the agent runs
//     it (agent.Config.Trial) and calls Commit when local health has held
//     for the dwell time: autoboot.txt names the new partition for every
//     boot, then the state says Committed and the floor rises.
//  4. Or the health fails: the agent asks to stop with agent.ExitRollback
//     and the daemon calls Rollback, which refuses the version for good
//     (Refused, phase RolledBack) and reboots into the committed
//     partition.
//
// # What Reconcile does at each start
//
// Every decision is written to the state file before it is acted on,
// and every start of a trial but the first follows a persisted increment
// of ReArms or Attempts:
//
//   - Trial, and autoboot.txt already boots the trial's partition: a
//     Commit was cut between its two writes; the commit is completed.
//   - Trial, booted from the trial's partition with the tryboot flag: the
//     trial. The first start in a boot records the boot ID; a later start
//     in the same boot (the gateway crashed and systemd restarted it)
//     counts an attempt, and MaxAttempts of them roll the version back.
//   - Trial, booted from the committed partition: the trial boot never
//     happened (a cut between RequestTrial's writes and its reboot) or was
//     cut (power loss, kernel crash, watchdog reset: the bootloader's flag
//     is one-shot, so all look alike). ReArms counts it; up to MaxReArms
//     the trial is armed and the system reboots again, beyond that the
//     version is rolled back. So an image that never comes up is booted at
//     most 1 + MaxReArms times.
//   - RolledBack, but booted from the other partition: a Rollback was cut
//     before its reboot; it reboots into the committed partition, once per
//     boot. A trial left armed by a cut rollback is disarmed.
//   - Anything else changes nothing.
//
// Whatever the sequence of crashes and power cuts, autoboot.txt always
// names a slot for both kinds of boot (firmware/tryboot writes it
// crash-safely), a boot without the tryboot flag only ever starts an image
// that was committed, and one version is started on trial a bounded number
// of times and never again after its rollback.
//
// # Wiring into the gateway daemon
//
// At start, before the agent: Open, then Reconcile; its result is
// agent.Config.Trial. If Rebooting reports true afterwards, a reboot is
// under way and the daemon need not start anything. The agent's Exit
// function maps agent.ExitUpdate to nothing (RequestTrial has already
// asked systemd to reboot) and agent.ExitRollback to Rollback(now, ""),
// which takes the reason the agent recorded in the state. Target.Product
// is release.ProductImage.
package image

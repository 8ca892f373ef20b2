// Package tryboot is backend B of the firmware updates (docs/firmware.md,
// section 3): full A/B boot partitions on a Raspberry Pi, switched with the
// bootloader's tryboot flag and autoboot.txt. The update agent writes the
// image into the inactive slot (Prepare), boots it once (StartTrial),
// makes it the default after its health checks pass (Commit), or goes back
// (Rollback). The bootloader itself falls back to the committed slot
// after any failed trial, so no power cut or crash can leave a gateway
// booting an image that has not been committed.
//
// # The bootloader's side
//
// What the package relies on, from the Raspberry Pi documentation
// (github.com/raspberrypi/documentation, computers/config_txt/autoboot.adoc,
// computers/configuration/device-tree.adoc, and the TRYBOOT boot flow in
// computers/raspberry-pi):
//
//   - autoboot.txt, on the first FAT partition, is at most 512 bytes and
//     knows the filters all, none and tryboot (section headers in
//     brackets); boot_partition names the partition to boot (0: the first
//     bootable FAT partition).
//   - tryboot_a_b=1 makes the tryboot flag select a partition, through
//     boot_partition in the tryboot section, rather than tryboot.txt.
//   - The flag is set for one boot by rebooting with "0 tryboot", 0 being
//     the partition autoboot.txt chooses (sudo reboot "0 tryboot"). The
//     bootloader clears it before it starts the firmware, so a crash, a
//     watchdog reset or a power cut during the trial boots the [all]
//     partition next.
//   - Linux shows the bootloader's findings in /proc/device-tree/chosen/
//     bootloader: tryboot, "set to 1 if the tryboot flag was set at boot",
//     and partition, "the partition number used during boot", each a
//     32-bit integer, that is one big-endian 4-byte cell.
//   - Committing is rewriting autoboot.txt; no reboot is needed after it,
//     but the updater must not then overwrite the partition it runs on.
//
// The layout the package expects and keeps:
//
//	[all]
//	tryboot_a_b=1
//	boot_partition=2       the committed slot
//	[tryboot]
//	boot_partition=3       only while a trial of slot 3 is armed
//
// Unlike the documentation's example, which leaves the tryboot section
// pointing at the other slot for good, a trial is armed only between
// StartTrial and Commit, Rollback or Disarm: that is what lets
// TrialInterrupted tell a cut trial from a normal boot. A tryboot
// boot_partition equal to the committed one, or none, means no trial. See
// Autoboot for how the file is read and changed.
//
// # Writing autoboot.txt on FAT
//
// FAT has no journal and gives no atomic rename. Linux's vfat rename over
// an existing name rewrites the target's directory entry in place to point
// at the new file's clusters and then deletes the source's entry (fs/fat/
// namei_vfat.c, vfat_rename), so the name autoboot.txt is never absent in
// that sequence; but without the dirsync mount option the changed sectors
// reach the card in any order, and a power cut can leave the file empty,
// zero-filled or sharing clusters with another. So every change is made
// as follows:
//
//  1. autoboot.txt.bak gets the current content, fsynced;
//  2. autoboot.txt.new gets the new content, fsynced;
//  3. the directory is fsynced;
//  4. autoboot.txt.new is renamed over autoboot.txt;
//  5. the directory is fsynced.
//
// With Linux's vfat and the dirsync mount option the steps reach the card
// in order, and a cut at any point leaves autoboot.txt complete: the old
// content before step 4, the new one after it. A cut that costs more, the
// name or data that never reached the card, is repaired by New (and by
// every change, which reads the file again first): if autoboot.txt is
// missing, unreadable, damaged (ParseAutoboot refuses control characters
// such as the zeros a cut write leaves) or not a valid A/B configuration,
// a valid autoboot.txt.new is fsynced and renamed into place, as step 4
// would have done, or else a valid autoboot.txt.bak is installed by a
// new write. Either gives the state before the change or after it, never
// another; but until Linux runs New the bootloader finds no valid
// autoboot.txt. Clusters that two files share after a cut are fsck.fat's
// to fix, which is why the boot partition should be mounted with dirsync
// and have a non-zero fsck pass in /etc/fstab.
//
// # Rebooting
//
// SystemReboot is Config.Reboot for production; see it for how the reboot
// argument reaches the firmware through systemd.
//
// The package keeps no state of its own beyond autoboot.txt, starts no
// goroutines and logs nothing; the agent keeps the trial's history and
// bounds its attempts.
package tryboot

package tryboot_test

import (
	"fmt"

	"github.com/pkfreelance/seatgate/firmware/tryboot"
)

// Arming a trial of slot 3 and committing it, as the Backend does.
func ExampleParseAutoboot() {
	a, err := tryboot.ParseAutoboot([]byte("# seatgate A/B\n[all]\ntryboot_a_b=1\nboot_partition=2\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	a.SetTrybootPartition(3) // StartTrial
	fmt.Printf("armed: normal boot %d, tryboot %d\n%s", a.BootPartition(false), a.BootPartition(true), a.Encode())

	a.SetBootPartition(3) // Commit
	a.SetTrybootPartition(0)
	fmt.Printf("committed: normal boot %d, tryboot %d\n%s", a.BootPartition(false), a.BootPartition(true), a.Encode())
	// Output:
	// armed: normal boot 2, tryboot 3
	// # seatgate A/B
	// [all]
	// tryboot_a_b=1
	// boot_partition=2
	// [tryboot]
	// boot_partition=3
	// committed: normal boot 3, tryboot 3
	// # seatgate A/B
	// [all]
	// tryboot_a_b=1
	// boot_partition=3
}

// The update agent's use of a Backend, in production. (Not run: it would
// reboot the machine.)
func Example() {
	b, err := tryboot.New(tryboot.Config{
		Partitions: map[int]string{2: "/dev/mmcblk0p2", 3: "/dev/mmcblk0p3"},
		Reboot:     tryboot.SystemReboot,
	})
	if err != nil {
		fmt.Println(err) // not an A/B gateway: use backend A
		return
	}

	// At start: is this the trial of a new image?
	if trying, err := b.Trying(); err == nil && trying {
		healthy := true // the dwell time of local health checks
		if healthy {
			err = b.Commit() // the image stays; no reboot needed
		} else {
			err = b.Rollback() // reboots into the committed image
		}
		fmt.Println(err)
		return
	}
	if cut, err := b.TrialInterrupted(); err == nil && cut {
		// The trial boot never finished: re-arm a bounded number of
		// times (the agent's state file counts), then Disarm.
		fmt.Println(b.StartTrial())
		return
	}

	// A new release: write it into the inactive slot, then try it.
	target, err := b.Prepare(512 << 20)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("write and verify the image in", target)
	fmt.Println(b.StartTrial()) // reboots with "0 tryboot"
}

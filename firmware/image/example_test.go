package image_test

import (
	"log/slog"
	"os"
	"time"

	"github.com/pkfreelance/seatgate/firmware/agent"
	"github.com/pkfreelance/seatgate/firmware/image"
	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/tryboot"
)

// The gateway daemon's start with backend B, in production. (Not run: it
// would reboot the machine.)
func Example() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	b, err := image.Open(image.Config{
		Dir: "/var/lib/seatgate/firmware",
		Tryboot: tryboot.Config{
			Partitions: map[int]string{2: "/dev/mmcblk0p2", 3: "/dev/mmcblk0p3"},
			Reboot:     tryboot.SystemReboot,
		},
		Logger: logger,
	})
	if err != nil {
		logger.Error("firmware updates off", "err", err) // not a tryboot A/B system
		return
	}
	// Before the agent: finish what a cut left, and learn whether this
	// boot is the trial.
	trial, err := b.Reconcile(time.Now())
	if err != nil {
		logger.Error("firmware: reconcile", "err", err) // go on as the committed image
	}
	if b.Rebooting() {
		return // a trial is armed again, or a rollback completes
	}
	_, err = agent.New(agent.Config{
		State:   b.State(),
		Backend: b,
		Trial:   trial,
		Target:  release.Target{Product: release.ProductImage, Arch: "linux/arm64", Channel: "stable", Running: "1.0.0"},
		Exit: func(code int) {
			if code == agent.ExitRollback {
				if err := b.Rollback(time.Now(), ""); err != nil { // the agent's reason is in the state
					logger.Error("firmware: rollback", "err", err)
				}
			}
			// agent.ExitUpdate: RequestTrial has asked systemd to reboot.
		},
		// RootFile, Fetch, Log, Health, …
	})
	if err != nil {
		logger.Error("firmware agent", "err", err)
	}
}

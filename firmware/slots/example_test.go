package slots_test

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/pkfreelance/seatgate/firmware/slots"
)

// What `seatgate supervise` does: run the committed slot, or the trial,
// until systemd stops the unit.
func ExampleSupervise() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	self, _ := os.Executable() // the factory binary, installed on the first start
	err := slots.Supervise(ctx, slots.SupervisorConfig{
		Dir:     "/var/lib/seatgate/firmware",
		Args:    []string{"run", "--config", "/etc/seatgate/seatgate.yaml"},
		Initial: self,
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		slog.Error("supervise", "err", err)
		os.Exit(1)
	}
}

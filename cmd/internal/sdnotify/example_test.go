package sdnotify_test

import (
	"context"

	"github.com/pkfreelance/seatgate/cmd/internal/sdnotify"
)

// A daemon under Type=notify with WatchdogSec=: ready once it serves, the
// watchdog fed while its loops turn, stopping when asked to.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	alive := func() bool { return true } // e.g. the tap loop turned within the last second

	// ... open the database, start serving ...
	sdnotify.Ready()
	sdnotify.Status("serving 12 desks")
	go sdnotify.RunWatchdog(ctx, alive)

	<-ctx.Done() // SIGTERM
	sdnotify.Stopping()
}

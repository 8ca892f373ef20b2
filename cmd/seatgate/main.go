// Command seatgate is the gateway of a freelancing centre: it reads the
// desks' card readers, decides check-ins locally from its own database and
// lights each desk. See README.md for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // Asia/Karachi on a Pi with no zoneinfo

	"github.com/pkfreelance/seatgate/cmd/seatgate/internal/config"
	"github.com/pkfreelance/seatgate/cmd/seatgate/internal/daemon"
)

// version is set at link time: -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "seatgate:", err)
		var ce *config.Error
		var xe *daemon.ExitError
		if errors.As(err, &xe) {
			os.Exit(xe.Code) // for the supervisor: switch to a new version, or roll back
		}
		if errors.As(err, &ce) || errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

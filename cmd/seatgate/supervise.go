package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/pkfreelance/seatgate/cmd/internal/sdnotify"
	"github.com/pkfreelance/seatgate/cmd/seatgate/internal/config"
	"github.com/pkfreelance/seatgate/cmd/seatgate/internal/daemon"
	"github.com/pkfreelance/seatgate/firmware/slots"
)

// cmdSupervise runs the gateway from its committed firmware slot, or the
// new version on trial, and rolls back a trial that fails (docs/firmware.md).
// It is what systemd starts. The first time, it installs its own binary
// into slot a.
func cmdSupervise(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flagSet("supervise", stderr)
	cfgPath := fs.String("config", "/etc/seatgate/seatgate.yaml", "configuration file (YAML)")
	bootID := fs.String("boot-id", "", "file holding the kernel boot ID (default /proc/sys/kernel/random/boot_id; tests only)")
	debug := fs.Bool("debug", false, "log debug lines, and run the gateway with --debug")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: supervise takes no arguments, got %q", errUsage, fs.Args())
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	abs, err := filepath.Abs(*cfgPath)
	if err != nil {
		return err
	}
	level, childArgs := slog.LevelInfo, []string{"run", "--config", abs}
	if *debug {
		level, childArgs = slog.LevelDebug, append(childArgs, "--debug")
	}
	return slots.Supervise(ctx, slots.SupervisorConfig{
		Dir:     filepath.Join(cfg.DataDir, daemon.FirmwareDir),
		Args:    childArgs,
		Initial: self,
		// The gateway, not the supervisor, pings systemd's watchdog and
		// says when it is ready (the unit has NotifyAccess=all).
		Env:        sdnotify.ChildEnv(),
		BootIDPath: *bootID,
		// A trial that neither commits nor fails (hung, or its agent off)
		// is rolled back: health must hold for the dwell, then it commits.
		TrialTimeout: 3*time.Duration(cfg.Firmware.Dwell) + 2*time.Minute,
		Logger:       newLogger(stderr, level).With("component", "supervisor"),
		Stdout:       os.Stdout,
		Stderr:       stderr,
	})
}

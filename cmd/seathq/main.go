// Command seathq is headquarters: the authority for memberships, the
// receiver of every centre's events and live state, the seat-hours ledger and
// the gateways' certificate authority, on NATS (an embedded server, or an
// existing cluster). See README.md, "Operating HQ".
//
//	seathq run [--config /etc/seathq/seathq.yaml]
//	seathq config check [--config FILE]
//	seathq version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/pkfreelance/seatgate/cmd/internal/sdnotify"
	"github.com/pkfreelance/seatgate/hq/service"
)

// version is set at link time: -ldflags "-X main.version=1.2.3".
var version = "dev"

var errUsage = errors.New("usage")

const usage = `seathq: headquarters of the seat access-control network

  seathq run [--config FILE]            run HQ (default /etc/seathq/seathq.yaml; without the file, the defaults)
  seathq config check [--config FILE]   check a configuration file and exit
  seathq init [--config FILE]           create the secrets (HQ key, CA, API token, NATS password) and exit;
                                        for a cluster, run it on one node and copy secrets_dir to the others
  seathq passwd --user NAME [--config FILE]
                                        add or change a dashboard account (password read from standard input)
  seathq version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "seathq:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command given", errUsage)
	}
	cmd, args := args[0], args[1:]
	if cmd == "config" && len(args) > 0 && args[0] == "check" {
		cmd, args = "config check", args[1:]
	}
	switch cmd {
	case "passwd":
		return cmdPasswd(args, os.Stdin, stdout, stderr)
	case "run", "config check", "init":
		fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
		fs.SetOutput(stderr)
		path := fs.String("config", "/etc/seathq/seathq.yaml", "configuration file")
		if err := fs.Parse(args); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() != 0 {
			return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
		}
		explicit := false
		fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "config" })
		c, err := loadConfig(*path)
		if errors.Is(err, os.ErrNotExist) && !explicit {
			c, err = parseConfig(nilReader{}, "(defaults)")
		}
		if err != nil {
			return err
		}
		switch cmd {
		case "config check":
			fmt.Fprintf(stdout, "%s: ok\n", *path)
			return nil
		case "init":
			o, err := c.options()
			if err != nil {
				return err
			}
			o.Logger = slog.New(slog.NewTextHandler(stderr, nil))
			if err := service.InitSecrets(o); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "secrets ready in %s (back them up; gateways pin HQ's key and CA)\n", c.SecretsDir)
			return nil
		}
		return serve(ctx, c, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "seathq", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

type nilReader struct{}

func (nilReader) Read([]byte) (int, error) { return 0, io.EOF }

func serve(ctx context.Context, c *Config, stderr io.Writer) error {
	var level slog.Level
	level.UnmarshalText([]byte(c.Log.Level))
	lg := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	o, err := c.options()
	if err != nil {
		return err
	}
	o.Logger, o.Version = lg, version
	s, err := service.Start(ctx, o)
	if err != nil {
		return err
	}
	lg.Info("seathq running", "version", version, "api", s.APIURL(), "token_file", o.SecretsDir+"/"+service.APITokenFile)
	// systemd (Type=notify): ready, and the watchdog pinged while NATS
	// answers.
	if err := sdnotify.Ready(); err != nil {
		lg.Warn("systemd notify", "err", err)
	}
	go sdnotify.RunWatchdog(ctx, func() bool { return s.NC.IsConnected() })
	<-ctx.Done()
	lg.Info("seathq stopping")
	sdnotify.Stopping()
	return s.Close()
}

package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/cmd/seatgate/internal/config"
	"github.com/pkfreelance/seatgate/cmd/seatgate/internal/daemon"
	"github.com/pkfreelance/seatgate/sync/identity"
	"github.com/pkfreelance/seatgate/sync/journal"
)

var errUsage = errors.New("usage")

const usage = `seatgate: the seat access-control gateway of a freelancing centre

Commands:
  seatgate run --config FILE             run the gateway (YAML config, see deploy/seatgate.example.yaml)
  seatgate supervise --config FILE       what systemd runs: the gateway from its committed firmware slot,
                                         a new version on trial, and the rollback of a failed trial
  seatgate demo [flags]                  run a gateway with emulated desks and scripted freelancers
  seatgate members import --config FILE SNAPSHOT.json
                                         load an HQ-signed membership snapshot (SNAPSHOT.json.sig beside it)
                                         into the gateway's cache; --allow-unsigned for development only
  seatgate key show --config FILE        print the gateway's device public key (created at the first call),
                                         for enrolment at HQ ('seatctl gateway enrol --device-key')
  seatgate passwd --config FILE          set the owner dashboard's password (read from standard input)
  seatgate version                       print the version
`

// run is the whole command, testable: args without the program name.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command given", errUsage)
	}
	switch args[0] {
	case "run":
		return cmdRun(ctx, args[1:], stderr)
	case "supervise":
		return cmdSupervise(ctx, args[1:], stderr)
	case "passwd":
		return cmdPasswd(args[1:], os.Stdin, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, args[1:], stdout, stderr)
	case "members":
		if len(args) < 2 || args[1] != "import" {
			fmt.Fprint(stderr, usage)
			return fmt.Errorf("%w: members takes the subcommand import", errUsage)
		}
		return cmdMembersImport(args[2:], stdout, stderr)
	case "key":
		if len(args) < 2 || args[1] != "show" {
			fmt.Fprint(stderr, usage)
			return fmt.Errorf("%w: key takes the subcommand show", errUsage)
		}
		return cmdKeyShow(args[2:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "seatgate", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func flagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

func cmdRun(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flagSet("run", stderr)
	cfgPath := fs.String("config", "/etc/seatgate/seatgate.yaml", "configuration file (YAML)")
	debug := fs.Bool("debug", false, "log debug lines")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: run takes no arguments, got %q", errUsage, fs.Args())
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	g, err := daemon.New(cfg, daemon.Options{Version: version, Logger: newLogger(stderr, level)})
	if err != nil {
		return err
	}
	return g.Run(ctx)
}

func cmdMembersImport(args []string, stdout, stderr io.Writer) error {
	fs := flagSet("members import", stderr)
	cfgPath := fs.String("config", "/etc/seatgate/seatgate.yaml", "configuration file (YAML)")
	unsigned := fs.Bool("allow-unsigned", false, "DEVELOPMENT ONLY: accept a snapshot without HQ's signature")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: members import takes one snapshot file", errUsage)
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if *unsigned {
		fmt.Fprintln(stderr, "seatgate: WARNING: importing a membership snapshot WITHOUT checking HQ's signature (--allow-unsigned).")
		fmt.Fprintln(stderr, "seatgate: WARNING: anyone could have written this file; never do this on a production gateway.")
	} else if err := checkSnapshotSignature(cfg, fs.Arg(0)); err != nil {
		return err
	}
	n, err := importMembers(cfg, fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d members, %d cards, %d plans into %s\n", n.members, n.cards, n.plans, cfg.DataDir)
	return nil
}

type importCounts struct{ members, cards, plans int }

// checkSnapshotSignature verifies FILE against FILE.sig with the gateway's
// pinned HQ key.
func checkSnapshotSignature(cfg *config.Config, path string) error {
	if cfg.HQ.HQKey == "" {
		return fmt.Errorf("cannot check the snapshot's signature: the config has no hq.hq_key (HQ's public key)")
	}
	pub, err := base64.StdEncoding.DecodeString(cfg.HQ.HQKey)
	if err != nil {
		return fmt.Errorf("hq.hq_key: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read snapshot: %w", err)
	}
	sig, err := os.ReadFile(path + journal.SigSuffix)
	if err != nil {
		return fmt.Errorf("%w: %v (seatctl writes it next to the snapshot)", journal.ErrSnapshotSignature, err)
	}
	if err := journal.VerifySnapshotFile(ed25519.PublicKey(pub), data, sig); err != nil {
		return fmt.Errorf("snapshot %s: %w", path, err)
	}
	return nil
}

func importMembers(cfg *config.Config, path string) (importCounts, error) {
	f, err := os.Open(path)
	if err != nil {
		return importCounts{}, fmt.Errorf("open snapshot: %w", err)
	}
	defer f.Close()
	m, err := store.ParseMembership(f)
	if err != nil {
		return importCounts{}, fmt.Errorf("snapshot %s: %w", path, err)
	}
	if m.Centre != "" && m.Centre != cfg.Centre {
		return importCounts{}, fmt.Errorf("snapshot %s is for centre %q, this gateway serves %q", path, m.Centre, cfg.Centre)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return importCounts{}, fmt.Errorf("create data directory: %w", err)
	}
	st, err := store.Open(daemon.DBPath(cfg), store.Options{Timeout: 2e9})
	if err != nil {
		return importCounts{}, fmt.Errorf("open database (is seatgate running? stop it first): %w", err)
	}
	defer st.Close()
	if err := st.ReplaceMembership(m); err != nil {
		return importCounts{}, fmt.Errorf("import: %w", err)
	}
	return importCounts{members: len(m.Members), cards: len(m.Cards), plans: len(m.Plans)}, nil
}

func cmdKeyShow(args []string, stdout, stderr io.Writer) error {
	fs := flagSet("key show", stderr)
	cfgPath := fs.String("config", "/etc/seatgate/seatgate.yaml", "configuration file (YAML)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: key show takes no arguments, got %q", errUsage, fs.Args())
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	k, err := identity.LoadOrCreate(cfg.DataDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "device_key: %s\nkey id: %s\ncentre: %s\ngateway: %s\n", k.PublicBase64(), k.ID(), cfg.Centre, cfg.Gateway)
	return nil
}

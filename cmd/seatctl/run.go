package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/pki"
	"github.com/pkfreelance/seatgate/sync/identity"
	"github.com/pkfreelance/seatgate/sync/journal"
)

var errUsage = errors.New("usage")

const usage = `seatctl: operate the seat access-control network

Keys and certificates (DIR is HQ's secrets directory, default /etc/seathq):
  seatctl keys init [--dir DIR]             create HQ's signing key (acks, journal, snapshots); prints the
                                            public key for every gateway's hq.hq_key
  seatctl keys show [--dir DIR]             print HQ's public key and key id
  seatctl ca init [--dir DIR]               create HQ's certificate authority (DIR/ca)
  seatctl cert gateway --centre C --gateway G --out OUTDIR [--dir DIR] [--days N]
                                            issue a gateway's client certificate: OUTDIR/{gateway.pem,
                                            gateway-key.pem,hq-ca.pem}, ready for the gateway's hq: section
  seatctl cert server --host H [--host H2…] --out OUTDIR [--dir DIR] [--days N]
                                            issue the broker's TLS certificate
Memberships:
  seatctl snapshot sign [--dir DIR] FILE    check FILE is a valid membership snapshot and write FILE.sig
                                            (for 'seatgate members import' at an offline centre)
  seatctl version
` + hqUsage + releaseUsage

const hqKeyFile = "hq-signing.key"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command given", errUsage)
	}
	cmd := args[0]
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
		cmd += " " + args[1]
		args = args[1:]
	}
	if ok, err := hqCommands(ctx, cmd, args[1:], stdout, stderr); ok {
		return err
	}
	if ok, err := releaseCommands(ctx, cmd, args[1:], stdout, stderr); ok {
		return err
	}
	switch cmd {
	case "keys init", "keys show":
		return cmdKeys(cmd == "keys init", args[1:], stdout, stderr)
	case "ca init":
		return cmdCAInit(args[1:], stdout, stderr)
	case "cert gateway":
		return cmdCertGateway(args[1:], stdout, stderr)
	case "cert server":
		return cmdCertServer(args[1:], stdout, stderr)
	case "snapshot sign":
		return cmdSnapshotSign(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "seatctl", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

func flags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "/etc/seathq", "HQ's secrets directory")
	return fs, dir
}

func parse(fs *flag.FlagSet, args []string, nargs int) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != nargs {
		return fmt.Errorf("%w: %s takes %d argument(s), got %q", errUsage, fs.Name(), nargs, fs.Args())
	}
	return nil
}

func cmdKeys(create bool, args []string, stdout, stderr io.Writer) error {
	fs, dir := flags("keys", stderr)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	path := filepath.Join(*dir, hqKeyFile)
	var k identity.Key
	var err error
	if create {
		if _, statErr := os.Stat(path); statErr == nil {
			return fmt.Errorf("%s exists: HQ's key is created once (every gateway pins it); use 'seatctl keys show'", path)
		}
		if err := os.MkdirAll(*dir, 0o700); err != nil {
			return err
		}
		k, err = identity.LoadOrCreateFile(path, identity.HQKeyType)
	} else {
		k, err = identity.Load(path, identity.HQKeyType)
	}
	if err != nil {
		return err
	}
	if create {
		fmt.Fprintf(stdout, "created HQ signing key %s (keep it secret; back it up offline)\n", path)
	}
	fmt.Fprintf(stdout, "hq_key: %s\nkey id: %s\n", k.PublicBase64(), k.ID())
	return nil
}

func cmdCAInit(args []string, stdout, stderr io.Writer) error {
	fs, dir := flags("ca init", stderr)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	caDir := filepath.Join(*dir, "ca")
	if _, err := os.Stat(filepath.Join(caDir, pki.CACertFile)); err == nil {
		return fmt.Errorf("a CA already exists in %s", caDir)
	}
	ca, err := pki.NewCA(caDir)
	if err != nil {
		return err
	}
	c := ca.Certificate()
	fmt.Fprintf(stdout, "created CA %q in %s, valid until %s\n", c.Subject.CommonName, caDir, c.NotAfter.Format("2006-01-02"))
	return nil
}

func loadCA(dir string) (*pki.CA, error) {
	caDir := filepath.Join(dir, "ca")
	if _, err := os.Stat(filepath.Join(caDir, pki.CACertFile)); err != nil {
		return nil, fmt.Errorf("no CA in %s: run 'seatctl ca init' first", caDir)
	}
	return pki.NewCA(caDir)
}

func cmdCertGateway(args []string, stdout, stderr io.Writer) error {
	fs, dir := flags("cert gateway", stderr)
	centre := fs.String("centre", "", "centre id")
	gateway := fs.String("gateway", "", "gateway id")
	out := fs.String("out", "", "directory for the gateway's files")
	days := fs.Int("days", 825, "validity in days")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *out == "" || *centre == "" || *gateway == "" {
		return fmt.Errorf("%w: cert gateway needs --centre, --gateway and --out", errUsage)
	}
	ca, err := loadCA(*dir)
	if err != nil {
		return err
	}
	cert, key, err := ca.IssueGateway(*centre, *gateway, nil, time.Duration(*days)*24*time.Hour)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return err
	}
	for name, data := range map[string][]byte{"gateway.pem": cert, "gateway-key.pem": key, "hq-ca.pem": ca.CertPEM()} {
		if err := pki.WriteFileAtomic(filepath.Join(*out, name), data, 0o600); err != nil {
			return err
		}
	}
	cn, _ := pki.GatewayCN(*centre, *gateway)
	fmt.Fprintf(stdout, "issued %s for %d days in %s (gateway.pem, gateway-key.pem, hq-ca.pem)\n", cn, *days, *out)
	return nil
}

type hosts []string

func (h *hosts) String() string     { return strings.Join(*h, ",") }
func (h *hosts) Set(v string) error { *h = append(*h, v); return nil }

func cmdCertServer(args []string, stdout, stderr io.Writer) error {
	fs, dir := flags("cert server", stderr)
	var hs hosts
	fs.Var(&hs, "host", "DNS name or IP address of the broker (repeat)")
	out := fs.String("out", "", "directory for the broker's files")
	days := fs.Int("days", 825, "validity in days")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *out == "" || len(hs) == 0 {
		return fmt.Errorf("%w: cert server needs --host and --out", errUsage)
	}
	ca, err := loadCA(*dir)
	if err != nil {
		return err
	}
	cert, key, err := ca.IssueServer(hs, time.Duration(*days)*24*time.Hour)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return err
	}
	for name, data := range map[string][]byte{"server.pem": cert, "server-key.pem": key, "ca.pem": ca.CertPEM()} {
		if err := pki.WriteFileAtomic(filepath.Join(*out, name), data, 0o600); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "issued a broker certificate for %s in %s\n", hs.String(), *out)
	return nil
}

func cmdSnapshotSign(args []string, stdout, stderr io.Writer) error {
	fs, dir := flags("snapshot sign", stderr)
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	path := fs.Arg(0)
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	m, err := store.ParseMembership(strings.NewReader(string(data)))
	if err != nil {
		return fmt.Errorf("%s is not a valid membership snapshot: %w", path, err)
	}
	k, err := identity.Load(filepath.Join(*dir, hqKeyFile), identity.HQKeyType)
	if err != nil {
		return err
	}
	if err := pki.WriteFileAtomic(path+journal.SigSuffix, journal.SignSnapshotFile(k.Private, data), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signed %s (centre %s, revision %d, %d members) → %s%s\n",
		path, m.Centre, m.Revision, len(m.Members), path, journal.SigSuffix)
	return nil
}

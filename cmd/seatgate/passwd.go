package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pkfreelance/seatgate/cmd/seatgate/internal/config"
	"github.com/pkfreelance/seatgate/web/owner"
)

// cmdPasswd sets the owner dashboard's password (argon2id, in the data
// directory), read from the first line of standard input or of a file so
// that it never appears in the process list or the shell history.
func cmdPasswd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flagSet("passwd", stderr)
	cfgPath := fs.String("config", "/etc/seatgate/seatgate.yaml", "configuration file (YAML)")
	file := fs.String("password-file", "", "read the password from this file (default: standard input)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: passwd takes no arguments (the password comes from standard input)", errUsage)
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	in := stdin
	if *file != "" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	} else {
		fmt.Fprintln(stderr, "seatgate: new owner dashboard password (one line, at least", owner.MinPasswordLen, "characters):")
	}
	line, err := bufio.NewReader(io.LimitReader(in, owner.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && err != io.EOF {
		return err
	}
	pw := strings.TrimRight(line, "\r\n")
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return err
	}
	if err := owner.SetPassword(cfg.DataDir, pw); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "owner dashboard password set; sign in at http://"+cfg.HTTP.Listen+"/")
	return nil
}

package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pkfreelance/seatgate/hq/dashboard"
)

// cmdPasswd adds or changes an account of the analysts' dashboard: the
// password, read from the first line of standard input (never from the
// command line, which other users can see), is stored as an argon2id hash
// in the secrets directory.
func cmdPasswd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("passwd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/seathq/seathq.yaml", "configuration file")
	user := fs.String("user", "", "account name")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 0 || *user == "" {
		return fmt.Errorf("%w: passwd needs --user NAME and no arguments (the password comes from standard input)", errUsage)
	}
	c, err := loadConfig(*path)
	if errors.Is(err, os.ErrNotExist) {
		c, err = parseConfig(nilReader{}, "(defaults)")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "seathq: password for dashboard account %s (one line, at least %d characters):\n", *user, dashboard.MinPasswordLen)
	line, err := bufio.NewReader(io.LimitReader(stdin, dashboard.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && err != io.EOF {
		return err
	}
	if err := os.MkdirAll(c.SecretsDir, 0o700); err != nil {
		return err
	}
	if err := dashboard.SetPassword(c.SecretsDir, *user, strings.TrimRight(line, "\r\n")); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "dashboard account %s set in %s\n", *user, c.SecretsDir)
	return nil
}

package dashboard

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	webauth "github.com/pkfreelance/seatgate/web/auth"
)

// UsersFile holds the operator accounts, in seathq's secrets directory,
// mode 0600: one account a line,
//
//	name:$argon2id$v=19$m=65536,t=2,p=2$<salt>$<hash>
//
// with salt and hash in unpadded standard base64 (new hashes use
// webauth.DefaultParams). Blank lines and lines starting with # are ignored
// (SetPassword keeps them).
const UsersFile = "dashboard-users"

// MinPasswordLen is the shortest password SetPassword accepts, in
// characters; MaxPasswordLen the longest, in bytes.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 1024
)

// MaxUsersFile is the largest users file read.
const MaxUsersFile = 1 << 20

// ErrNoUsers is what a login meets when no account has been set up.
var ErrNoUsers = errors.New("no dashboard account is set up: run `seathq passwd`")

// ValidUser reports what is wrong with an account name, or nil: 1 to 32
// characters of a-z, 0-9, '.', '_' and '-', starting with a letter or
// digit.
func ValidUser(name string) error {
	if name == "" || len(name) > 32 {
		return fmt.Errorf("user %.40q: want 1 to 32 characters", name)
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case i > 0 && (r == '.' || r == '_' || r == '-'):
		default:
			return fmt.Errorf("user %.40q: want a-z, 0-9, '.', '_' and '-', starting with a letter or digit", name)
		}
	}
	return nil
}

// SetPassword sets user's password in UsersFile in secretsDir, adding the
// account if it is new, and rewrites the file atomically (mode 0600).
// Sessions already open stay open until they expire or seathq restarts.
// It is meant for one operator at a command line: two at once may lose
// one change.
func SetPassword(secretsDir, user, password string) error {
	if err := ValidUser(user); err != nil {
		return fmt.Errorf("set dashboard password: %w", err)
	}
	if n := utf8.RuneCountInString(password); n < MinPasswordLen {
		return fmt.Errorf("set dashboard password: %d characters is too short, use at least %d", n, MinPasswordLen)
	}
	if len(password) > MaxPasswordLen {
		return fmt.Errorf("set dashboard password: %d bytes is too long, use at most %d", len(password), MaxPasswordLen)
	}
	path := filepath.Join(secretsDir, UsersFile)
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("set dashboard password: %w", err)
	}
	if _, err := parseUsers(old, path); err != nil {
		return fmt.Errorf("set dashboard password: %w", err)
	}
	h, err := webauth.NewHash(password)
	if err != nil {
		return fmt.Errorf("set dashboard password: %w", err)
	}
	line := user + ":" + h.String()

	var out bytes.Buffer
	replaced := false
	for l := range strings.Lines(string(old)) {
		name, _, ok := strings.Cut(strings.TrimSpace(l), ":")
		if ok && name == user && !replaced {
			out.WriteString(line + "\n")
			replaced = true
			continue
		}
		out.WriteString(strings.TrimRight(l, "\r\n") + "\n")
	}
	if !replaced {
		out.WriteString(line + "\n")
	}
	if err := os.MkdirAll(secretsDir, 0o700); err != nil {
		return fmt.Errorf("set dashboard password: %w", err)
	}
	if err := webauth.WriteSecretFile(path, out.Bytes()); err != nil {
		return fmt.Errorf("set dashboard password: %w", err)
	}
	return nil
}

// parseUsers reads a users file: name → hash. filename is for the errors,
// which name the line.
func parseUsers(data []byte, filename string) (map[string]webauth.Hash, error) {
	if len(data) > MaxUsersFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", filename, MaxUsersFile)
	}
	users := map[string]webauth.Hash{}
	n := 0
	for l := range strings.Lines(string(data)) {
		n++
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, hash, ok := strings.Cut(l, ":")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want name:$argon2id$…", filename, n)
		}
		if err := ValidUser(name); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", filename, n, err)
		}
		if _, dup := users[name]; dup {
			return nil, fmt.Errorf("%s:%d: user %s given twice", filename, n, name)
		}
		h, err := webauth.ParseHash(hash)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: user %s: %w", filename, n, name, err)
		}
		users[name] = h
	}
	return users, nil
}

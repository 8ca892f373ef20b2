package owner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/pkfreelance/seatgate/web/auth"
)

// PasswordFile is the owner's password hash inside the data directory:
// one line, a PHC string such as
//
//	$argon2id$v=19$m=65536,t=2,p=2$<salt>$<hash>
//
// with salt and hash in unpadded standard base64, mode 0600. New hashes
// use auth.DefaultParams: 64 MiB, 2 passes, 2 lanes, about 0.3 s on a
// Pi 4.
const PasswordFile = "owner-password"

// MinPasswordLen is the shortest password SetPassword accepts, in
// characters; MaxPasswordLen the longest, in bytes.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 1024
)

// ErrNoPassword is returned when no owner password has been set.
var ErrNoPassword = errors.New("no owner password is set: run `seatgate passwd`")

// SetPassword hashes password with Argon2id and writes it to PasswordFile
// in dataDir (mode 0600), replacing any previous one atomically. Sessions
// already open stay open until they expire or the gateway restarts.
func SetPassword(dataDir, password string) error {
	if n := utf8.RuneCountInString(password); n < MinPasswordLen {
		return fmt.Errorf("set owner password: %d characters is too short, use at least %d", n, MinPasswordLen)
	}
	if len(password) > MaxPasswordLen {
		return fmt.Errorf("set owner password: %d bytes is too long, use at most %d", len(password), MaxPasswordLen)
	}
	h, err := auth.NewHash(password)
	if err != nil {
		return fmt.Errorf("set owner password: %w", err)
	}
	if err := auth.WriteSecretFile(filepath.Join(dataDir, PasswordFile), []byte(h.String()+"\n")); err != nil {
		return fmt.Errorf("set owner password: %w", err)
	}
	return nil
}

// readPassword reads the hash in dataDir: ErrNoPassword if there is none.
func readPassword(dataDir string) (auth.Hash, error) {
	path := filepath.Join(dataDir, PasswordFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return auth.Hash{}, ErrNoPassword
	}
	if err != nil {
		return auth.Hash{}, fmt.Errorf("read owner password: %w", err)
	}
	h, err := auth.ParseHash(strings.TrimSpace(string(b)))
	if err != nil {
		return auth.Hash{}, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

// checkPassword reports whether password matches the hash in dataDir,
// hashing it once v admits it: ctx's error if ctx ends first.
func checkPassword(ctx context.Context, v *auth.Verifier, dataDir, password string) (bool, error) {
	h, err := readPassword(dataDir)
	if err != nil || len(password) > MaxPasswordLen {
		return false, err
	}
	return v.Matches(ctx, h, password)
}

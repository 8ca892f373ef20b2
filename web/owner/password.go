package owner

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// PasswordFile is the owner's password hash inside the data directory:
// one line, a PHC string such as
//
//	$argon2id$v=19$m=65536,t=2,p=2$<salt>$<hash>
//
// with salt and hash in unpadded standard base64, mode 0600.
const PasswordFile = "owner-password"

// MinPasswordLen is the shortest password SetPassword accepts, in
// characters; MaxPasswordLen the longest, in bytes.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 1024
)

// Argon2id parameters of new hashes (RFC 9106's second recommended
// option, with a lower time cost for a Raspberry Pi): 64 MiB, 2 passes,
// 2 lanes, 16-byte salt, 32-byte key. About 0.3 s on a Pi 4.
const (
	argonTime    = 2
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 2
	saltLen      = 16
	keyLen       = 32
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
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return fmt.Errorf("set owner password: salt: %w", err)
	}
	h := phc{time: argonTime, memory: argonMemory, threads: argonThreads, salt: salt}
	h.key = h.derive(password, keyLen)
	if err := writeFileAtomic(filepath.Join(dataDir, PasswordFile), []byte(h.String()+"\n")); err != nil {
		return fmt.Errorf("set owner password: %w", err)
	}
	return nil
}

// checkPassword reports whether password matches the hash in dataDir.
func checkPassword(dataDir, password string) (bool, error) {
	path := filepath.Join(dataDir, PasswordFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, ErrNoPassword
	}
	if err != nil {
		return false, fmt.Errorf("read owner password: %w", err)
	}
	h, err := parsePHC(strings.TrimSpace(string(b)))
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	if len(password) > MaxPasswordLen {
		return false, nil
	}
	return subtle.ConstantTimeCompare(h.derive(password, len(h.key)), h.key) == 1, nil
}

// phc is an Argon2id hash with its parameters.
type phc struct {
	time, memory uint32
	threads      uint8
	salt, key    []byte
}

func (h phc) derive(password string, n int) []byte {
	return argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(n))
}

func (h phc) String() string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.memory, h.time, h.threads,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// Bounds on a stored hash's parameters: the file is ours, but a damaged
// or hostile one must not make a login take minutes or gigabytes.
const (
	maxArgonTime   = 10
	minArgonMemory = 8 * 1024   // KiB
	maxArgonMemory = 256 * 1024 // KiB
	maxArgonLanes  = 16
)

// parsePHC reads "$argon2id$v=19$m=M,t=T,p=P$salt$hash".
func parsePHC(s string) (phc, error) {
	bad := func(format string, args ...any) (phc, error) {
		return phc{}, fmt.Errorf("password hash: "+format, args...)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("not a PHC string $argon2id$v=19$m=…,t=…,p=…$salt$hash (%d fields)", len(parts)-1)
	}
	if parts[1] != "argon2id" {
		return bad("algorithm %q, want argon2id", parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("version %q, want v=%d", parts[2], argon2.Version)
	}
	var h phc
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return bad("parameters %q, want m=…,t=…,p=…", parts[3])
	}
	for i, want := range []string{"m", "t", "p"} {
		name, val, ok := strings.Cut(params[i], "=")
		if !ok || name != want {
			return bad("parameter %d is %q, want %s=…", i+1, params[i], want)
		}
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return bad("parameter %s=%q is not a number", name, val)
		}
		switch name {
		case "m":
			if n < minArgonMemory || n > maxArgonMemory {
				return bad("memory m=%d KiB is outside %d..%d", n, minArgonMemory, maxArgonMemory)
			}
			h.memory = uint32(n)
		case "t":
			if n < 1 || n > maxArgonTime {
				return bad("time t=%d is outside 1..%d", n, maxArgonTime)
			}
			h.time = uint32(n)
		case "p":
			if n < 1 || n > maxArgonLanes {
				return bad("parallelism p=%d is outside 1..%d", n, maxArgonLanes)
			}
			h.threads = uint8(n)
		}
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil || len(h.salt) < 8 || len(h.salt) > 64 {
		return bad("salt %q is not 8 to 64 bytes of unpadded base64", parts[4])
	}
	if h.key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return bad("hash is not 16 to 64 bytes of unpadded base64")
	}
	return h, nil
}

// writeFileAtomic writes data to a temporary file beside path (mode
// 0600), fsyncs it, renames it over path and fsyncs the directory: a
// power cut leaves the old file or the new one.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after the rename it no longer exists
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

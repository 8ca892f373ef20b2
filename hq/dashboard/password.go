package dashboard

import (
	"bytes"
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

// UsersFile holds the operator accounts, in seathq's secrets directory,
// mode 0600: one account a line,
//
//	name:$argon2id$v=19$m=65536,t=2,p=2$<salt>$<hash>
//
// with salt and hash in unpadded standard base64. Blank lines and lines
// starting with # are ignored (SetPassword keeps them).
const UsersFile = "dashboard-users"

// MinPasswordLen is the shortest password SetPassword accepts, in
// characters; MaxPasswordLen the longest, in bytes.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 1024
)

// MaxUsersFile is the largest users file read.
const MaxUsersFile = 1 << 20

// Argon2id parameters of new hashes (RFC 9106's second recommended
// option): 64 MiB, 2 passes, 2 lanes, 16-byte salt, 32-byte key.
const (
	argonTime    = 2
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 2
	saltLen      = 16
	keyLen       = 32
)

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
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return fmt.Errorf("set dashboard password: salt: %w", err)
	}
	h := phc{time: argonTime, memory: argonMemory, threads: argonThreads, salt: salt}
	h.key = h.derive(password, keyLen)
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
	if err := writeFileAtomic(path, out.Bytes()); err != nil {
		return fmt.Errorf("set dashboard password: %w", err)
	}
	return nil
}

// parseUsers reads a users file: name → hash. filename is for the errors,
// which name the line.
func parseUsers(data []byte, filename string) (map[string]phc, error) {
	if len(data) > MaxUsersFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", filename, MaxUsersFile)
	}
	users := map[string]phc{}
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
		h, err := parsePHC(hash)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: user %s: %w", filename, n, name, err)
		}
		users[name] = h
	}
	return users, nil
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

// matches reports whether password derives h's key, in constant time.
func (h phc) matches(password string) bool {
	return subtle.ConstantTimeCompare(h.derive(password, len(h.key)), h.key) == 1
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
		return bad("algorithm %.20q, want argon2id", parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("version %.20q, want v=%d", parts[2], argon2.Version)
	}
	var h phc
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return bad("parameters %.40q, want m=…,t=…,p=…", parts[3])
	}
	for i, want := range []string{"m", "t", "p"} {
		name, val, ok := strings.Cut(params[i], "=")
		if !ok || name != want {
			return bad("parameter %d is %.20q, want %s=…", i+1, params[i], want)
		}
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return bad("parameter %s=%.20q is not a number", name, val)
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
		return bad("salt is not 8 to 64 bytes of unpadded base64")
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

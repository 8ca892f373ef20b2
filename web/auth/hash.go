package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are Argon2id's cost parameters: passes, memory in KiB and lanes.
type Params struct {
	Time    uint32
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultParams are the parameters of new hashes (RFC 9106's second
// recommended option, with a lower time cost for a Raspberry Pi): 64 MiB,
// 2 passes, 2 lanes. About 0.3 s on a Pi 4.
var DefaultParams = Params{Time: 2, Memory: 64 * 1024, Threads: 2}

// CheapestParams are the lowest parameters ParseHash accepts, for tests
// that log in many times.
var CheapestParams = Params{Time: 1, Memory: MinMemory, Threads: 1}

// Salt and key lengths of new hashes, in bytes.
const (
	SaltLen = 16
	KeyLen  = 32
)

// Bounds on a stored hash's parameters, which ParseHash enforces: the
// file is ours, but a damaged or hostile one must not make a login take
// minutes or gigabytes.
const (
	MaxTime   = 10
	MinMemory = 8 * 1024   // KiB
	MaxMemory = 256 * 1024 // KiB
	MaxLanes  = 16
)

// Hash is an Argon2id password hash with its parameters and salt. The
// zero Hash matches no password.
type Hash struct {
	Params
	Salt, Key []byte
}

// NewHash hashes password with DefaultParams and a random salt.
func NewHash(password string) (Hash, error) {
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return Hash{}, fmt.Errorf("hash password: salt: %w", err)
	}
	return HashWith(password, DefaultParams, salt), nil
}

// HashWith hashes password with the given parameters and salt, for a
// KeyLen-byte key. Tests use it with CheapestParams.
func HashWith(password string, p Params, salt []byte) Hash {
	h := Hash{Params: p, Salt: salt}
	h.Key = h.derive(password, KeyLen)
	return h
}

func (h Hash) derive(password string, n int) []byte {
	return argon2.IDKey([]byte(password), h.Salt, h.Time, h.Memory, h.Threads, uint32(n))
}

// Matches reports whether password derives h's key, in constant time. It
// costs as much as h's parameters say: call it through a Verifier where
// many may arrive at once.
func (h Hash) Matches(password string) bool {
	if len(h.Key) == 0 {
		return false
	}
	return subtle.ConstantTimeCompare(h.derive(password, len(h.Key)), h.Key) == 1
}

// String returns h as a PHC string, salt and key in unpadded standard
// base64.
func (h Hash) String() string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.Memory, h.Time, h.Threads,
		b64.EncodeToString(h.Salt), b64.EncodeToString(h.Key))
}

// ParseHash reads "$argon2id$v=19$m=M,t=T,p=P$salt$hash", with m, t and p
// within MinMemory..MaxMemory, 1..MaxTime and 1..MaxLanes, a salt of 8 to
// 64 bytes and a key of 16 to 64. Its errors start "password hash:" and
// quote at most a little of s.
func ParseHash(s string) (Hash, error) {
	bad := func(format string, args ...any) (Hash, error) {
		return Hash{}, fmt.Errorf("password hash: "+format, args...)
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
	var h Hash
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
			if n < MinMemory || n > MaxMemory {
				return bad("memory m=%d KiB is outside %d..%d", n, MinMemory, MaxMemory)
			}
			h.Memory = uint32(n)
		case "t":
			if n < 1 || n > MaxTime {
				return bad("time t=%d is outside 1..%d", n, MaxTime)
			}
			h.Time = uint32(n)
		case "p":
			if n < 1 || n > MaxLanes {
				return bad("parallelism p=%d is outside 1..%d", n, MaxLanes)
			}
			h.Threads = uint8(n)
		}
	}
	var err error
	if h.Salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil || len(h.Salt) < 8 || len(h.Salt) > 64 {
		return bad("salt is not 8 to 64 bytes of unpadded base64")
	}
	if h.Key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil || len(h.Key) < 16 || len(h.Key) > 64 {
		return bad("hash is not 16 to 64 bytes of unpadded base64")
	}
	return h, nil
}

// Verifier bounds the password hashes computed at once: each takes its
// Memory, 64 MiB for DefaultParams. Create with NewVerifier.
type Verifier struct {
	slots chan struct{}
}

// NewVerifier returns a Verifier that computes at most n hashes at once
// (at least one).
func NewVerifier(n int) *Verifier {
	return &Verifier{slots: make(chan struct{}, max(n, 1))}
}

// Matches waits for a free slot, then reports whether password matches
// h. It returns ctx's error if ctx ends first, without hashing.
func (v *Verifier) Matches(ctx context.Context, h Hash, password string) (bool, error) {
	select {
	case v.slots <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-v.slots }()
	return h.Matches(password), nil
}

package iso14443

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// UID is a card's unique identifier: 4, 7 or 10 bytes (single, double or
// triple size). A bare UID identifies a card; it proves nothing, since
// UIDs can be copied onto "magic" cards.
type UID []byte

// ErrUIDLength is returned when a UID is not 4, 7 or 10 bytes long.
var ErrUIDLength = errors.New("uid must be 4, 7 or 10 bytes")

// String is the canonical form: upper-case hex, no separators, all bytes.
func (u UID) String() string { return strings.ToUpper(hex.EncodeToString(u)) }

// Levels is the number of cascade levels the UID needs (1, 2 or 3).
func (u UID) Levels() int {
	switch len(u) {
	case 4:
		return 1
	case 7:
		return 2
	case 10:
		return 3
	}
	return 0
}

// Valid reports whether the UID has a valid size and no cascade tag where
// the standard forbids one: the first byte of the last cascade level (uid0
// of a single-size UID, uid3 of a double, uid6 of a triple) must not be
// 0x88, or a reader could not tell it from "more levels follow". uid0 is
// never 0x88 either (it is the manufacturer code of longer UIDs).
func (u UID) Valid() bool {
	n := u.Levels()
	return n != 0 && u[0] != CT && u[(n-1)*3] != CT
}

// CascadeLevel returns the four UID bytes carried at cascade level n
// (1-based): the cascade tag and three UID bytes when further levels follow,
// else the last four bytes.
func (u UID) CascadeLevel(n int) [4]byte {
	var cl [4]byte
	levels := u.Levels()
	if n < 1 || n > levels {
		panic(fmt.Sprintf("iso14443: cascade level %d of a %d-byte uid", n, len(u)))
	}
	start := (n - 1) * 3
	if n < levels {
		cl[0] = CT
		copy(cl[1:], u[start:start+3])
	} else {
		copy(cl[:], u[start:start+4])
	}
	return cl
}

// Equal reports whether two UIDs are the same bytes.
func (u UID) Equal(o UID) bool { return string(u) == string(o) }

// ParseUID parses a UID written as hex, accepting upper or lower case and
// ':', '-' or ' ' between bytes, and returns it; String gives it back in
// canonical form.
func ParseUID(s string) (UID, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ':', '-', ' ':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if clean == "" {
		return nil, fmt.Errorf("parse uid %q: empty", s)
	}
	b, err := hex.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("parse uid %q: not hex", s)
	}
	u := UID(b)
	if u.Levels() == 0 {
		return nil, fmt.Errorf("parse uid %q: %d bytes: %w", s, len(b), ErrUIDLength)
	}
	if !u.Valid() {
		return nil, fmt.Errorf("parse uid %q: byte 88 (the cascade tag) where the standard forbids it", s)
	}
	return u, nil
}

// CanonicalUID returns the canonical form of a UID written in any form
// ParseUID accepts.
func CanonicalUID(s string) (string, error) {
	u, err := ParseUID(s)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

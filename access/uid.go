package access

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrUID is wrapped by every error CanonicalUID returns.
var ErrUID = errors.New("invalid card uid")

// CanonicalUID returns the canonical form of a card UID: upper-case hex, no
// separators, every byte kept. It accepts upper or lower case and ':', '-'
// or ' ' between bytes. A UID is 4, 7 or 10 bytes (ISO/IEC 14443-3 single,
// double or triple size) and does not start with 0x88, the cascade tag, which
// a reader never reports as a UID byte. This is the same form as the device
// layer's iso14443.CanonicalUID, so a UID read at a desk and one typed in a
// membership file compare equal.
func CanonicalUID(s string) (string, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ':', '-', ' ':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if clean == "" {
		return "", fmt.Errorf("%w: empty", ErrUID)
	}
	b, err := hex.DecodeString(clean)
	if err != nil {
		return "", fmt.Errorf("%w %q: not hex", ErrUID, s)
	}
	switch len(b) {
	case 4, 7, 10:
	default:
		return "", fmt.Errorf("%w %q: %d bytes, want 4, 7 or 10", ErrUID, s, len(b))
	}
	if b[0] == 0x88 {
		return "", fmt.Errorf("%w %q: first byte 88 is the cascade tag", ErrUID, s)
	}
	return strings.ToUpper(hex.EncodeToString(b)), nil
}

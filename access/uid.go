package access

import (
	"errors"
	"fmt"

	"github.com/pkfreelance/seatgate/device/iso14443"
)

// ErrUID is wrapped by every error CanonicalUID returns.
var ErrUID = errors.New("invalid card uid")

// CanonicalUID returns the canonical form of a card UID: upper-case hex, no
// separators, every byte kept. It accepts upper or lower case and ':', '-'
// or ' ' between bytes. A UID is 4, 7 or 10 bytes (ISO/IEC 14443-3 single,
// double or triple size) with no cascade tag (0x88) where the standard
// forbids one. It is iso14443.CanonicalUID (a pure package: access still
// knows nothing of periph), so a UID read at a desk and one typed in a
// membership file compare equal.
func CanonicalUID(s string) (string, error) {
	c, err := iso14443.CanonicalUID(s)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUID, err)
	}
	return c, nil
}

package pki

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidID is returned (wrapped) for a centre, gateway or service ID
// that does not match [a-z0-9-]{1,32}, or for a reserved gateway ID.
var ErrInvalidID = errors.New("invalid id")

// ReservedGatewayID cannot name a gateway: seats/v1/{centre}/journal is
// the centre's journal topic, which every gateway of the centre reads, and
// a gateway of that name would be granted it as part of its own uplink
// (MQTT's "seats/v1/{c}/journal/#" matches its parent level).
const ReservedGatewayID = "journal"

// MaxIDLen is the longest centre, gateway or service ID.
const MaxIDLen = 32

// ValidID reports whether id matches [a-z0-9-]{1,32}, the form of centre
// and gateway IDs, which appear as MQTT topic levels and NATS subject
// tokens.
func ValidID(id string) error {
	if len(id) == 0 || len(id) > MaxIDLen {
		return fmt.Errorf("%w %q: want 1 to %d characters", ErrInvalidID, id, MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return fmt.Errorf("%w %q: character %q at %d, want a-z, 0-9 or -", ErrInvalidID, id, c, i)
		}
	}
	return nil
}

// GatewayCN returns the common name of a gateway's certificate,
// "{centre}.{gateway}", which is also its identity at the broker.
func GatewayCN(centre, gateway string) (string, error) {
	if err := ValidID(centre); err != nil {
		return "", fmt.Errorf("centre: %w", err)
	}
	if err := ValidID(gateway); err != nil {
		return "", fmt.Errorf("gateway: %w", err)
	}
	if gateway == ReservedGatewayID {
		return "", fmt.Errorf("gateway: %w %q: reserved for the centre's journal topic", ErrInvalidID, gateway)
	}
	return centre + "." + gateway, nil
}

// ParseGatewayCN splits a gateway certificate's common name into its
// centre and gateway IDs, validating both.
func ParseGatewayCN(cn string) (centre, gateway string, err error) {
	centre, gateway, ok := strings.Cut(cn, ".")
	if !ok {
		return "", "", fmt.Errorf("gateway common name %q: want {centre}.{gateway}", cn)
	}
	if _, err := GatewayCN(centre, gateway); err != nil {
		return "", "", fmt.Errorf("gateway common name %q: %w", cn, err)
	}
	return centre, gateway, nil
}

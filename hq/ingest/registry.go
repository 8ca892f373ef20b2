package ingest

import (
	"crypto/ed25519"

	"github.com/pkfreelance/seatgate/sync/wire"
)

// Registry knows the device keys of enrolled gateways.
type Registry interface {
	// GatewayKey returns the device public key of gateway in centre, and
	// false when no such gateway is enrolled.
	GatewayKey(centre, gateway string) (ed25519.PublicKey, bool)
}

// GatewayID names a gateway.
type GatewayID struct{ Centre, Gateway string }

func (g GatewayID) String() string { return g.Centre + "/" + g.Gateway }

// StaticRegistry is a Registry held in memory, for tests and small installs.
// It must not be changed while an Ingester uses it.
type StaticRegistry map[GatewayID]ed25519.PublicKey

var _ Registry = StaticRegistry(nil)

// GatewayKey implements Registry.
func (r StaticRegistry) GatewayKey(centre, gateway string) (ed25519.PublicKey, bool) {
	k, ok := r[GatewayID{centre, gateway}]
	return k, ok
}

// who names the gateway of t in logs and errors.
func who(t wire.Topics) string { return GatewayID{t.Centre, t.Gateway}.String() }

package broker

import (
	"fmt"
	"strings"

	"github.com/pkfreelance/seatgate/hq/pki"
)

// GatewayIdentity names one enrolled gateway. Its client certificate has
// CN = "{Centre}.{Gateway}" (pki.GatewayCN).
type GatewayIdentity struct {
	Centre  string
	Gateway string
}

func (g GatewayIdentity) String() string { return g.Centre + "/" + g.Gateway }

// Validate checks both IDs against [a-z0-9-]{1,32} and refuses the
// reserved gateway ID.
func (g GatewayIdentity) Validate() error {
	_, err := pki.GatewayCN(g.Centre, g.Gateway)
	return err
}

// CommonName is the CN of the gateway's certificate and its Mosquitto
// username: "lhr-01.gw-1".
func (g GatewayIdentity) CommonName() string { return g.Centre + "." + g.Gateway }

// NATSUser is the name of the gateway's NATS user: the certificate's
// subject DN, "CN=lhr-01.gw-1", which is what nats-server's
// verify_and_map matches a certificate without SANs against.
func (g GatewayIdentity) NATSUser() string { return "CN=" + g.CommonName() }

// ClientID is the MQTT client ID a gateway should use: "lhr-01_gw-1".
// It is unique per gateway (IDs contain no "_") and valid on NATS, which
// refuses client IDs containing ".", "*", ">" or white space, so the CN
// itself cannot serve. Neither broker binds the client ID to the
// certificate: see the package documentation.
func (g GatewayIdentity) ClientID() string { return g.Centre + "_" + g.Gateway }

// Rights are the NATS subjects a client may publish and subscribe to.
// MQTT topic a/b/c is NATS subject a.b.c; "+" is "*" and "#" is ">".
type Rights struct {
	Publish     []string // allowed publish subjects
	PublishDeny []string // exceptions to Publish
	Subscribe   []string // allowed subscribe subjects (exact: no wildcards)
}

// Rights returns what gateway g may do:
//
//	publish    seats.v1.{c}.{g}.>          its uplink (events, birth, status,
//	                                       health, occupancy, journal.want)
//	  except   seats.v1.{c}.{g}.ack        its own downlink, so that it cannot
//	           seats.v1.{c}.{g}.journal    inject messages HQ is meant to send
//	           seats.v1.{c}.{g}.firmware
//	subscribe  seats.v1.{c}.{g}.ack        acknowledgements
//	           seats.v1.{c}.{g}.journal    catch-up entries and snapshots
//	           seats.v1.{c}.{g}.firmware   firmware assignments
//	           seats.v1.{c}.journal        the centre's journal
//
// Nothing on $MQTT.> is granted: see the package documentation.
func (g GatewayIdentity) Rights() Rights {
	up := "seats.v1." + g.Centre + "." + g.Gateway
	return Rights{
		Publish:     []string{up + ".>"},
		PublishDeny: []string{up + ".ack", up + ".journal", up + ".firmware"},
		Subscribe:   []string{up + ".ack", up + ".journal", up + ".firmware", "seats.v1." + g.Centre + ".journal"},
	}
}

// SubjectToTopic converts a NATS subject of this protocol to its MQTT
// topic or filter: "." → "/", "*" → "+", ">" → "#". It is only meant for
// subjects built from valid IDs, which contain no "/" and no "."
// of their own.
func SubjectToTopic(subject string) string {
	parts := strings.Split(subject, ".")
	for i, p := range parts {
		switch p {
		case "*":
			parts[i] = "+"
		case ">":
			parts[i] = "#"
		}
	}
	return strings.Join(parts, "/")
}

func validateGateways(gws []GatewayIdentity) error {
	seen := make(map[GatewayIdentity]bool, len(gws))
	for _, g := range gws {
		if err := g.Validate(); err != nil {
			return fmt.Errorf("gateway %s: %w", g, err)
		}
		if seen[g] {
			return fmt.Errorf("gateway %s listed twice", g)
		}
		seen[g] = true
	}
	return nil
}

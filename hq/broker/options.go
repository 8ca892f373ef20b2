package broker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pkfreelance/seatgate/hq/pki"
)

// Options configure an embedded HQ broker. The zero value of every field
// except DataDir, TLS, HQUser and HQPassword is a usable default.
type Options struct {
	// DataDir holds JetStream's store (streams, KV, MQTT sessions and
	// retained messages). Required; created if missing.
	DataDir string
	// ServerName names this server in logs, monitoring and the JetStream
	// cluster; it must be unique in a cluster. Default "seathq".
	ServerName string

	// Host is the address the NATS client, cluster and monitoring
	// listeners bind to. Default "127.0.0.1": the client port has
	// password authentication but no TLS, so keep it off public networks.
	Host string
	// MQTTHost is the address the MQTT listener binds to. Default
	// "0.0.0.0": it is TLS with mandatory client certificates.
	MQTTHost string

	// Ports. 0 picks a free port (read it back with ClientURL, MQTTAddr,
	// ClusterAddr, MonitorAddr). HTTPMonitorPort < 0 disables monitoring.
	ClientPort, MQTTPort, ClusterPort, HTTPMonitorPort int

	// Routes are the cluster's nodes ("nats-route://host:port"), every
	// one of them, this server included: JetStream sizes its meta group
	// from the count, and a server ignores the route to itself. With Routes
	// the server joins a JetStream cluster, which needs ClusterName;
	// without them it runs alone and ClusterPort and ClusterName are
	// ignored.
	Routes      []string
	ClusterName string

	// TLS is the MQTT listener's configuration: a server certificate and
	// ClientCAs = the HQ CA pool (see pki.ServerTLSConfig). Required.
	// Start uses a copy with ClientAuth = RequireAndVerifyClientCert and
	// at least TLS 1.2, whatever this one says, and maps each client
	// certificate to a user by its subject (verify_and_map).
	TLS *tls.Config

	// Gateways are the enrolled gateways; each becomes an MQTT-only user
	// with GatewayIdentity.Rights. SetGateways replaces them at run time.
	Gateways []GatewayIdentity

	// HQUser and HQPassword are the seathq service's NATS credentials: a
	// user allowed every subject, on the NATS client port (and in-process
	// connections) only, never over MQTT. HQUser follows the ID rules
	// ([a-z0-9-]{1,32}); HQPassword may be a bcrypt hash ("$2a$...").
	// Required.
	HQUser, HQPassword string

	// Logger receives nats-server's log, at Debug level only when the
	// logger is enabled for it. Nil: the broker logs nothing.
	Logger *slog.Logger

	// SyncAlways makes JetStream fsync every write before it answers, so
	// that what HQ acknowledged to a gateway survives a power cut of this
	// server (by default nats-server flushes every 2 minutes, which a
	// process crash survives but a power cut does not). A cluster with
	// replicas survives the loss of a node either way.
	SyncAlways bool

	// StartTimeout bounds how long Start waits for the listeners.
	// Default 10 s.
	StartTimeout time.Duration
}

// Defaults.
const (
	DefaultServerName   = "seathq"
	DefaultHost         = "127.0.0.1"
	DefaultMQTTHost     = "0.0.0.0"
	DefaultStartTimeout = 10 * time.Second
)

// withDefaults validates o and returns a copy with defaults filled in.
func (o Options) withDefaults() (Options, error) {
	if o.DataDir == "" {
		return o, errors.New("broker options: DataDir is required")
	}
	if o.ServerName == "" {
		o.ServerName = DefaultServerName
	}
	if o.Host == "" {
		o.Host = DefaultHost
	}
	if o.MQTTHost == "" {
		o.MQTTHost = DefaultMQTTHost
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	for name, p := range map[string]int{"ClientPort": o.ClientPort, "MQTTPort": o.MQTTPort, "ClusterPort": o.ClusterPort, "HTTPMonitorPort": o.HTTPMonitorPort} {
		if p > 65535 || (p < 0 && name != "HTTPMonitorPort") {
			return o, fmt.Errorf("broker options: %s %d out of range", name, p)
		}
	}
	if len(o.Routes) > 0 && o.ClusterName == "" {
		return o, errors.New("broker options: Routes need a ClusterName")
	}
	if o.TLS == nil {
		return o, errors.New("broker options: TLS is required for the MQTT listener")
	}
	if o.TLS.ClientCAs == nil {
		return o, errors.New("broker options: TLS.ClientCAs must hold the HQ CA that issues gateway certificates")
	}
	if len(o.TLS.Certificates) == 0 && o.TLS.GetCertificate == nil {
		return o, errors.New("broker options: TLS has no server certificate")
	}
	if err := pki.ValidID(o.HQUser); err != nil {
		return o, fmt.Errorf("broker options: HQUser: %w", err)
	}
	if o.HQPassword == "" {
		return o, errors.New("broker options: HQPassword is required")
	}
	if err := validateGateways(o.Gateways); err != nil {
		return o, fmt.Errorf("broker options: %w", err)
	}
	return o, nil
}

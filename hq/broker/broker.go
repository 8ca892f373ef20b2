package broker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Broker is a running embedded nats-server with JetStream and the MQTT
// listener.
type Broker struct {
	srv  *server.Server
	opts Options // validated, with defaults
	auth *auth

	clientURL   string
	mqttAddr    string
	mqttPort    int
	clusterAddr string
	monitorAddr string

	mu sync.Mutex // serialises SetGateways
}

// Start runs an embedded nats-server as opts describe and returns once its
// listeners accept connections. In a cluster the JetStream meta leader
// may be elected later; clients see JetStream errors until then.
func Start(opts Options) (*Broker, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("start broker: %w", err)
	}
	sopts, err := serverOptions(o)
	if err != nil {
		return nil, fmt.Errorf("start broker: %w", err)
	}
	a := newAuth(o.HQUser, o.HQPassword, o.Gateways)
	sopts.CustomClientAuthentication = a
	srv, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("start broker: %w", err)
	}
	sl := newServerLog(o.Logger, o.ServerName)
	srv.SetLoggerV2(sl, sl.debug, false, false)
	srv.Start()
	if err := srvReady(srv, o, sl); err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("start broker %s: %w", o.ServerName, err)
	}

	b := &Broker{srv: srv, opts: o, auth: a, clientURL: srv.ClientURL()}
	// nats-server has no MQTTAddr: it writes the port it bound into the
	// options it was given (under its lock, before ReadyForConnections
	// returned), as its own tests rely on.
	b.mqttPort = sopts.MQTT.Port
	b.mqttAddr = net.JoinHostPort(o.MQTTHost, strconv.Itoa(b.mqttPort))
	if a := srv.ClusterAddr(); a != nil {
		b.clusterAddr = a.String()
	}
	if a := srv.MonitorAddr(); a != nil {
		b.monitorAddr = a.String()
	}
	return b, nil
}

// srvReady waits for the listeners, returning early with the server's
// fatal error (a port in use, JetStream unable to start) if it logs one.
func srvReady(srv *server.Server, o Options, sl *serverLog) error {
	deadline := time.Now().Add(o.StartTimeout)
	for {
		ready := srv.ReadyForConnections(50 * time.Millisecond)
		if msg := sl.fatal(); msg != "" {
			return errors.New(msg)
		}
		if ready {
			if !srv.JetStreamEnabled() {
				return errors.New("JetStream did not start")
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("listeners not ready after %v", o.StartTimeout)
		}
	}
}

// ClientURL is the NATS URL for seathq ("nats://127.0.0.1:4222").
func (b *Broker) ClientURL() string { return b.clientURL }

// MQTTAddr is the MQTT listener's host:port (the configured MQTTHost with
// the port actually bound).
func (b *Broker) MQTTAddr() string { return b.mqttAddr }

// ClusterAddr is the cluster listener's host:port, "" when not clustered.
func (b *Broker) ClusterAddr() string { return b.clusterAddr }

// MonitorAddr is the HTTP monitoring listener's host:port, "" when
// disabled.
func (b *Broker) MonitorAddr() string { return b.monitorAddr }

// Name is the server name.
func (b *Broker) Name() string { return b.opts.ServerName }

// Shutdown stops the server: it closes every connection and listener and
// flushes JetStream. It is safe to call more than once.
func (b *Broker) Shutdown() { b.srv.Shutdown() }

// WaitForShutdown blocks until the server has shut down.
func (b *Broker) WaitForShutdown() { b.srv.WaitForShutdown() }

// SetGateways replaces the enrolled gateways without a restart. A gateway
// that is removed is disconnected and cannot connect again; a connected
// gateway that stays keeps its connection.
func (b *Broker) SetGateways(gws []GatewayIdentity) error {
	if err := validateGateways(gws); err != nil {
		return fmt.Errorf("set gateways: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, user := range b.auth.set(gws) {
		cz, err := b.srv.Connz(&server.ConnzOptions{User: user})
		if err != nil {
			return fmt.Errorf("set gateways: connections of %s: %w", user, err)
		}
		for _, c := range cz.Conns {
			// Gone already (it may have just closed) is as good.
			_ = b.srv.DisconnectClientByID(c.Cid)
		}
	}
	return nil
}

// serverOptions builds a fresh nats-server configuration.
func serverOptions(o Options) (*server.Options, error) {
	port := func(p int) int {
		if p == 0 {
			return server.RANDOM_PORT
		}
		return p
	}
	tlsConf := o.TLS.Clone()
	tlsConf.ClientAuth = tls.RequireAndVerifyClientCert
	if tlsConf.MinVersion < tls.VersionTLS12 {
		tlsConf.MinVersion = tls.VersionTLS12
	}
	s := &server.Options{
		ServerName: o.ServerName,
		Host:       o.Host,
		Port:       port(o.ClientPort),
		NoSigs:     true,
		JetStream:  true,
		StoreDir:   o.DataDir,
		SyncAlways: o.SyncAlways,
		MQTT: server.MQTTOpts{
			Host:       o.MQTTHost,
			Port:       port(o.MQTTPort),
			TLSConfig:  tlsConf,
			TLSMap:     true,
			TLSTimeout: 5,
		},
		// Every QoS 1 subscription of an MQTT client is a durable consumer
		// on $MQTT_msgs, and a gateway makes three (ack, journal, catch-up).
		// nats-server's default limit of 1,000 consumers per stream
		// (JSDefaultMaxConsumersPerStream) would let only 333 gateways
		// subscribe; the rest get 0x80 in the SUBACK. -1 lifts it.
		JetStreamLimits: server.JSLimitOpts{DefaultMaxConsumers: -1},
	}
	if o.HTTPMonitorPort >= 0 {
		s.HTTPHost = o.Host
		s.HTTPPort = port(o.HTTPMonitorPort)
	}
	if len(o.Routes) > 0 {
		s.Cluster = server.ClusterOpts{Name: o.ClusterName, Host: o.Host, Port: port(o.ClusterPort)}
		for _, r := range o.Routes {
			u, err := url.Parse(r)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("route %q: want nats-route://host:port", r)
			}
			s.Routes = append(s.Routes, u)
		}
	}
	return s, nil
}

// Package service runs seathq: HQ's broker (an embedded NATS server with
// JetStream and the gateways' MQTT listener, or an existing NATS cluster it
// joins), and on it the registry of gateways, the fleet tracker, the
// membership authority, event ingest, the seat-hours ledger and the HTTP API.
// cmd/seathq runs one; 'seatgate demo' runs one in the same process as a
// gateway.
//
// Several instances may run against one NATS cluster: ingest, the fleet
// tracker and catch-up answers are shared through queue groups, the ledger
// through a pinned durable consumer, and all state lives in JetStream, so any
// instance can die without loss.
package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/hq/authority"
	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/dashboard"
	hqfirmware "github.com/pkfreelance/seatgate/hq/firmware"
	"github.com/pkfreelance/seatgate/hq/fleet"
	"github.com/pkfreelance/seatgate/hq/httpapi"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/ledger"
	"github.com/pkfreelance/seatgate/hq/pki"
	"github.com/pkfreelance/seatgate/hq/registry"
	"github.com/pkfreelance/seatgate/hq/relay"
	"github.com/pkfreelance/seatgate/hq/rollout"
	"github.com/pkfreelance/seatgate/sync/identity"
)

// Files in the secrets directory. seathq creates what is missing at its first
// start (and says so in its log); back the directory up: gateways pin the HQ
// key and the CA.
const (
	HQKeyFile        = "hq-signing.key"  // HQ's ed25519 signing key (acks, journal, snapshots)
	CADir            = "ca"              // the CA that issues gateway and broker certificates
	APITokenFile     = "api-token"       // the bearer token of the HTTP API
	NATSPasswordFile = "nats-password"   // the seathq NATS user's password (embedded broker)
	MQTTCertFile     = "mqtt-server.pem" // the MQTT listener's certificate
	MQTTKeyFile      = "mqtt-server.key" // and its key
)

// Options configure a Service.
type Options struct {
	DataDir    string // JetStream's store when embedded (DataDir/nats)
	SecretsDir string // see the file names above

	// URLs of an existing NATS cluster to join; empty: run an embedded
	// server as Embedded says.
	URLs []string
	// NATSUser and NATSPassword: seathq's NATS user. Default user
	// "seathq"; the password defaults to the secrets file (embedded).
	NATSUser, NATSPassword string
	Embedded               Embedded
	// Replicas of HQ's streams and buckets: 1 on one server, 3 on a
	// cluster.
	Replicas int

	// Mosquitto, when set, is a Mosquitto broker ("tls://mq:8883") whose
	// gateways HQ serves through a relay (package relay); MosquittoCA is
	// its CA file (default: HQ's CA).
	Mosquitto, MosquittoCA string

	// APIListen is the HTTP API's address (default 127.0.0.1:8480); with
	// APICert and APIKey it serves HTTPS.
	APIListen       string
	APICert, APIKey string
	// FirmwareListen is the HTTPS address gateways download artifacts
	// from (default ":8443"); its certificate is issued from the CA for
	// FirmwareHosts (default Embedded.MQTTHosts). FirmwareURL is the base
	// URL put in assignments (default https://{first host}:{port}).
	FirmwareListen   string
	FirmwareHosts    []string
	FirmwareURL      string
	RolloutEvery     time.Duration // how often rollouts advance (default 10 s)
	Version          string        // seathq's version (metrics)
	Logger           *slog.Logger
	StartTimeout     time.Duration // for the broker, the cluster's leader and the buckets (default 2 min)
	CatchUpEntries   int           // see authority.Options
	FleetSilentAfter time.Duration // see fleet.Options
}

// Embedded configures the embedded NATS server.
type Embedded struct {
	ServerName    string   // unique in a cluster (default "seathq")
	ClientListen  string   // NATS clients (default 127.0.0.1:4222; ":0" picks a port)
	MQTTListen    string   // gateways (default 0.0.0.0:8883)
	MQTTHosts     []string // names and addresses in the MQTT certificate (default the host name, localhost, 127.0.0.1)
	ClusterListen string   // routes between HQ nodes, e.g. 0.0.0.0:6222
	Routes        []string // every node's nats-route:// URL, this one included
	ClusterName   string
	MonitorListen string // NATS monitoring (HTTP); empty: off
	SyncAlways    bool   // see broker.Options.SyncAlways
}

// Service is a running seathq.
type Service struct {
	o      Options
	lg     *slog.Logger
	Broker *broker.Broker // nil when joining a cluster
	NC     *nats.Conn
	JS     jetstream.JetStream

	Registry  *registry.Registry
	Fleet     *fleet.Tracker
	Authority *authority.Authority
	Ingester  *ingest.Ingester
	Ledger    *ledger.Ledger
	Relay     *relay.Relay // nil without Options.Mosquitto
	Firmware  *hqfirmware.Store
	Rollouts  *rollout.Store
	CA        *pki.CA
	HQKey     identity.Key
	Token     string

	api     *http.Server
	apiAddr string

	firmwareSrv  *http.Server
	firmwareAddr string
	firmwareURL  string

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	mu       sync.Mutex
	errs     []error
	syncMu   sync.Mutex
	gateways []broker.GatewayIdentity // what the embedded broker was given (under syncMu)
}

// Start runs seathq until ctx is done or Close is called.
func Start(ctx context.Context, o Options) (_ *Service, err error) {
	if o.DataDir == "" || o.SecretsDir == "" {
		return nil, errors.New("seathq: data and secrets directories are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 2 * time.Minute
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.NATSUser == "" {
		o.NATSUser = "seathq"
	}
	if o.APIListen == "" {
		o.APIListen = "127.0.0.1:8480"
	}
	if o.FirmwareListen == "" {
		o.FirmwareListen = ":8443"
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Service{o: o, lg: o.Logger, cancel: cancel}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := s.loadSecrets(); err != nil {
		return nil, err
	}

	url := strings.Join(o.URLs, ",")
	if len(o.URLs) == 0 {
		if url, err = s.startBroker(); err != nil {
			return nil, err
		}
	} else if o.NATSPassword == "" {
		return nil, errors.New("seathq: joining a NATS cluster needs the seathq user's password")
	}
	s.NC, err = nats.Connect(url, nats.UserInfo(s.o.NATSUser, s.o.NATSPassword), nats.Name("seathq"),
		nats.MaxReconnects(-1), nats.ReconnectWait(500*time.Millisecond), nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				s.lg.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { s.lg.Info("NATS reconnected", "server", nc.ConnectedUrlRedacted()) }))
	if err != nil {
		return nil, fmt.Errorf("seathq: connect to NATS: %w", err)
	}
	if s.JS, err = jetstream.New(s.NC); err != nil {
		return nil, err
	}

	// The buckets and streams, retried while a cluster elects its leader.
	setupCtx, setupDone := context.WithTimeout(ctx, o.StartTimeout)
	defer setupDone()
	err = retry(setupCtx, func(context.Context) (err error) {
		s.Registry, err = registry.Open(ctx, s.JS, o.Replicas, s.lg) // watches until ctx is done
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("seathq: %w", err)
	}
	if s.Broker != nil {
		s.Registry.OnChange(s.syncGateways)
		s.syncGateways()
	}
	firmwareOpened := make(chan error, 1)
	go func() { firmwareOpened <- s.openFirmware(setupCtx) }()
	defer func() {
		if firmwareOpened != nil { // an early return: wait for it before Close
			<-firmwareOpened
		}
	}()
	err = retry(setupCtx, func(actx context.Context) (err error) {
		s.Fleet, err = fleet.New(actx, s.JS, s.NC, s.Registry, fleet.Options{Replicas: o.Replicas, Logger: s.lg, Silent: o.FleetSilentAfter})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("seathq: %w", err)
	}
	err = retry(setupCtx, func(context.Context) (err error) {
		s.Authority, err = authority.New(s.JS, s.NC, s.HQKey.Private, authority.Options{Replicas: o.Replicas, Logger: s.lg,
			CatchUpEntries: o.CatchUpEntries, SetupTimeout: attemptTimeout})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("seathq: %w", err)
	}
	if s.Ingester, err = ingest.New(s.JS, s.NC, s.Registry, s.HQKey.Private, ingest.Options{Replicas: o.Replicas, Logger: s.lg,
		OnStored: s.firmwareEvents}); err != nil {
		return nil, fmt.Errorf("seathq: %w", err)
	}
	if s.Ledger, err = ledger.New(s.JS, ledger.Options{Replicas: o.Replicas, Logger: s.lg}); err != nil {
		return nil, fmt.Errorf("seathq: %w", err)
	}
	s.run(ctx, "ingest", s.Ingester.Run)
	select { // the CHAINS bucket exists once ingest is ready
	case <-s.Ingester.Ready():
	case <-setupCtx.Done():
		return nil, fmt.Errorf("seathq: ingest did not start: %w", errors.Join(setupCtx.Err(), s.err()))
	}
	s.run(ctx, "ledger", s.Ledger.Run)
	s.run(ctx, "authority", s.Authority.Run)
	s.run(ctx, "fleet", s.Fleet.Run)
	if o.Mosquitto != "" {
		if err := s.startRelay(ctx); err != nil {
			return nil, err
		}
	}
	err = <-firmwareOpened
	firmwareOpened = nil
	if err != nil {
		return nil, err
	}
	if err := s.startFirmware(ctx); err != nil {
		return nil, err
	}
	chains, err := s.JS.KeyValue(setupCtx, ingest.ChainsBucket)
	if err != nil {
		return nil, fmt.Errorf("seathq: %w", err)
	}
	if err := s.startAPI(chains); err != nil {
		return nil, err
	}
	return s, nil
}

// InitSecrets creates what is missing in the secrets directory (HQ's key,
// the CA, the API token, the NATS password) and changes nothing that
// exists. Run it once on one node of a cluster and copy the directory to the
// others before their first start: every node must hold the same secrets.
func InitSecrets(o Options) error {
	if o.SecretsDir == "" {
		return errors.New("seathq: the secrets directory is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{o: o, lg: o.Logger}
	if err := s.loadSecrets(); err != nil {
		return err
	}
	_, err := s.secret(NATSPasswordFile, "seathq's NATS password")
	return err
}

func (s *Service) loadSecrets() (err error) {
	if err := os.MkdirAll(s.o.SecretsDir, 0o700); err != nil {
		return fmt.Errorf("seathq: secrets directory: %w", err)
	}
	if s.HQKey, err = s.loadKey(); err != nil {
		return err
	}
	if s.CA, err = pki.NewCA(filepath.Join(s.o.SecretsDir, CADir)); err != nil {
		return fmt.Errorf("seathq: %w", err)
	}
	if s.Token, err = s.secret(APITokenFile, "the HTTP API token"); err != nil {
		return err
	}
	return nil
}

// retry calls f until it succeeds or ctx is done, each attempt bounded by
// attemptTimeout: JetStream refuses requests, or leaves them unanswered,
// while a cluster has no meta leader.
func retry(ctx context.Context, f func(context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := f(actx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(500 * time.Millisecond):
		}
	}
}

const attemptTimeout = 10 * time.Second

func (s *Service) run(ctx context.Context, name string, f func(context.Context) error) {
	s.wg.Go(func() {
		err := f(ctx)
		if err != nil && ctx.Err() == nil {
			s.lg.Error("seathq: "+name+" stopped", "err", err)
			s.mu.Lock()
			s.errs = append(s.errs, fmt.Errorf("%s: %w", name, err))
			s.mu.Unlock()
		}
	})
}

func (s *Service) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.errs...)
}

// loadKey loads HQ's signing key, creating it at the first start.
func (s *Service) loadKey() (identity.Key, error) {
	path := filepath.Join(s.o.SecretsDir, HQKeyFile)
	_, statErr := os.Stat(path)
	k, err := identity.LoadOrCreateFile(path, identity.HQKeyType)
	if err != nil {
		return k, fmt.Errorf("seathq: %w", err)
	}
	if os.IsNotExist(statErr) {
		s.lg.Warn("created HQ's signing key: back it up offline; every gateway pins its public key", "path", path, "key_id", k.ID())
	}
	return k, nil
}

// secret reads a random secret from the secrets directory, creating it at
// the first start.
func (s *Service) secret(name, what string) (string, error) {
	path := filepath.Join(s.o.SecretsDir, name)
	b, err := os.ReadFile(path)
	if err == nil {
		v := strings.TrimSpace(string(b))
		if len(v) < 16 {
			return "", fmt.Errorf("seathq: %s: %s shorter than 16 characters", path, what)
		}
		return v, nil
	}
	if !os.IsNotExist(err) {
		return "", fmt.Errorf("seathq: %w", err)
	}
	buf := make([]byte, 24)
	rand.Read(buf)
	v := hex.EncodeToString(buf)
	if err := pki.WriteFileAtomic(path, []byte(v+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("seathq: %w", err)
	}
	s.lg.Info("created "+what, "path", path)
	return v, nil
}

// startBroker starts the embedded NATS server and returns its client URL.
func (s *Service) startBroker() (string, error) {
	e := s.o.Embedded
	var err error
	if s.o.NATSPassword == "" {
		if s.o.NATSPassword, err = s.secret(NATSPasswordFile, "seathq's NATS password"); err != nil {
			return "", err
		}
	}
	tlsConf, err := s.mqttTLS()
	if err != nil {
		return "", err
	}
	bo := broker.Options{
		DataDir: filepath.Join(s.o.DataDir, "nats"), ServerName: e.ServerName, TLS: tlsConf,
		HQUser: s.o.NATSUser, HQPassword: s.o.NATSPassword, Logger: s.lg.With("part", "nats"),
		Routes: e.Routes, ClusterName: e.ClusterName, HTTPMonitorPort: -1, StartTimeout: s.o.StartTimeout,
		SyncAlways: e.SyncAlways,
	}
	if bo.Host, bo.ClientPort, err = hostPort(e.ClientListen, "127.0.0.1", 4222); err != nil {
		return "", fmt.Errorf("seathq: client_listen: %w", err)
	}
	if bo.MQTTHost, bo.MQTTPort, err = hostPort(e.MQTTListen, "0.0.0.0", 8883); err != nil {
		return "", fmt.Errorf("seathq: mqtt_listen: %w", err)
	}
	if e.ClusterListen != "" {
		var h string
		if h, bo.ClusterPort, err = hostPort(e.ClusterListen, "", 6222); err != nil {
			return "", fmt.Errorf("seathq: cluster_listen: %w", err)
		}
		if h != "" && h != bo.Host {
			bo.Host = h // the broker binds client, cluster and monitoring listeners to one host
		}
	}
	if e.MonitorListen != "" {
		if _, bo.HTTPMonitorPort, err = hostPort(e.MonitorListen, "", 8222); err != nil {
			return "", fmt.Errorf("seathq: monitor_listen: %w", err)
		}
	}
	if s.Broker, err = broker.Start(bo); err != nil {
		return "", fmt.Errorf("seathq: %w", err)
	}
	s.lg.Info("embedded NATS started", "client", s.Broker.ClientURL(), "mqtt", s.Broker.MQTTAddr(), "cluster", s.Broker.ClusterAddr())
	return s.Broker.ClientURL(), nil
}

func hostPort(addr, defHost string, defPort int) (string, int, error) {
	if addr == "" {
		return defHost, defPort, nil
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	var port int
	if _, err := fmt.Sscan(p, &port); err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q", p)
	}
	if h == "" {
		h = defHost
	}
	return h, port, nil
}

// syncGateways gives the embedded broker the enrolled gateways, when they
// changed (each change also looks for removed gateways' connections).
func (s *Service) syncGateways() {
	var ids []broker.GatewayIdentity
	for _, g := range s.Registry.List("") {
		ids = append(ids, broker.GatewayIdentity{Centre: g.Centre, Gateway: g.Gateway})
	}
	s.syncMu.Lock() // compare and set in order: a change may come while the first sync runs
	defer s.syncMu.Unlock()
	if slices.Equal(ids, s.gateways) {
		return
	}
	s.gateways = ids
	if err := s.Broker.SetGateways(ids); err != nil {
		s.gateways = nil // try again at the next change
		s.lg.Error("seathq: cannot give the broker the enrolled gateways", "err", err)
	}
}

func (s *Service) startAPI(chains jetstream.KeyValue) error {
	h, err := httpapi.Handler(httpapi.Deps{
		Token: s.Token, HQKey: s.HQKey.Private, CA: s.CA, NC: s.NC, Chains: chains,
		Authority: s.Authority, Registry: s.Registry, Fleet: s.Fleet, Ledger: s.Ledger, Ingester: s.Ingester, Logger: s.lg,
		Firmware: s.Firmware, Rollouts: s.Rollouts, Metrics: s.newMetrics(),
		ServiceUser: s.o.NATSUser,
	})
	if err != nil {
		return err
	}
	// The analysts' dashboard at /, behind its own login; the JSON API
	// (bearer token) under /api, /healthz and /metrics.
	dash, err := dashboard.New(dashboard.Options{Fleet: s.Fleet, Ledger: s.Ledger, Rollouts: s.Rollouts, Registry: s.Registry,
		SecretsDir: s.o.SecretsDir, CentresFile: filepath.Join(s.o.DataDir, dashboard.CentresFile),
		Logger: s.lg.With("part", "dashboard")})
	if err != nil {
		return fmt.Errorf("seathq: dashboard: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", h)
	mux.Handle("/healthz", h)
	mux.Handle("/metrics", h)
	mux.Handle("/", dash.Handler())
	ln, err := net.Listen("tcp", s.o.APIListen)
	if err != nil {
		dash.Close()
		return fmt.Errorf("seathq: API: %w", err)
	}
	s.apiAddr = ln.Addr().String()
	s.api = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
	s.api.RegisterOnShutdown(dash.Close)
	tlsOn := s.o.APICert != ""
	s.wg.Go(func() {
		var err error
		if tlsOn {
			err = s.api.ServeTLS(ln, s.o.APICert, s.o.APIKey)
		} else {
			err = s.api.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.lg.Error("seathq: API stopped", "err", err)
		}
	})
	s.lg.Info("API listening", "addr", s.apiAddr, "tls", tlsOn)
	return nil
}

// APIURL is the API's base URL.
func (s *Service) APIURL() string {
	scheme := "http"
	if s.o.APICert != "" {
		scheme = "https"
	}
	return scheme + "://" + s.apiAddr
}

// Close stops everything and waits for it.
func (s *Service) Close() error {
	s.cancel()
	if s.api != nil {
		ctx, done := context.WithTimeout(context.Background(), 5*time.Second)
		s.api.Shutdown(ctx)
		done()
	}
	if s.firmwareSrv != nil {
		s.firmwareSrv.Close()
	}
	if s.Relay != nil {
		s.Relay.Close()
	}
	s.wg.Wait()
	if s.NC != nil {
		s.NC.Drain()
		s.NC.Close()
	}
	if s.Broker != nil {
		s.Broker.Shutdown()
		s.Broker.WaitForShutdown()
	}
	return s.err()
}

// SecretsDir is the secrets directory in use.
func (s *Service) SecretsDir() string { return s.o.SecretsDir }

// MQTTAddr is the embedded broker's MQTT address for gateways on this
// machine ("127.0.0.1:8883"); "" when joining a cluster.
func (s *Service) MQTTAddr() string {
	if s.Broker == nil {
		return ""
	}
	_, port, _ := net.SplitHostPort(s.Broker.MQTTAddr())
	return net.JoinHostPort("127.0.0.1", port)
}

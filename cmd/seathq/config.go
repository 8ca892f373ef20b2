package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/service"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// Config is seathq.yaml. deploy/seathq.example.yaml documents every key.
type Config struct {
	DataDir    string   `yaml:"data_dir"`
	SecretsDir string   `yaml:"secrets_dir"`
	Replicas   int      `yaml:"replicas"`
	API        APIConf  `yaml:"api"`
	NATS       NATSConf `yaml:"nats"`
	Embedded   EmbConf  `yaml:"embedded"`
	Mosquitto  MQConf   `yaml:"mosquitto"`
	Firmware   FWConf   `yaml:"firmware"`
	Log        LogConf  `yaml:"log"`
}

// FWConf: where gateways download releases, and how often rollouts move.
type FWConf struct {
	Listen       string   `yaml:"listen"`        // HTTPS for gateways (default :8443)
	Hosts        []string `yaml:"hosts"`         // names in its certificate (default embedded.mqtt_hosts)
	URL          string   `yaml:"url"`           // base URL in assignments (default https://{first host}:{port})
	RolloutEvery string   `yaml:"rollout_every"` // how often rollouts advance (default 10s)
}

// MQConf: a Mosquitto broker whose gateways HQ serves through a relay.
type MQConf struct {
	Broker string `yaml:"broker"` // tls://mq.example.pk:8883 (tcp:// only on this machine)
	CA     string `yaml:"ca"`     // the broker certificate's CA (default: HQ's CA)
}

type APIConf struct {
	Listen  string `yaml:"listen"`
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
}

type NATSConf struct {
	URLs         []string `yaml:"urls"`
	User         string   `yaml:"user"`
	PasswordFile string   `yaml:"password_file"`
}

type EmbConf struct {
	ServerName    string   `yaml:"server_name"`
	ClientListen  string   `yaml:"client_listen"`
	MQTTListen    string   `yaml:"mqtt_listen"`
	MQTTHosts     []string `yaml:"mqtt_hosts"`
	ClusterListen string   `yaml:"cluster_listen"`
	ClusterName   string   `yaml:"cluster_name"`
	Routes        []string `yaml:"routes"`
	MonitorListen string   `yaml:"monitor_listen"`
	// SyncAlways: fsync every JetStream write before answering. Default
	// true on a single node (a power cut must not lose what HQ
	// acknowledged), false in a cluster (replicas cover a lost node).
	SyncAlways *bool `yaml:"sync_always"`
}

type LogConf struct {
	Level string `yaml:"level"` // debug, info, warn, error
}

// maxConfig is the largest configuration file read.
const maxConfig = 1 << 20

// loadConfig reads and checks the configuration file at path.
func loadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseConfig(f, path)
}

// parseConfig reads a configuration strictly: an unknown or repeated key, a
// wrong type or a bad value is an error naming the file and line or key.
func parseConfig(r io.Reader, name string) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfig+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfig {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxConfig)
	}
	c := &Config{DataDir: "/var/lib/seathq", SecretsDir: "/etc/seathq", Replicas: 1,
		API: APIConf{Listen: "127.0.0.1:8480"}, NATS: NATSConf{User: "seathq"}, Log: LogConf{Level: "info"}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: more than one YAML document", name)
	}
	if errs := c.validate(); len(errs) > 0 {
		for i, e := range errs {
			errs[i] = fmt.Errorf("%s: %w", name, e)
		}
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func (c *Config) validate() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.DataDir == "" {
		bad("data_dir", "required")
	}
	if c.SecretsDir == "" {
		bad("secrets_dir", "required")
	}
	if c.Replicas != 1 && c.Replicas != 3 && c.Replicas != 5 {
		bad("replicas", "%d: want 1, 3 or 5", c.Replicas)
	}
	addr := func(key, v string, required bool) {
		if v == "" {
			if required {
				bad(key, "required")
			}
			return
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			bad(key, "%q: want host:port", v)
		}
	}
	addr("api.listen", c.API.Listen, true)
	if (c.API.TLSCert == "") != (c.API.TLSKey == "") {
		bad("api", "tls_cert and tls_key go together")
	}
	if !wire.ValidID(c.NATS.User) {
		bad("nats.user", "%q: 1 to 32 characters of a-z, 0-9 and '-'", c.NATS.User)
	}
	if !map[string]bool{"debug": true, "info": true, "warn": true, "error": true}[c.Log.Level] {
		bad("log.level", "%q: want debug, info, warn or error", c.Log.Level)
	}
	for i, u := range c.NATS.URLs {
		if !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
			bad(fmt.Sprintf("nats.urls[%d]", i), "%q: want nats://host:port or tls://host:port", u)
		}
	}
	if b := c.Mosquitto.Broker; b != "" {
		u, err := url.Parse(b)
		switch {
		case err != nil || u.Hostname() == "" || u.Port() == "":
			bad("mosquitto.broker", "%q: want tls://host:port", b)
		case u.Scheme == "tcp":
			if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
				bad("mosquitto.broker", "tcp:// (no TLS) only for a broker on this machine; use tls:// for %s", h)
			}
		case u.Scheme != "tls" && u.Scheme != "ssl":
			bad("mosquitto.broker", "scheme %q: want tls://", u.Scheme)
		}
	} else if c.Mosquitto.CA != "" {
		bad("mosquitto.ca", "set but mosquitto.broker is not")
	}
	e := c.Embedded
	if len(c.NATS.URLs) > 0 {
		if c.NATS.PasswordFile == "" && os.Getenv(broker.NATSPasswordVar) == "" {
			bad("nats.password_file", "required when joining a cluster (or set $%s)", broker.NATSPasswordVar)
		}
		if e.ClientListen != "" || e.MQTTListen != "" || len(e.Routes) > 0 || e.ClusterListen != "" || e.ServerName != "" {
			bad("embedded", "not used when nats.urls joins an existing cluster: remove one of them")
		}
		return errs
	}
	addr("embedded.client_listen", e.ClientListen, false)
	addr("embedded.mqtt_listen", e.MQTTListen, false)
	addr("embedded.cluster_listen", e.ClusterListen, false)
	addr("embedded.monitor_listen", e.MonitorListen, false)
	if e.ServerName != "" && !wire.ValidID(e.ServerName) {
		bad("embedded.server_name", "%q: 1 to 32 characters of a-z, 0-9 and '-'", e.ServerName)
	}
	if len(e.Routes) > 0 {
		if e.ClusterListen == "" || e.ClusterName == "" {
			bad("embedded.routes", "a cluster needs cluster_listen and cluster_name too")
		}
		if len(e.Routes) < 3 {
			bad("embedded.routes", "%d routes: list every node of the cluster, this one included (at least 3)", len(e.Routes))
		}
		for i, r := range e.Routes {
			if !strings.HasPrefix(r, "nats-route://") {
				bad(fmt.Sprintf("embedded.routes[%d]", i), "%q: want nats-route://host:port", r)
			}
		}
	}
	for i, h := range e.MQTTHosts {
		if h == "" || strings.ContainsAny(h, " /:") && net.ParseIP(h) == nil {
			bad(fmt.Sprintf("embedded.mqtt_hosts[%d]", i), "%q: want a DNS name or an IP address", h)
		}
	}
	f := c.Firmware
	if f.Listen != "" {
		if _, port, err := net.SplitHostPort(f.Listen); err != nil || port == "" {
			bad("firmware.listen", "%q: want host:port such as :8443", f.Listen)
		}
	}
	for i, h := range f.Hosts {
		if h == "" || strings.ContainsAny(h, " /:") && net.ParseIP(h) == nil {
			bad(fmt.Sprintf("firmware.hosts[%d]", i), "%q: want a DNS name or an IP address", h)
		}
	}
	if f.URL != "" {
		if u, err := url.Parse(f.URL); err != nil || u.Scheme != "https" || u.Host == "" || u.Path != "" && u.Path != "/" {
			bad("firmware.url", "%q: want https://host:port (gateways fetch over TLS only)", f.URL)
		}
	}
	if f.RolloutEvery != "" {
		if d, err := time.ParseDuration(f.RolloutEvery); err != nil || d < 100*time.Millisecond || d > time.Hour {
			bad("firmware.rollout_every", "%q: want a duration from 100ms to 1h", f.RolloutEvery)
		}
	}
	return errs
}

// options turns the configuration into the service's options.
func (c *Config) options() (service.Options, error) {
	o := service.Options{
		DataDir: c.DataDir, SecretsDir: c.SecretsDir, Replicas: c.Replicas, URLs: c.NATS.URLs, NATSUser: c.NATS.User,
		APIListen: c.API.Listen, APICert: c.API.TLSCert, APIKey: c.API.TLSKey,
		Mosquitto: c.Mosquitto.Broker, MosquittoCA: c.Mosquitto.CA,
		FirmwareListen: c.Firmware.Listen, FirmwareHosts: c.Firmware.Hosts, FirmwareURL: strings.TrimSuffix(c.Firmware.URL, "/"),
		Embedded: service.Embedded{
			ServerName: c.Embedded.ServerName, ClientListen: c.Embedded.ClientListen, MQTTListen: c.Embedded.MQTTListen,
			MQTTHosts: c.Embedded.MQTTHosts, ClusterListen: c.Embedded.ClusterListen, ClusterName: c.Embedded.ClusterName,
			Routes: c.Embedded.Routes, MonitorListen: c.Embedded.MonitorListen,
			SyncAlways: len(c.Embedded.Routes) == 0,
		},
	}
	if c.Firmware.RolloutEvery != "" {
		o.RolloutEvery, _ = time.ParseDuration(c.Firmware.RolloutEvery) // validate checked it
	}
	if c.Embedded.SyncAlways != nil {
		o.Embedded.SyncAlways = *c.Embedded.SyncAlways
	}
	o.NATSPassword = os.Getenv(broker.NATSPasswordVar)
	if c.NATS.PasswordFile != "" {
		b, err := os.ReadFile(c.NATS.PasswordFile)
		if err != nil {
			return o, fmt.Errorf("nats.password_file: %w", err)
		}
		o.NATSPassword = strings.TrimSpace(string(b))
	}
	return o, nil
}

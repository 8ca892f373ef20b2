package broker_test

import (
	"bytes"
	"crypto/tls"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/pki"
)

// The example gateway of the files in deploy/.
var deployGateway = broker.GatewayIdentity{Centre: "lhr-01", Gateway: "gw-1"}

var natsConfs = []string{"hq-single.conf", "hq-cluster-node1.conf", "hq-cluster-node2.conf", "hq-cluster-node3.conf"}

// withoutComments drops comment and blank lines.
func withoutComments(data []byte) string {
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestDeployMosquittoACLIsGenerated(t *testing.T) {
	deployed, err := os.ReadFile("../../deploy/mosquitto/acl")
	if err != nil {
		t.Fatal(err)
	}
	var gen bytes.Buffer
	if err := broker.WriteMosquittoACL(&gen, []string{hqUser}, []broker.GatewayIdentity{deployGateway}); err != nil {
		t.Fatal(err)
	}
	if got, want := withoutComments(deployed), withoutComments(gen.Bytes()); got != want {
		t.Errorf("deploy/mosquitto/acl differs from WriteMosquittoACL:\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// deployTLSDir writes the files deploy/nats/*.conf name under
// /etc/seathq/tls/ into a temporary directory.
func deployTLSDir(t *testing.T, f *fixture) string {
	t.Helper()
	dir := t.TempDir()
	routeCert, routeKey, err := f.ca.IssueClusterNode([]string{"hq-1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"ca.pem": f.ca.CertPEM(), "server.pem": f.serverCert, "server-key.pem": f.serverKey,
		"route.pem": routeCert, "route-key.pem": routeKey,
	} {
		if err := pki.WriteFileAtomic(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadDeployConf parses deploy/nats/name with its TLS paths moved to
// tlsDir and, if auth is not empty, its authorization block replaced.
func loadDeployConf(t *testing.T, name, tlsDir, auth string) *server.Options {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../deploy/nats", name))
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.ReplaceAll(string(data), "/etc/seathq/tls/", tlsDir+"/")
	if auth != "" {
		i := strings.Index(conf, "\nauthorization {")
		if i < 0 {
			t.Fatalf("%s has no authorization block", name)
		}
		conf = conf[:i+1] + auth
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(broker.NATSPasswordVar, hqPassword)
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return opts
}

type userView struct {
	Username, Password string
	Permissions        *server.Permissions
	ConnTypes          map[string]struct{}
}

func usersOf(opts *server.Options) []userView {
	var out []userView
	for _, u := range opts.Users {
		out = append(out, userView{u.Username, u.Password, u.Permissions, u.AllowedConnectionTypes})
	}
	return out
}

// TestDeployNATSConfigs: every deploy/nats file parses, maps MQTT client
// certificates to users, runs JetStream, and carries exactly the users
// WriteNATSAuthorization generates for the example gateway.
func TestDeployNATSConfigs(t *testing.T) {
	f := newFixture(t)
	tlsDir := deployTLSDir(t, f)
	var gen bytes.Buffer
	if err := broker.WriteNATSAuthorization(&gen, hqUser, []broker.GatewayIdentity{deployGateway}); err != nil {
		t.Fatal(err)
	}
	generated := usersOf(loadDeployConf(t, "hq-single.conf", tlsDir, gen.String()))
	if len(generated) != 2 || generated[1].Username != deployGateway.NATSUser() || generated[0].Password != hqPassword {
		t.Fatalf("generated users: %+v", generated)
	}
	for _, name := range natsConfs {
		t.Run(name, func(t *testing.T) {
			o := loadDeployConf(t, name, tlsDir, "")
			if !o.JetStream || o.StoreDir == "" {
				t.Error("JetStream is not on with a store directory")
			}
			if o.MQTT.Port == 0 || !o.MQTT.TLSMap || o.MQTT.TLSConfig == nil ||
				o.MQTT.TLSConfig.ClientAuth != tls.RequireAndVerifyClientCert || o.MQTT.TLSConfig.MinVersion < tls.VersionTLS12 {
				t.Errorf("MQTT listener: port %d, verify_and_map %v, TLS %v: want TLS 1.2+ with verified, mapped client certificates",
					o.MQTT.Port, o.MQTT.TLSMap, o.MQTT.TLSConfig != nil)
			}
			if got := usersOf(o); !reflect.DeepEqual(got, generated) {
				t.Errorf("users differ from WriteNATSAuthorization:\ngot  %+v\nwant %+v", got, generated)
			}
			if strings.HasPrefix(name, "hq-cluster") {
				if o.Cluster.Name != "seathq" || len(o.Routes) != 3 || o.MQTT.StreamReplicas != 3 {
					t.Errorf("cluster %q, %d routes, MQTT stream replicas %d: want seathq, 3, 3", o.Cluster.Name, len(o.Routes), o.MQTT.StreamReplicas)
				}
				if o.Cluster.TLSConfig == nil || o.Cluster.TLSConfig.ClientAuth != tls.RequireAndVerifyClientCert {
					t.Error("routes are not TLS with verified certificates")
				}
			}
		})
	}
}

// TestDeploySingleConfServes runs nats-server from deploy/nats/hq-single.conf
// (ports, store and TLS paths changed; users generated for the test
// gateways) through the gateway rights specification: the deployed file
// and the embedded broker give the same rights.
func TestDeploySingleConfServes(t *testing.T) {
	f := newFixture(t)
	var gen bytes.Buffer
	if err := broker.WriteNATSAuthorization(&gen, hqUser, enrolled); err != nil {
		t.Fatal(err)
	}
	o := loadDeployConf(t, "hq-single.conf", deployTLSDir(t, f), gen.String())
	o.Port, o.HTTPPort, o.MQTT.Port = server.RANDOM_PORT, server.RANDOM_PORT, server.RANDOM_PORT
	o.Host, o.HTTPHost, o.MQTT.Host = "127.0.0.1", "127.0.0.1", "127.0.0.1"
	o.StoreDir = filepath.Join(t.TempDir(), "nats")
	o.NoSigs, o.NoLog = true, true
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server from hq-single.conf not ready")
	}
	nc := connectHQ(t, s.ClientURL())
	addr := "127.0.0.1:" + strconv.Itoa(o.MQTT.Port)
	checkGatewayRights(t, f, addr, natsHQ{nc}, brokerDiffs{ownDownlinkDenied: true, unenrolledRefused: true, subscribeRefused: true})
}

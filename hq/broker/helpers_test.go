package broker_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/pki"
)

// Timeouts. Every wait in these tests is bounded by one of them.
const (
	waitMsg   = 10 * time.Second       // for a message that must arrive
	quietTime = 300 * time.Millisecond // after a sentinel, for strays that must not
	opTimeout = 15 * time.Second       // for a connect, publish or subscribe (first MQTT connects create streams)
)

// The gateways of these tests. A and C share a centre; B is elsewhere;
// Unenrolled has a valid certificate but is not in the broker's list.
var (
	gwA          = broker.GatewayIdentity{Centre: "lhr-01", Gateway: "gw-1"}
	gwB          = broker.GatewayIdentity{Centre: "isb-02", Gateway: "gw-7"}
	gwC          = broker.GatewayIdentity{Centre: "lhr-01", Gateway: "gw-2"}
	gwUnenrolled = broker.GatewayIdentity{Centre: "khi-03", Gateway: "gw-9"}
	enrolled     = []broker.GatewayIdentity{gwA, gwB, gwC}
)

const (
	hqUser     = "seathq"
	hqPassword = "test-password-not-secret"
)

// fixture holds a CA, a broker certificate for 127.0.0.1 and the client
// certificates of the test gateways, plus forgeries.
type fixture struct {
	dir        string
	ca         *pki.CA
	serverCert []byte
	serverKey  []byte
	serverTLS  *tls.Config
	gateways   map[broker.GatewayIdentity]*tls.Config
	hqService  *tls.Config // CN=seathq, for Mosquitto
	rogue      *tls.Config // CN of gwA, signed by another CA
	expired    *tls.Config // gwA, expired
	noCert     *tls.Config // trusts the broker, presents nothing
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), gateways: map[broker.GatewayIdentity]*tls.Config{}}
	var err error
	if f.ca, err = pki.NewCA(filepath.Join(f.dir, "ca")); err != nil {
		t.Fatal(err)
	}
	if f.serverCert, f.serverKey, err = f.ca.IssueServer([]string{"localhost", "127.0.0.1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if f.serverTLS, err = pki.ServerTLSConfig(f.serverCert, f.serverKey, f.ca.CertPool()); err != nil {
		t.Fatal(err)
	}
	for _, g := range append(append([]broker.GatewayIdentity(nil), enrolled...), gwUnenrolled) {
		certPEM, keyPEM, err := f.ca.IssueGateway(g.Centre, g.Gateway, nil, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		f.gateways[g] = f.clientTLS(t, certPEM, keyPEM)
	}
	certPEM, keyPEM, err := f.ca.IssueService(hqUser, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f.hqService = f.clientTLS(t, certPEM, keyPEM)

	rogueCA, err := pki.NewCA(filepath.Join(f.dir, "rogue-ca"))
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err = rogueCA.IssueGateway(gwA.Centre, gwA.Gateway, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f.rogue = f.clientTLS(t, certPEM, keyPEM)

	certPEM, keyPEM, err = f.ca.IssueGateway(gwA.Centre, gwA.Gateway, nil, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	f.expired = f.clientTLS(t, certPEM, keyPEM)
	time.Sleep(5 * time.Millisecond) // let it expire

	f.noCert = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: f.ca.CertPool(), ServerName: "127.0.0.1"}
	return f
}

func (f *fixture) clientTLS(t *testing.T, certPEM, keyPEM []byte) *tls.Config {
	t.Helper()
	c, err := pki.ClientTLSConfig(certPEM, keyPEM, f.ca.CertPool(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mqttClient is a paho client whose received messages go to a channel.
type mqttClient struct {
	c    mqtt.Client
	msgs chan mqtt.Message
}

var clientSeq atomic.Int64

// dialOpts are the CONNECT fields a test varies.
type dialOpts struct {
	clientID           string // "" picks a unique one
	persistent         bool   // CleanSession false
	username, password string
}

// dialMQTT connects to addr over TLS with MQTT 3.1.1. It never retries.
func dialMQTT(addr string, tlsConf *tls.Config, do dialOpts) (mc *mqttClient, sessionPresent bool, err error) {
	if do.clientID == "" {
		do.clientID = fmt.Sprintf("test-%d", clientSeq.Add(1))
	}
	mc = &mqttClient{msgs: make(chan mqtt.Message, 100)}
	o := mqtt.NewClientOptions().
		AddBroker("tls://" + addr).
		SetClientID(do.clientID).
		SetUsername(do.username).
		SetPassword(do.password).
		SetTLSConfig(tlsConf).
		SetCleanSession(!do.persistent).
		SetProtocolVersion(4). // MQTT 3.1.1
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(opTimeout).
		SetWriteTimeout(opTimeout).
		SetKeepAlive(30 * time.Second).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { mc.msgs <- m })
	mc.c = mqtt.NewClient(o)
	tok := mc.c.Connect()
	if !tok.WaitTimeout(opTimeout) {
		mc.c.Disconnect(0)
		return nil, false, errors.New("connect: timed out")
	}
	if err := tok.Error(); err != nil {
		return nil, false, err
	}
	return mc, tok.(*mqtt.ConnectToken).SessionPresent(), nil
}

// connectMQTT connects with a clean session.
func connectMQTT(addr string, tlsConf *tls.Config) (*mqttClient, error) {
	mc, _, err := dialMQTT(addr, tlsConf, dialOpts{})
	return mc, err
}

// mustDial connects or fails the test, and disconnects on cleanup.
func mustDial(t *testing.T, addr string, tlsConf *tls.Config, do dialOpts) (*mqttClient, bool) {
	t.Helper()
	// A cluster creates the MQTT streams at the first connection; on a
	// loaded machine that connection may be closed while they are
	// created, and a gateway would simply reconnect: so do we, for a while.
	mc, present, err := dialMQTT(addr, tlsConf, do)
	for deadline := time.Now().Add(15 * time.Second); err != nil && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		mc, present, err = dialMQTT(addr, tlsConf, do)
	}
	if err != nil {
		t.Fatalf("MQTT connect as %q: %v", do.clientID, err)
	}
	t.Cleanup(mc.close)
	return mc, present
}

func mustConnect(t *testing.T, addr string, tlsConf *tls.Config) *mqttClient {
	t.Helper()
	mc, _ := mustDial(t, addr, tlsConf, dialOpts{})
	return mc
}

func (mc *mqttClient) close() {
	if mc.c.IsConnected() {
		mc.c.Disconnect(100)
	}
}

// publish publishes and, for QoS 1, waits for the PUBACK.
func (mc *mqttClient) publish(t *testing.T, topic string, qos byte, retained bool, payload string) {
	t.Helper()
	tok := mc.c.Publish(topic, qos, retained, payload)
	if !tok.WaitTimeout(opTimeout) {
		t.Fatalf("publish %s: no PUBACK after %v", topic, opTimeout)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

// subscribe subscribes to topic at QoS 1 and returns the granted QoS
// (0x80 for a refusal).
func (mc *mqttClient) subscribe(t *testing.T, topic string) byte {
	t.Helper()
	tok := mc.c.Subscribe(topic, 1, nil) // nil: messages go to the default handler
	if !tok.WaitTimeout(opTimeout) {
		t.Fatalf("subscribe %s: no SUBACK after %v", topic, opTimeout)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	return tok.(*mqtt.SubscribeToken).Result()[topic]
}

// expect waits for the next message and checks its topic and payload.
func (mc *mqttClient) expect(t *testing.T, topic, payload string) {
	t.Helper()
	select {
	case m := <-mc.msgs:
		if m.Topic() != topic || string(m.Payload()) != payload {
			t.Fatalf("MQTT message: got %s %q, want %s %q", m.Topic(), m.Payload(), topic, payload)
		}
	case <-time.After(waitMsg):
		t.Fatalf("MQTT message %s %q: none after %v", topic, payload, waitMsg)
	}
}

// expectOnly waits for a message and checks that it, and anything else
// arriving within quietTime, is topic/payload: a broker may deliver one
// message once per overlapping subscription.
func (mc *mqttClient) expectOnly(t *testing.T, topic, payload string) {
	t.Helper()
	mc.expect(t, topic, payload)
	for {
		select {
		case m := <-mc.msgs:
			if m.Topic() != topic || string(m.Payload()) != payload {
				t.Fatalf("MQTT message: got %s %q, want only %s %q", m.Topic(), m.Payload(), topic, payload)
			}
		case <-time.After(quietTime):
			return
		}
	}
}

// expectNothing checks that no message arrives within quietTime.
func (mc *mqttClient) expectNothing(t *testing.T) {
	t.Helper()
	select {
	case m := <-mc.msgs:
		t.Fatalf("MQTT message: got %s %q, want none", m.Topic(), m.Payload())
	case <-time.After(quietTime):
	}
}

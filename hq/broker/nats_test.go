package broker_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pkfreelance/seatgate/hq/broker"
)

// natsHQ is HQ's side of an embedded broker: seathq's NATS connection.
type natsHQ struct{ nc *nats.Conn }

func connectHQ(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.UserInfo(hqUser, hqPassword), nats.Timeout(opTimeout), nats.NoReconnect())
	if err != nil {
		t.Fatalf("HQ NATS connect %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func (h natsHQ) receiveAll(t *testing.T) <-chan hqMsg {
	t.Helper()
	ch := make(chan hqMsg, 100)
	sub, err := h.nc.Subscribe("seats.v1.>", func(m *nats.Msg) {
		if !strings.HasPrefix(string(m.Data), "hq:") {
			ch <- hqMsg{m.Subject, string(m.Data)}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
	if err := h.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return ch
}

func (h natsHQ) publish(t *testing.T, subject, payload string) {
	t.Helper()
	if err := h.nc.Publish(subject, []byte(payload)); err != nil {
		t.Fatalf("HQ publish %s: %v", subject, err)
	}
	if err := h.nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

func brokerOptions(t *testing.T, f *fixture) broker.Options {
	return broker.Options{
		DataDir:    filepath.Join(t.TempDir(), "nats"),
		MQTTHost:   "127.0.0.1",
		TLS:        f.serverTLS,
		Gateways:   enrolled,
		HQUser:     hqUser,
		HQPassword: hqPassword,
		Logger:     testLogger(t),
	}
}

func startBroker(t *testing.T, o broker.Options) *broker.Broker {
	t.Helper()
	b, err := broker.Start(o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		b.Shutdown()
		b.WaitForShutdown()
	})
	return b
}

// TestEmbeddedBroker: a gateway's MQTT uplink reaches seathq on NATS,
// seathq's downlink reaches the gateway, and every right outside
// docs/protocol.md is refused.
func TestEmbeddedBroker(t *testing.T) {
	f := newFixture(t)
	b := startBroker(t, brokerOptions(t, f))
	nc := connectHQ(t, b.ClientURL())

	checkGatewayRights(t, f, b.MQTTAddr(), natsHQ{nc}, brokerDiffs{ownDownlinkDenied: true, unenrolledRefused: true, subscribeRefused: true})

	t.Run("a gateway that sends an MQTT password is refused", func(t *testing.T) {
		// verify_and_map compares the password sent with the mapped user's,
		// which is empty: gateways must send none.
		for _, pw := range []string{hqPassword, "anything"} {
			if mc, _, err := dialMQTT(b.MQTTAddr(), f.gateways[gwA], dialOpts{username: hqUser, password: pw}); err == nil {
				mc.close()
				t.Errorf("gateway A with password %q: connected, want refusal", pw)
			}
		}
	})

	t.Run("gateway users cannot use the NATS port", func(t *testing.T) {
		for _, user := range []string{gwA.NATSUser(), gwA.CommonName()} {
			nc, err := nats.Connect(b.ClientURL(), nats.UserInfo(user, ""), nats.Timeout(opTimeout), nats.NoReconnect())
			if err == nil {
				nc.Close()
				t.Errorf("NATS connect as %q: connected, want authorization violation", user)
			}
		}
		nc, err := nats.Connect(b.ClientURL(), nats.UserInfo(hqUser, "wrong"), nats.Timeout(opTimeout), nats.NoReconnect())
		if err == nil {
			nc.Close()
			t.Error("NATS connect with a wrong password: connected")
		}
	})

	t.Run("the HQ user cannot use MQTT", func(t *testing.T) {
		// Its password is no use without a certificate, and a certificate
		// maps to a gateway, never to seathq.
		if mc, _, err := dialMQTT(b.MQTTAddr(), f.noCert, dialOpts{username: hqUser, password: hqPassword}); err == nil {
			mc.close()
			t.Error("MQTT connect as seathq without certificate: connected")
		}
	})

	t.Run("JetStream is on", func(t *testing.T) {
		js, err := nc.JetStream(nats.MaxWait(opTimeout))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.AccountInfo(); err != nil {
			t.Fatalf("JetStream account info: %v", err)
		}
		// MQTT keeps its sessions and retained messages in streams.
		for _, name := range []string{"$MQTT_sess", "$MQTT_msgs", "$MQTT_rmsgs"} {
			if _, err := js.StreamInfo(name); err != nil {
				t.Errorf("stream %s: %v", name, err)
			}
		}
	})
}

// TestSetGateways enrols and removes a gateway while the broker runs.
func TestSetGateways(t *testing.T) {
	f := newFixture(t)
	o := brokerOptions(t, f)
	o.Gateways = []broker.GatewayIdentity{gwA}
	b := startBroker(t, o)
	nc := connectHQ(t, b.ClientURL())

	if mc, err := connectMQTT(b.MQTTAddr(), f.gateways[gwB]); err == nil {
		mc.close()
		t.Fatal("B before enrolment: connected, want refusal")
	}
	a := mustConnect(t, b.MQTTAddr(), f.gateways[gwA])
	if err := b.SetGateways([]broker.GatewayIdentity{gwA, gwB}); err != nil {
		t.Fatalf("SetGateways: %v", err)
	}
	mb := mustConnect(t, b.MQTTAddr(), f.gateways[gwB])
	if got := mb.subscribe(t, topic(up(gwB, "ack"))); got != 1 {
		t.Fatalf("B after enrolment: subscribe own ack granted %#x, want 1", got)
	}
	if got := a.subscribe(t, topic(up(gwA, "ack"))); got != 1 {
		t.Fatalf("A after reload: subscribe own ack granted %#x, want 1", got)
	}
	natsHQ{nc}.publish(t, up(gwA, "ack"), "hq:still here")
	a.expect(t, topic(up(gwA, "ack")), "hq:still here")

	if err := b.SetGateways([]broker.GatewayIdentity{gwB}); err != nil {
		t.Fatalf("SetGateways (remove A): %v", err)
	}
	if mc, err := connectMQTT(b.MQTTAddr(), f.gateways[gwA]); err == nil {
		mc.close()
		t.Error("A after removal: connected, want refusal")
	}
	deadline := time.Now().Add(waitMsg)
	for a.c.IsConnectionOpen() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if a.c.IsConnectionOpen() {
		t.Error("A's connection still open after its removal")
	}

	bad := []broker.GatewayIdentity{{Centre: "lhr-01", Gateway: "GW"}}
	if err := b.SetGateways(bad); err == nil {
		t.Error("SetGateways(invalid id): got nil error")
	}
}

// TestStreamsTakeMoreThanAThousandConsumers: every QoS 1 subscription of
// an MQTT client is a durable consumer on stream $MQTT_msgs, three per
// gateway. nats-server's default limit of 1,000 consumers per stream
// would refuse the subscriptions of the 334th gateway; the broker lifts it.
func TestStreamsTakeMoreThanAThousandConsumers(t *testing.T) {
	f := newFixture(t)
	b := startBroker(t, brokerOptions(t, f))
	js, err := connectHQ(t, b.ClientURL()).JetStream(nats.MaxWait(opTimeout))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AddStream(&nats.StreamConfig{Name: "MANY", Subjects: []string{"many.>"}, Storage: nats.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	const want = 1001
	for i := range want {
		if _, err := js.AddConsumer("MANY", &nats.ConsumerConfig{Durable: "c" + strconv.Itoa(i), AckPolicy: nats.AckNonePolicy,
			MemoryStorage: true}); err != nil {
			t.Fatalf("consumer %d of %d: %v", i+1, want, err)
		}
	}
}

func TestStartRefusesBadOptions(t *testing.T) {
	f := newFixture(t)
	noClientCAs := f.serverTLS.Clone()
	noClientCAs.ClientCAs = nil
	tests := []struct {
		name   string
		change func(o *broker.Options)
	}{
		{"no data directory", func(o *broker.Options) { o.DataDir = "" }},
		{"no TLS", func(o *broker.Options) { o.TLS = nil }},
		{"TLS without client CAs", func(o *broker.Options) { o.TLS = noClientCAs }},
		{"no HQ password", func(o *broker.Options) { o.HQPassword = "" }},
		{"bad HQ user", func(o *broker.Options) { o.HQUser = "CN=seathq" }},
		{"invalid gateway id", func(o *broker.Options) { o.Gateways = []broker.GatewayIdentity{{Centre: "lhr/01", Gateway: "gw-1"}} }},
		{"reserved gateway id", func(o *broker.Options) { o.Gateways = []broker.GatewayIdentity{{Centre: "lhr-01", Gateway: "journal"}} }},
		{"duplicate gateway", func(o *broker.Options) { o.Gateways = []broker.GatewayIdentity{gwA, gwA} }},
		{"routes without cluster name", func(o *broker.Options) { o.Routes = []string{"nats-route://127.0.0.1:6222"} }},
		{"port out of range", func(o *broker.Options) { o.MQTTPort = 70000 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := brokerOptions(t, f)
			tt.change(&o)
			b, err := broker.Start(o)
			if err == nil {
				b.Shutdown()
				b.WaitForShutdown()
				t.Fatal("Start: got nil error")
			}
		})
	}

	t.Run("port in use", func(t *testing.T) {
		first := startBroker(t, brokerOptions(t, f))
		o := brokerOptions(t, f)
		_, port, _ := strings.Cut(first.MQTTAddr(), ":")
		var err error
		if o.MQTTPort, err = strconv.Atoi(port); err != nil {
			t.Fatal(err)
		}
		b, err := broker.Start(o)
		if err == nil {
			b.Shutdown()
			b.WaitForShutdown()
			t.Fatal("Start on a taken MQTT port: got nil error")
		}
		t.Logf("Start on a taken port: %v", err)
		if !strings.Contains(err.Error(), "MQTT") && !strings.Contains(err.Error(), "mqtt") {
			t.Errorf("error %q does not say which listener failed", err)
		}
	})
}

package bridgebench_test

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
	"github.com/pkfreelance/seatgate/sync/brokertest"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// hq is HQ as a gateway on a Mosquitto broker sees it: the broker, HQ's
// real Ingester storing every event in JetStream (an embedded NATS) before
// it signs an ack, and a relay between the two.
type hq struct {
	Broker string // the Mosquitto broker's tcp:// URL
	Pub    ed25519.PublicKey
	js     jetstream.JetStream
}

// startHQ starts HQ for one gateway with device key dev; everything stops
// at the end of the test.
func startHQ(t testing.TB, dev ed25519.PublicKey) *hq {
	t.Helper()
	p := ingesttest.NewPKI(t)
	nb := ingesttest.StartBroker(t, p.BrokerOptions(t))
	nc, js := ingesttest.Connect(t, nb.ClientURL())
	h := &hq{js: js}
	var key ed25519.PrivateKey
	h.Pub, key = ingesttest.Key(t)
	reg := ingest.StaticRegistry{{Centre: topics.Centre, Gateway: topics.Gateway}: dev}
	in, err := ingest.New(js, nc, reg, key, ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); in.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-in.Ready():
	case <-done:
		t.Fatal("ingester stopped at start")
	case <-time.After(30 * time.Second):
		t.Fatal("ingester not ready after 30 s")
	}

	mq := brokertest.StartMosquitto(t, "allow_anonymous true\npersistence false\n")
	h.Broker = "tcp://" + mq.Addr
	startRelay(t, mq.Addr, nc)
	return h
}

// stored returns the gateway's events in HQ's stream, in stream order.
func (h *hq) stored(t testing.TB) []store.Event {
	t.Helper()
	return ingesttest.StoredEvents(t, h.js, topics.Centre, topics.Gateway)
}

// startRelay carries uplink batches from the Mosquitto broker at addr to
// NATS and HQ's acks back: what seathq has to do to serve gateways on
// Mosquitto, since the Ingester speaks NATS. It holds nothing: a batch
// lost on the way is never acknowledged, so the gateway sends it again.
func startRelay(t testing.TB, addr string, nc *nats.Conn) {
	t.Helper()
	const uplink = "seats/v1/+/+/" + wire.KindEvents
	subscribed := make(chan struct{}, 1)
	o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("seathq-relay").SetCleanSession(true).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(50 * time.Millisecond).
		SetMaxReconnectInterval(200 * time.Millisecond).
		SetOnConnectHandler(func(c mqtt.Client) {
			c.Subscribe(uplink, 1, func(_ mqtt.Client, m mqtt.Message) {
				if subject, err := wire.NATSSubject(m.Topic()); err == nil {
					nc.Publish(subject, m.Payload()) // buffered: never blocks paho's handler
				}
			}).Wait()
			select {
			case subscribed <- struct{}{}:
			default:
			}
		})
	c := mqtt.NewClient(o)
	t.Cleanup(func() { c.Disconnect(100) })
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("relay: connect to %s: %v", addr, tok.Error())
	}
	select {
	case <-subscribed:
	case <-time.After(10 * time.Second):
		t.Fatalf("relay: not subscribed to %s after 10 s", uplink)
	}
	acks, err := nc.Subscribe("seats.v1.*.*."+wire.KindAck, func(m *nats.Msg) {
		if topic, err := wire.MQTTTopic(m.Subject); err == nil {
			// Not waited for: the next ack covers a lost one (they are
			// watermarks), and the Drainer resends when none comes.
			c.Publish(topic, 1, false, m.Data)
		}
	})
	if err == nil {
		err = nc.Flush()
	}
	if err != nil {
		t.Fatalf("relay: subscribe to acks: %v", err)
	}
	t.Cleanup(func() { acks.Unsubscribe() })
}

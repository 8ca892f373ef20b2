package ingest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
	"github.com/pkfreelance/seatgate/sync/link"
	"github.com/pkfreelance/seatgate/sync/outbox"
)

// TestGatewayOverMQTT is the whole path: a gateway's outbox drained over
// its MQTT link (TLS, its certificate, its rights only) into the embedded
// broker, stored by the Ingester, acknowledged back over MQTT.
func TestGatewayOverMQTT(t *testing.T) {
	id := broker.GatewayIdentity{Centre: "lhr-01", Gateway: "gw-1"}
	h := newHQ(t, id)
	g := h.enrol(t, id.Centre, id.Gateway)
	ingesttest.Sessions(g.log, 250, t0, 30*time.Minute, time.Minute, "A1", "A2")
	in := h.start(t, options(t))

	var d *outbox.Drainer
	l, err := link.New(link.Options{
		Broker:     "tls://" + h.b.MQTTAddr(),
		ClientID:   id.ClientID(),
		TLS:        h.pki.GatewayTLS(t, id),
		Subscribe:  []string{g.topics.Ack()},
		OnConnect:  func(context.Context) { d.Connected() },
		BackoffMin: 50 * time.Millisecond,
		BackoffMax: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	d = outbox.New(g.log, l, outbox.Options{Topics: g.topics, Boot: 3, Key: g.key, HQKey: h.hqPub,
		BatchSize: 50, Window: 200, Rate: 100, AckTimeout: time.Second})

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { l.Run(ctx) })
	wg.Go(func() { d.Run(ctx) })
	wg.Go(func() {
		for {
			select {
			case m := <-l.Inbox():
				if err := d.HandleAck(m.Payload); err != nil {
					t.Errorf("ack over MQTT: %v", err)
				}
			case <-ctx.Done():
				return
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })

	start := time.Now()
	ingesttest.WaitFor(t, "every event delivered over MQTT", drainTime, func() bool { return g.log.Delivered() == 500 })
	t.Logf("500 events over MQTT in %v; ingester %+v; drainer %+v", time.Since(start), in.Stats(), d.Stats())
	h.checkStored(t, g, 500)
	if hd := h.head(t, g); hd.Boot != 3 {
		t.Errorf("head boot: got %d, want 3", hd.Boot)
	}
}

package outbox_test

import (
	"context"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/brokertest"
	"github.com/pkfreelance/seatgate/sync/link"
	"github.com/pkfreelance/seatgate/sync/outbox"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// mqttHQ stands in for seathq over a real broker: it stores batches that
// continue its chain and acknowledges them with a signed Ack.
type mqttHQ struct {
	t      *testing.T
	mu     sync.Mutex
	upto   uint64
	chain  string
	events []store.Event
	dups   int
	client mqtt.Client
}

func startHQ(t *testing.T, addr string) *mqttHQ {
	h := &mqttHQ{t: t, chain: store.GenesisHash}
	o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("hq").SetCleanSession(true).
		SetAutoReconnect(true).SetMaxReconnectInterval(200 * time.Millisecond).SetConnectRetry(true).
		SetConnectRetryInterval(100 * time.Millisecond).
		SetOnConnectHandler(func(c mqtt.Client) { c.Subscribe(topics.Events(), 1, h.onBatch) })
	h.client = mqtt.NewClient(o)
	if tok := h.client.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("hq connect: %v", tok.Error())
	}
	t.Cleanup(func() { h.client.Disconnect(100) })
	return h
}

func (h *mqttHQ) onBatch(c mqtt.Client, m mqtt.Message) {
	b, err := wire.DecodeEventBatch(m.Payload())
	if err != nil {
		h.t.Errorf("HQ: %v", err)
		return
	}
	if err := wire.Verify(devPub, &b); err != nil {
		h.t.Errorf("HQ: %v", err)
		return
	}
	h.mu.Lock()
	switch {
	case b.Last <= h.upto:
		h.dups++
	case b.First == h.upto+1 && b.PrevHash == h.chain:
		if err := store.VerifyChain(b.PrevHash, b.Events); err != nil {
			h.t.Errorf("HQ: %v", err)
			h.mu.Unlock()
			return
		}
		h.events = append(h.events, b.Events...)
		h.upto, h.chain = b.Last, b.Events[len(b.Events)-1].Hash
	default:
		// A gap (an earlier batch was lost with the broker): ignore; the
		// gateway resends from the watermark.
	}
	upto := h.upto
	h.mu.Unlock()
	if upto == 0 {
		// Nothing stored yet (the first batches went out before HQ
		// subscribed): there is nothing to acknowledge; an Ack says
		// upto ≥ 1.
		return
	}
	a := wire.Ack{V: wire.Version, Centre: topics.Centre, Gateway: topics.Gateway, Boot: b.Boot, Upto: upto}
	wire.Sign(hqKey, &a)
	p, err := wire.Encode(&a)
	if err != nil {
		h.t.Errorf("HQ: %v", err)
		return
	}
	go c.Publish(topics.Ack(), 1, false, p) // never block paho's handler
}

// TestDrainThroughMosquittoSurvivesBrokerCrash: thousands of events logged
// while the broker is down, then a broker crash in the middle of the
// drain: HQ ends with every event exactly once, in order, chain intact.
func TestDrainThroughMosquittoSurvivesBrokerCrash(t *testing.T) {
	b := brokertest.StartMosquitto(t, "allow_anonymous true\npersistence false\n")
	b.Kill() // HQ's broker is down while the centre works
	s := openLog(t, 3000)

	var d *outbox.Drainer
	l, err := link.New(link.Options{Broker: "tcp://" + b.Addr, ClientID: "lhr-01_gw-1",
		Subscribe: []string{topics.Ack()}, BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		OnConnect: func(context.Context) { d.Connected() }})
	if err != nil {
		t.Fatal(err)
	}
	d = outbox.New(s, l, outbox.Options{Topics: topics, Boot: 1, Key: devKey, HQKey: hqPub,
		BatchSize: 100, Window: 500, Rate: 200, AckTimeout: time.Second, Retry: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	wg.Add(3)
	go func() { defer wg.Done(); l.Run(ctx) }()
	go func() { defer wg.Done(); d.Run(ctx) }()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-l.Inbox():
				if err := d.HandleAck(m.Payload); err != nil {
					t.Errorf("ack: %v", err)
				}
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	if delivered(s) != 0 {
		t.Fatal("delivered with no broker")
	}
	b.Start()
	hq := startHQ(t, b.Addr)
	waitFor(t, "a third of the drain", func() bool { return delivered(s) >= 1000 })
	b.Kill()
	time.Sleep(300 * time.Millisecond)
	b.Start()
	deadline := time.Now().Add(60 * time.Second)
	for delivered(s) < 3000 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := delivered(s); got != 3000 {
		t.Fatalf("delivered %d of 3000 after the broker came back", got)
	}
	hq.mu.Lock()
	defer hq.mu.Unlock()
	if len(hq.events) != 3000 {
		t.Fatalf("HQ stored %d events, want 3000", len(hq.events))
	}
	for i, e := range hq.events {
		if e.Seq != uint64(i+1) {
			t.Fatalf("HQ event %d has seq %d", i, e.Seq)
		}
	}
	if err := store.VerifyChain(store.GenesisHash, hq.events); err != nil {
		t.Errorf("HQ's chain: %v", err)
	}
	t.Logf("stats %+v, duplicates HQ discarded: %d", d.Stats(), hq.dups)
}

package relay_test

import (
	"context"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
	"github.com/pkfreelance/seatgate/hq/relay"
	"github.com/pkfreelance/seatgate/sync/brokertest"
	"github.com/pkfreelance/seatgate/sync/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/eclipse/paho.mqtt.golang.(*router).matchAndDispatch.func1"))
}

// A gateway on Mosquitto reaches HQ's real ingest on NATS through the relay:
// its signed batch is stored and HQ's signed ack comes back over Mosquitto;
// HQ's journal reaches it; its health reaches NATS.
func TestGatewayOnMosquittoReachesHQ(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := ingesttest.NewPKI(t)
	b := ingesttest.StartBroker(t, p.BrokerOptions(t))
	nc, js := ingesttest.Connect(t, b.ClientURL())
	hqPub, hqKey := ingesttest.Key(t)
	devPub, devKey := ingesttest.Key(t)
	topics := wire.Topics{Centre: "lhr-01", Gateway: "gw-1"}
	in, err := ingest.New(js, nc, ingest.StaticRegistry{{Centre: "lhr-01", Gateway: "gw-1"}: devPub}, hqKey, ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); in.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-in.Ready()

	mq := brokertest.StartMosquitto(t, "allow_anonymous true\n")
	r, err := relay.Start(ctx, nc, relay.Options{Broker: "tcp://" + mq.Addr, Logger: ingesttest.TestLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	healths, _ := nc.SubscribeSync("seats.v1.lhr-01.gw-1.health")
	nc.Flush()

	// The gateway.
	var mu sync.Mutex
	var acks []wire.Ack
	var journal [][]byte
	gw := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mq.Addr).SetClientID("lhr-01_gw-1").SetCleanSession(true))
	if tok := gw.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("gateway connect: %v", tok.Error())
	}
	defer gw.Disconnect(100)
	gw.Subscribe(topics.Ack(), 1, func(_ mqtt.Client, m mqtt.Message) {
		a, err := wire.DecodeAck(m.Payload())
		if err == nil && wire.Verify(hqPub, &a) == nil {
			mu.Lock()
			acks = append(acks, a)
			mu.Unlock()
		}
	}).Wait()
	gw.Subscribe(topics.Journal(), 1, func(_ mqtt.Client, m mqtt.Message) {
		mu.Lock()
		journal = append(journal, m.Payload())
		mu.Unlock()
	}).Wait()
	ingesttest.WaitFor(t, "the relay connected", 10*time.Second, func() bool { return r.Stats().Connected })

	log := &ingesttest.Log{}
	ingesttest.Sessions(log, 2, ingesttest.At("2026-11-26 09:00:00"), time.Hour, time.Minute, "A-01")
	batch := ingesttest.Batch(t, devKey, topics, 1, wire.GenesisHash, log.All())
	// The relay subscribes just after it connects: publish until HQ answers.
	ingesttest.WaitFor(t, "HQ's signed ack over Mosquitto", 20*time.Second, func() bool {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n == 0 {
			gw.Publish(topics.Events(), 1, false, batch).Wait()
			time.Sleep(100 * time.Millisecond)
			return false
		}
		return true
	})
	mu.Lock()
	if acks[0].Upto != 4 || acks[0].Centre != "lhr-01" {
		t.Errorf("ack %+v, want upto 4", acks[0])
	}
	mu.Unlock()
	if got := ingesttest.StoredEvents(t, js, "lhr-01", "gw-1"); len(got) != 4 {
		t.Errorf("%d events stored at HQ, want 4", len(got))
	}

	// Downlink: the centre's journal subject reaches the gateway.
	nc.Publish("seats.v1.lhr-01.journal", []byte(`{"entry":1}`))
	ingesttest.WaitFor(t, "the journal over Mosquitto", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(journal) == 1 && string(journal[0]) == `{"entry":1}`
	})
	// Uplink: health reaches NATS.
	gw.Publish(topics.Health(), 0, false, []byte(`{"v":1}`)).Wait()
	if m, err := healths.NextMsg(10 * time.Second); err != nil || string(m.Data) != `{"v":1}` {
		t.Fatalf("health over the relay: %v", err)
	}
	if st := r.Stats(); st.Up < 2 || st.Down < 2 {
		t.Errorf("stats %+v", st)
	}
}

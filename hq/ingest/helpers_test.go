package ingest_test

import (
	"context"
	"crypto/ed25519"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
	"github.com/pkfreelance/seatgate/sync/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Timeouts: every wait in these tests is bounded by one of them.
const (
	waitAck   = 10 * time.Second       // for an acknowledgement that must come
	quietTime = 300 * time.Millisecond // for one that must not
	drainTime = 120 * time.Second      // for a gateway's whole outbox
)

var t0 = ingesttest.At("2026-11-26 09:00:00")

// hq is one HQ broker with the HQ key and a registry of gateways, which
// must be complete before the first ingester starts.
type hq struct {
	pki   *ingesttest.PKI
	b     *broker.Broker
	url   string
	nc    *nats.Conn
	js    jetstream.JetStream
	hqPub ed25519.PublicKey
	hqKey ed25519.PrivateKey
	reg   ingest.StaticRegistry
}

func newHQ(t *testing.T, gws ...broker.GatewayIdentity) *hq {
	t.Helper()
	p := ingesttest.NewPKI(t)
	b := ingesttest.StartBroker(t, p.BrokerOptions(t, gws...))
	h := &hq{pki: p, b: b, url: b.ClientURL(), reg: ingest.StaticRegistry{}}
	h.nc, h.js = ingesttest.Connect(t, h.url)
	h.hqPub, h.hqKey = ingesttest.Key(t)
	return h
}

// gateway is an enrolled gateway: its topics, key and log.
type gateway struct {
	topics wire.Topics
	pub    ed25519.PublicKey
	key    ed25519.PrivateKey
	log    *ingesttest.Log
}

// enrol adds a gateway with a new key to the registry.
func (h *hq) enrol(t *testing.T, centre, gw string) *gateway {
	t.Helper()
	g := &gateway{topics: wire.Topics{Centre: centre, Gateway: gw}, log: &ingesttest.Log{}}
	g.pub, g.key = ingesttest.Key(t)
	h.reg[ingest.GatewayID{Centre: centre, Gateway: gw}] = g.pub
	return g
}

// options are the ingest options of these tests, and the log in the test
// output when SEATHQ_TEST_LOG is set. GapWait is shorter than the default
// (2 s), but long enough that on a loaded machine a batch does not give up
// on a predecessor that another instance is still storing.
func options(t *testing.T) ingest.Options {
	o := ingest.Options{GapWait: time.Second, BatchTimeout: 20 * time.Second, LogEvery: time.Second}
	if os.Getenv("SEATHQ_TEST_LOG") != "" {
		o.Logger = ingesttest.TestLogger(t)
	}
	return o
}

// instance is a running Ingester on its own connection.
type instance struct {
	*ingest.Ingester
	stop func() // cancel Run and wait for it; idempotent
}

func (h *hq) start(t *testing.T, o ingest.Options) *instance {
	t.Helper()
	nc, js := ingesttest.Connect(t, h.url)
	in, err := ingest.New(js, nc, h.reg, h.hqKey, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		runErr = in.Run(ctx)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
			if runErr != context.Canceled {
				t.Errorf("Run: got %v, want context.Canceled", runErr)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-in.Ready():
	case <-done:
		t.Fatalf("Run: %v", runErr)
	case <-time.After(30 * time.Second):
		t.Fatal("ingester not ready after 30 s")
	}
	return &instance{in, stop}
}

// acks collects the acknowledgements HQ sends g, verified with HQ's key.
func (h *hq) acks(t *testing.T, g *gateway) <-chan wire.Ack {
	t.Helper()
	ch := make(chan wire.Ack, 100)
	sub, err := h.nc.Subscribe("seats.v1."+g.topics.Centre+"."+g.topics.Gateway+".ack", func(m *nats.Msg) {
		a, err := wire.DecodeAck(m.Data)
		if err == nil {
			err = wire.Verify(h.hqPub, &a)
		}
		if err != nil {
			t.Errorf("ack: %v", err)
			return
		}
		ch <- a
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

// publish puts payload on g's events subject, as the broker does with an
// MQTT publish.
func (h *hq) publish(t *testing.T, g *gateway, payload []byte) {
	t.Helper()
	h.publishOn(t, g.topics, payload)
}

func (h *hq) publishOn(t *testing.T, topics wire.Topics, payload []byte) {
	t.Helper()
	if err := (ingesttest.NATSPublisher{NC: h.nc}).Publish(context.Background(), topics.Events(), 1, false, payload); err != nil {
		t.Fatal(err)
	}
}

// batch is the signed batch of g's events first..last.
func (g *gateway) batch(t *testing.T, first, last uint64) []byte {
	t.Helper()
	all := g.log.All()
	prev := wire.GenesisHash
	if first > 1 {
		prev = all[first-2].Hash
	}
	return ingesttest.Batch(t, g.key, g.topics, 1, prev, all[first-1:last])
}

func expectAck(t *testing.T, acks <-chan wire.Ack, g *gateway, upto uint64) {
	t.Helper()
	select {
	case a := <-acks:
		if a.Centre != g.topics.Centre || a.Gateway != g.topics.Gateway || a.Upto != upto {
			t.Fatalf("ack: got %s/%s upto %d, want %s/%s upto %d", a.Centre, a.Gateway, a.Upto,
				g.topics.Centre, g.topics.Gateway, upto)
		}
	case <-time.After(waitAck):
		t.Fatalf("ack upto %d: none after %v", upto, waitAck)
	}
}

func expectNoAck(t *testing.T, acks <-chan wire.Ack) {
	t.Helper()
	select {
	case a := <-acks:
		t.Fatalf("ack: got upto %d, want none", a.Upto)
	case <-time.After(quietTime):
	}
}

// head reads g's chain head.
func (h *hq) head(t *testing.T, g *gateway) ingest.Head {
	t.Helper()
	kv, err := h.js.KeyValue(context.Background(), ingest.ChainsBucket)
	if err != nil {
		t.Fatal(err)
	}
	hd, _, err := ingest.LoadHead(context.Background(), kv, g.topics.Centre, g.topics.Gateway)
	if err != nil {
		t.Fatal(err)
	}
	return hd
}

// checkStored checks that EVENTS holds exactly g's first n logged events,
// each once, in order, with their hashes.
func (h *hq) checkStored(t *testing.T, g *gateway, n int) {
	t.Helper()
	got := ingesttest.StoredEvents(t, h.js, g.topics.Centre, g.topics.Gateway)
	want := g.log.All()[:n]
	if len(got) != len(want) {
		t.Fatalf("EVENTS holds %d events of %s, want %d", len(got), g.topics.Gateway, len(want))
	}
	for i := range want {
		if !sameEvent(got[i], want[i]) {
			t.Fatalf("stored event %d: got seq %d hash %.12s…, want seq %d hash %.12s…",
				i, got[i].Seq, got[i].Hash, want[i].Seq, want[i].Hash)
		}
	}
}

func sameEvent(a, b store.Event) bool {
	return a.Seq == b.Seq && a.Hash == b.Hash && a.Time.Equal(b.Time) && a.Kind == b.Kind && a.Seat == b.Seat
}

// waitBatches waits until the instances together have handled n batches.
func waitBatches(t *testing.T, n uint64, ins ...*instance) {
	t.Helper()
	ingesttest.WaitFor(t, "batches handled", waitAck, func() bool {
		var got uint64
		for _, in := range ins {
			got += handled(in.Stats())
		}
		return got >= n
	})
}

// handled counts the batches whose outcome is known.
func handled(s ingest.Stats) uint64 {
	n := s.Stored + s.Duplicates + s.Gaps + s.Forks + s.Resets + s.Errors
	for _, r := range s.Rejected {
		n += r
	}
	return n
}

package ledger_test

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
	"github.com/pkfreelance/seatgate/hq/ledger"
	"github.com/pkfreelance/seatgate/sync/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Timeouts: every wait in these tests is bounded by one of them.
const (
	waitAck   = 10 * time.Second
	waitFold  = 30 * time.Second
	drainTime = 120 * time.Second
)

// hq is HQ on one broker (or a cluster): connection, key and registry, which
// must be complete before the first ingester starts.
type hq struct {
	url   string
	nc    *nats.Conn
	js    jetstream.JetStream
	hqPub ed25519.PublicKey
	hqKey ed25519.PrivateKey
	reg   ingest.StaticRegistry
}

func newHQ(t *testing.T, url string) *hq {
	h := &hq{url: url, reg: ingest.StaticRegistry{}}
	h.nc, h.js = ingesttest.Connect(t, url)
	h.hqPub, h.hqKey = ingesttest.Key(t)
	return h
}

func startHQ(t *testing.T) *hq {
	t.Helper()
	p := ingesttest.NewPKI(t)
	b := ingesttest.StartBroker(t, p.BrokerOptions(t))
	return newHQ(t, b.ClientURL())
}

// device is an enrolled gateway with its key and log.
type device struct {
	topics wire.Topics
	key    ed25519.PrivateKey
	log    *ingesttest.Log
	acks   chan uint64
}

func (h *hq) enrol(t *testing.T, centre, gw string) *device {
	t.Helper()
	d := &device{topics: wire.Topics{Centre: centre, Gateway: gw}, log: &ingesttest.Log{}, acks: make(chan uint64, 100)}
	var pub ed25519.PublicKey
	pub, d.key = ingesttest.Key(t)
	h.reg[ingest.GatewayID{Centre: centre, Gateway: gw}] = pub
	sub, err := h.nc.Subscribe("seats.v1."+centre+"."+gw+".ack", func(m *nats.Msg) {
		if a, err := wire.DecodeAck(m.Data); err == nil {
			select {
			case d.acks <- a.Upto:
			default: // nobody is listening (a drainer takes the acks)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
	return d
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("SEATHQ_TEST_LOG") == "" {
		return nil
	}
	return ingesttest.TestLogger(t)
}

// run runs f(ctx) until the end of the test or until the returned stop is
// called, and checks that it returned only because ctx was done.
func run(t *testing.T, name string, f func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		err = f(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
			if err != context.Canceled {
				t.Errorf("%s: Run returned %v, want context.Canceled", name, err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// startIngester runs an Ingester on its own connection to h.
func (h *hq) startIngester(t *testing.T, o ingest.Options) *ingest.Ingester {
	t.Helper()
	nc, js := ingesttest.Connect(t, h.url)
	if o.GapWait == 0 {
		o.GapWait = time.Second
	}
	o.Logger = testLogger(t)
	in, err := ingest.New(js, nc, h.reg, h.hqKey, o)
	if err != nil {
		t.Fatal(err)
	}
	run(t, "ingester", in.Run)
	select {
	case <-in.Ready():
	case <-time.After(60 * time.Second):
		t.Fatal("ingester not ready after 60 s")
	}
	return in
}

// startLedger runs a Ledger on its own connection to h.
func (h *hq) startLedger(t *testing.T, o ledger.Options) (*ledger.Ledger, func()) {
	t.Helper()
	return h.startLedgerOn(t, o, h.url)
}

// startLedgerOn runs a Ledger on its own connection to url.
func (h *hq) startLedgerOn(t *testing.T, o ledger.Options, url string, opts ...nats.Option) (*ledger.Ledger, func()) {
	t.Helper()
	_, js := ingesttest.Connect(t, url, opts...)
	if o.WaitDelay == 0 {
		o.WaitDelay = 50 * time.Millisecond
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = 200 * time.Millisecond
	}
	o.Logger = testLogger(t)
	l, err := ledger.New(js, o)
	if err != nil {
		t.Fatal(err)
	}
	return l, run(t, "ledger", l.Run)
}

// send publishes d's events first..last as one batch and waits for HQ's
// acknowledgement of last.
func (h *hq) send(t *testing.T, d *device, first, last uint64) {
	t.Helper()
	all := d.log.All()
	prev := wire.GenesisHash
	if first > 1 {
		prev = all[first-2].Hash
	}
	p := ingesttest.Batch(t, d.key, d.topics, 1, prev, all[first-1:last])
	if err := (ingesttest.NATSPublisher{NC: h.nc}).Publish(context.Background(), d.topics.Events(), 1, false, p); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(waitAck)
	for {
		select {
		case upto := <-d.acks:
			if upto >= last {
				return
			}
		case <-deadline:
			t.Fatalf("%s: no ack of %d after %v", d.topics.Gateway, last, waitAck)
		}
	}
}

// waitFolded waits until the ledger has folded d's events up to seq.
func waitFolded(t *testing.T, l *ledger.Ledger, d *device, seq uint64) {
	t.Helper()
	ingesttest.WaitFor(t, "folded up to "+d.topics.Gateway, waitFold, func() bool {
		got, err := l.Folded(context.Background(), d.topics.Centre, d.topics.Gateway)
		return err == nil && got >= seq
	})
}

func date(s string) access.Date {
	d, err := access.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// ev is an event as a gateway logs it: kind, seat ("prev>seat" for a move),
// time and, for session ends, the session's start.
func ev(kind access.Outcome, seat, when, since string, trusted bool) store.Event {
	e := store.Event{Kind: kind, Seat: seat, Time: ingesttest.At(when), ClockTrusted: trusted,
		Member: "m-001", Card: "04A1B2C3D4E5F6", Reader: "r-1"}
	if prev, next, ok := strings.Cut(seat, ">"); ok {
		e.PrevSeat, e.Seat = prev, next
	}
	if since != "" {
		e.Since = ingesttest.At(since)
	}
	return e
}

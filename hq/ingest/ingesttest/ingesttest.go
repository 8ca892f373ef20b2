// Package ingesttest holds what the tests of HQ's ingest and ledger share:
// embedded HQ brokers with a throw-away CA, an in-memory gateway event log
// (sync/outbox.Log) and a gateway that drains it over NATS with the real
// outbox.Drainer, and signed batches built by hand.
package ingesttest

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/pki"
	"github.com/pkfreelance/seatgate/sync/outbox"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// The HQ service's NATS credentials in these tests.
const (
	HQUser     = "seathq"
	HQPassword = "test-password-not-secret"
)

// Karachi is Asia/Karachi (tzdata is embedded by package store).
var Karachi = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Karachi")
	if err != nil {
		panic(err)
	}
	return loc
}()

// At parses "2006-01-02 15:04:05" in Karachi.
func At(s string) time.Time {
	t, err := time.ParseInLocation(time.DateTime, s, Karachi)
	if err != nil {
		panic(err)
	}
	return t
}

// PKI is a throw-away HQ CA with a server certificate for 127.0.0.1.
type PKI struct {
	CA        *pki.CA
	ServerTLS *tls.Config
}

// NewPKI creates a CA in a temporary directory.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	ca, err := pki.NewCA(filepath.Join(t.TempDir(), "ca"))
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueServer([]string{"localhost", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := pki.ServerTLSConfig(certPEM, keyPEM, ca.CertPool())
	if err != nil {
		t.Fatal(err)
	}
	return &PKI{CA: ca, ServerTLS: srv}
}

// GatewayTLS is the client TLS configuration of a gateway's certificate.
func (p *PKI) GatewayTLS(t testing.TB, g broker.GatewayIdentity) *tls.Config {
	t.Helper()
	certPEM, keyPEM, err := p.CA.IssueGateway(g.Centre, g.Gateway, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pki.ClientTLSConfig(certPEM, keyPEM, p.CA.CertPool(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// BrokerOptions are the options of a test broker with the given gateways
// enrolled.
func (p *PKI) BrokerOptions(t testing.TB, gws ...broker.GatewayIdentity) broker.Options {
	return broker.Options{
		DataDir:    filepath.Join(t.TempDir(), "nats"),
		MQTTHost:   "127.0.0.1",
		TLS:        p.ServerTLS,
		Gateways:   gws,
		HQUser:     HQUser,
		HQPassword: HQPassword,
		Logger:     BrokerLogger(t),
	}
}

// StartBroker starts one embedded HQ broker, shut down at the end of the test.
func StartBroker(t testing.TB, o broker.Options) *broker.Broker {
	t.Helper()
	b, err := broker.Start(o)
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(func() { b.Shutdown(); b.WaitForShutdown() })
	return b
}

// StartCluster starts n clustered embedded brokers, shut down at the end of
// the test.
func StartCluster(t testing.TB, n int, o broker.Options) []*broker.Broker {
	t.Helper()
	bs, err := broker.StartCluster(n, t.TempDir(), o)
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(func() {
		for _, b := range bs {
			b.Shutdown()
		}
		for _, b := range bs {
			b.WaitForShutdown()
		}
	})
	return bs
}

// URLs joins the client URLs of brokers, for a connection that fails over.
func URLs(bs ...*broker.Broker) string {
	u := make([]string, len(bs))
	for i, b := range bs {
		u[i] = b.ClientURL()
	}
	return strings.Join(u, ",")
}

// Connect connects to url as the HQ user, reconnecting for ever, and
// closes the connection at the end of the test. opts come last.
func Connect(t testing.TB, url string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	opts = append([]nats.Option{nats.UserInfo(HQUser, HQPassword), nats.Timeout(5 * time.Second),
		nats.MaxReconnects(-1), nats.ReconnectWait(50 * time.Millisecond), nats.ReconnectJitter(0, 0)}, opts...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// BrokerLogger sends the broker's log to the test log when
// SEATHQ_TEST_BROKER_LOG is set, and nowhere otherwise.
func BrokerLogger(t testing.TB) *slog.Logger {
	if os.Getenv("SEATHQ_TEST_BROKER_LOG") == "" {
		return nil
	}
	return TestLogger(t)
}

// TestLogger is a logger writing to the test log (Debug and up).
func TestLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// Key is a new ed25519 key pair.
func Key(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// Log is a gateway's event log in memory: it numbers and chains events as
// the gateway's store does, and implements outbox.Log.
type Log struct {
	mu        sync.Mutex
	events    []store.Event
	delivered uint64
}

var _ outbox.Log = (*Log)(nil)

// Append numbers e, chains it to the log and returns it as logged.
func (l *Log) Append(e store.Event) store.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	prev := wire.GenesisHash
	if n := len(l.events); n > 0 {
		prev = l.events[n-1].Hash
	}
	e.Seq = uint64(len(l.events) + 1)
	h, err := wire.EventHash(prev, e)
	if err != nil {
		panic(err)
	}
	e.Hash = h
	l.events = append(l.events, e)
	return e
}

// All returns a copy of every event logged.
func (l *Log) All() []store.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]store.Event(nil), l.events...)
}

// Delivered is the watermark HQ has acknowledged.
func (l *Log) Delivered() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.delivered
}

// Events implements outbox.Log.
func (l *Log) Events(after uint64, limit int) ([]store.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if after >= uint64(len(l.events)) {
		return nil, nil
	}
	end := min(uint64(len(l.events)), after+uint64(limit))
	return append([]store.Event(nil), l.events[after:end]...), nil
}

// PrevHash implements outbox.Log.
func (l *Log) PrevHash(seq uint64) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq <= 1 {
		return wire.GenesisHash, nil
	}
	if seq-1 > uint64(len(l.events)) {
		return "", fmt.Errorf("event %d is not in the log", seq-1)
	}
	return l.events[seq-2].Hash, nil
}

// Outbox implements outbox.Log.
func (l *Log) Outbox() (store.OutboxState, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o := store.OutboxState{LastSeq: uint64(len(l.events)), Delivered: l.delivered, ChainHead: wire.GenesisHash}
	o.Depth = o.LastSeq - o.Delivered
	if n := len(l.events); n > 0 {
		o.ChainHead = l.events[n-1].Hash
	}
	if o.Depth > 0 {
		o.OldestUndelivered = l.events[l.delivered].Time
	}
	return o, nil
}

// MarkDelivered implements outbox.Log.
func (l *Log) MarkDelivered(upto uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if upto > uint64(len(l.events)) {
		return fmt.Errorf("%w: ack up to %d, last event %d", store.ErrAckBeyondLog, upto, len(l.events))
	}
	l.delivered = max(l.delivered, upto)
	return nil
}

// Sessions appends n sessions to l, one after the other from start, each
// a checkin at a seat of seats followed by a checkout length later, with
// gap between sessions, and returns the seat-seconds they make.
func Sessions(l *Log, n int, start time.Time, length, gap time.Duration, seats ...string) int64 {
	var total int64
	at := start
	for i := range n {
		seat := seats[i%len(seats)]
		member := fmt.Sprintf("m-%03d", i%50)
		l.Append(store.Event{Time: at, Kind: access.OutcomeCheckin, Seat: seat, Member: member, Card: "04A1B2C3D4E5F6",
			Reader: "r-" + seat, ClockTrusted: true})
		l.Append(store.Event{Time: at.Add(length), Kind: access.OutcomeCheckout, Seat: seat, Member: member,
			Card: "04A1B2C3D4E5F6", Reader: "r-" + seat, ClockTrusted: true, Since: at})
		total += int64(length / time.Second)
		at = at.Add(length + gap)
	}
	return total
}

// Batch signs a batch of events (consecutive, from one log) with key and
// returns its payload. prev is the hash before the first event.
func Batch(t testing.TB, key ed25519.PrivateKey, topics wire.Topics, boot uint64, prev string, events []store.Event) []byte {
	t.Helper()
	b := wire.EventBatch{V: wire.Version, Centre: topics.Centre, Gateway: topics.Gateway, Boot: boot,
		First: events[0].Seq, Last: events[len(events)-1].Seq, PrevHash: prev, Events: events}
	if err := wire.Sign(key, &b); err != nil {
		t.Fatalf("sign batch: %v", err)
	}
	p, err := wire.Encode(&b)
	if err != nil {
		t.Fatalf("encode batch: %v", err)
	}
	return p
}

// NATSPublisher publishes a gateway's messages on NATS, as the HQ user,
// where the broker's MQTT listener would put them: an outbox.Publisher.
type NATSPublisher struct{ NC *nats.Conn }

// Publish implements outbox.Publisher: publish and wait until the server
// has the message.
func (p NATSPublisher) Publish(ctx context.Context, topic string, _ byte, _ bool, payload []byte) error {
	subject, err := wire.NATSSubject(topic)
	if err != nil {
		return err
	}
	if err := p.NC.Publish(subject, payload); err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		return p.NC.FlushTimeout(10 * time.Second)
	}
	return p.NC.FlushWithContext(ctx)
}

// Gateway is a gateway's outbox drained by the real outbox.Drainer over
// NATS (see NATSPublisher), taking HQ's acks from its ack subject.
type Gateway struct {
	Topics  wire.Topics
	Log     *Log
	Drainer *outbox.Drainer
}

// StartGateway runs a Drainer of log for topics until the end of the test.
// o.Topics, o.Key and o.HQKey are set from the arguments; the rest of o
// is used as given (zero: the drainer's defaults).
func StartGateway(t testing.TB, nc *nats.Conn, topics wire.Topics, key ed25519.PrivateKey, hqPub ed25519.PublicKey, log *Log, o outbox.Options) *Gateway {
	t.Helper()
	o.Topics, o.Key, o.HQKey = topics, key, hqPub
	if o.Boot == 0 {
		o.Boot = 1
	}
	g := &Gateway{Topics: topics, Log: log, Drainer: outbox.New(log, NATSPublisher{nc}, o)}
	ackSubject, err := wire.NATSSubject(topics.Ack())
	if err != nil {
		t.Fatal(err)
	}
	sub, err := nc.Subscribe(ackSubject, func(m *nats.Msg) {
		if err := g.Drainer.HandleAck(m.Data); err != nil {
			t.Errorf("gateway %s: ack rejected: %v", topics.Gateway, err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.Drainer.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		sub.Unsubscribe()
	})
	return g
}

// WaitDelivered waits until HQ has acknowledged every event up to upto,
// for at most timeout, and reports how long it took.
func (g *Gateway) WaitDelivered(t testing.TB, upto uint64, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for g.Log.Delivered() < upto {
		if time.Since(start) > timeout {
			t.Fatalf("gateway %s: delivered %d of %d after %v (drainer %+v)", g.Topics.Gateway, g.Log.Delivered(), upto, timeout, g.Drainer.Stats())
		}
		g.Drainer.Notify()
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// WaitFor polls cond every 10 ms until it holds, for at most timeout.
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// StoredEvents reads every event of gateway from stream EVENTS, in stream
// order, failing the test if one does not decode.
func StoredEvents(t testing.TB, js jetstream.JetStream, centre, gateway string) []store.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, ingest.StreamName)
	if err != nil {
		t.Fatalf("stream EVENTS: %v", err)
	}
	subject := ingest.EventSubject(centre, gateway)
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	want := info.State.Subjects[subject]
	if want == 0 {
		return nil
	}
	c, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	// An ordered consumer resumes after the last message read when it has
	// to be recreated (in a cluster that lost a node), so failed fetches
	// are simply tried again, for at most 30 s.
	var out []store.Event
	deadline := time.Now().Add(30 * time.Second)
	for uint64(len(out)) < want {
		n := len(out)
		batch, err := c.Fetch(int(min(want-uint64(len(out)), 1000)), jetstream.FetchMaxWait(5*time.Second))
		if err == nil {
			for m := range batch.Messages() {
				var e store.Event
				if err := json.Unmarshal(m.Data(), &e); err != nil {
					t.Fatalf("stored event: %v", err)
				}
				out = append(out, e)
			}
			err = batch.Error()
		}
		if len(out) == n && time.Now().After(deadline) {
			t.Fatalf("read events %d.. of %d: %v", n+1, want, err)
		}
		if err != nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
	return out
}

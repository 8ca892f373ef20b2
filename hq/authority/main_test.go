package authority_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/authority"
	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/pki"
	"github.com/pkfreelance/seatgate/sync/journal"
	"github.com/pkfreelance/seatgate/sync/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Every wait in these tests is bounded by one of these.
const (
	waitFor   = 10 * time.Second       // for something that must happen
	quietTime = 300 * time.Millisecond // for something that must not
)

const (
	hqUser     = "seathq"
	hqPassword = "test-password-not-secret"
	centre     = "lhr-01"
	askEvery   = 50 * time.Millisecond // the gateways' journal.Options.AskEvery
)

// env is an embedded HQ broker (NATS with JetStream) and HQ's key.
type env struct {
	b     *broker.Broker
	key   ed25519.PrivateKey
	pub   ed25519.PublicKey
	conns map[*authority.Authority]*nats.Conn
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.NewCA(filepath.Join(dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tlsConf, err := pki.ServerTLSConfig(certPEM, keyPEM, ca.CertPool())
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.Start(broker.Options{
		DataDir: filepath.Join(dir, "nats"), MQTTHost: "127.0.0.1", TLS: tlsConf,
		HQUser: hqUser, HQPassword: hqPassword, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(func() {
		b.Shutdown()
		b.WaitForShutdown()
	})
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &env{b: b, key: priv, pub: pub, conns: map[*authority.Authority]*nats.Conn{}}
}

// connect opens a NATS connection as HQ, closed on cleanup.
func (e *env) connect(t *testing.T) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(e.b.ClientURL(), nats.UserInfo(hqUser, hqPassword), nats.Timeout(waitFor), nats.NoReconnect())
	if err != nil {
		t.Fatalf("NATS connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// authority returns an Authority with a connection of its own.
func (e *env) authority(t *testing.T, o authority.Options) *authority.Authority {
	t.Helper()
	nc := e.connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	a, err := authority.New(js, nc, e.key, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.conns[a] = nc
	return a
}

// run runs a.Run until the test ends and checks that it returns.
func (e *env) run(t *testing.T, a *authority.Authority) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run: got %v, want context.Canceled", err)
			}
		case <-time.After(waitFor):
			t.Errorf("Run did not return %v after its context was cancelled", waitFor)
		}
	})
	// Wait for Run's subscription (nothing else of this Authority holds
	// one now); the flush behind it makes sure the server has it, so a
	// request published after this is seen.
	nc := e.conns[a]
	waitUntil(t, "Run subscribes", func() bool {
		select {
		case err := <-done:
			t.Fatalf("Run returned at once: %v", err)
		default:
		}
		return nc.NumSubscriptions() > 0
	})
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// gateway is the gateway side of the journal, on NATS instead of MQTT:
// a real store and a journal.Applier fed, in order, by subscriptions to the
// centre's journal and the gateway's catch-up subject.
type gateway struct {
	t      *testing.T
	st     *store.Store
	ap     *journal.Applier
	topics wire.Topics
	nc     *nats.Conn
	in     chan *nats.Msg

	mu   sync.Mutex
	subs map[string]*nats.Subscription
	stop chan struct{}
	wg   sync.WaitGroup
}

func (e *env) gateway(t *testing.T, id string) *gateway {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "gateway.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	topics, err := wire.NewTopics(centre, id)
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{t: t, st: st, topics: topics, nc: e.connect(t), in: make(chan *nats.Msg, 4096),
		subs: map[string]*nats.Subscription{}, stop: make(chan struct{})}
	g.ap = journal.New(st, natsPublisher{g.nc}, journal.Options{
		Topics: topics, HQKey: e.pub, AskEvery: askEvery, Logger: testLogger(t),
	})
	g.wg.Go(g.loop)
	t.Cleanup(func() {
		close(g.stop)
		g.wg.Wait()
	})
	return g
}

// natsPublisher publishes the applier's catch-up requests on NATS.
type natsPublisher struct{ nc *nats.Conn }

func (p natsPublisher) Publish(_ context.Context, topic string, _ byte, _ bool, payload []byte) error {
	subject, err := wire.NATSSubject(topic)
	if err != nil {
		return err
	}
	return p.nc.Publish(subject, payload)
}

func (g *gateway) loop() {
	ctx := context.Background()
	for {
		select {
		case <-g.stop:
			return
		case m := <-g.in:
			var err error
			if topic, _ := wire.MQTTTopic(m.Subject); topic == g.topics.Journal() {
				err = g.ap.HandleEntry(ctx, m.Data)
			} else {
				err = g.ap.HandleCatchUp(ctx, m.Data)
			}
			if err != nil {
				g.t.Logf("gateway %s: %s: %v", g.topics.Gateway, m.Subject, err)
			}
		}
	}
}

// subscribe subscribes to an MQTT topic of the gateway, on NATS.
func (g *gateway) subscribe(topic string) {
	g.t.Helper()
	subject, err := wire.NATSSubject(topic)
	if err != nil {
		g.t.Fatal(err)
	}
	sub, err := g.nc.ChanSubscribe(subject, g.in)
	if err != nil {
		g.t.Fatal(err)
	}
	if err := g.nc.Flush(); err != nil {
		g.t.Fatal(err)
	}
	g.mu.Lock()
	g.subs[topic] = sub
	g.mu.Unlock()
}

func (g *gateway) unsubscribe(topic string) {
	g.t.Helper()
	g.mu.Lock()
	sub := g.subs[topic]
	delete(g.subs, topic)
	g.mu.Unlock()
	if err := sub.Unsubscribe(); err != nil {
		g.t.Fatal(err)
	}
	if err := g.nc.Flush(); err != nil {
		g.t.Fatal(err)
	}
}

// online subscribes to the gateway's journal topics and asks HQ to catch
// up, as the gateway does on every connection.
func (g *gateway) online() {
	g.t.Helper()
	g.subscribe(g.topics.Journal())
	g.subscribe(g.topics.JournalCatchUp())
	if err := g.ap.Connected(context.Background()); err != nil {
		g.t.Fatalf("Connected: %v", err)
	}
}

func (g *gateway) rev() int64 {
	g.t.Helper()
	info, err := g.st.MembershipInfo()
	if err != nil {
		g.t.Fatal(err)
	}
	return info.Revision
}

// waitRev waits until the gateway's store is at revision rev.
func (g *gateway) waitRev(rev int64) {
	g.t.Helper()
	waitUntil(g.t, fmt.Sprintf("gateway %s at revision %d", g.topics.Gateway, rev), func() bool { return g.rev() == rev })
}

// membership reads the gateway's store back as a membership, looking up
// what hq lists and checking that the store holds nothing more.
func (g *gateway) membership(hq store.Membership) store.Membership {
	g.t.Helper()
	info, err := g.st.MembershipInfo()
	if err != nil {
		g.t.Fatal(err)
	}
	out := store.Membership{Centre: hq.Centre, Revision: info.Revision, GeneratedAt: hq.GeneratedAt}
	err = g.st.View(func(snap access.Snapshot, _ []access.Session) error {
		for _, p := range hq.Plans {
			if gp, ok := snap.Plan(p.ID); ok {
				out.Plans = append(out.Plans, gp)
			}
		}
		for _, m := range hq.Members {
			if gm, ok := snap.Member(m.ID); ok {
				out.Members = append(out.Members, gm)
			}
		}
		for _, c := range hq.Cards {
			if gc, ok := snap.Card(c.UID); ok {
				out.Cards = append(out.Cards, gc)
			}
		}
		return nil
	})
	if err != nil {
		g.t.Fatal(err)
	}
	if info.Plans != len(out.Plans) || info.Members != len(out.Members) || info.Cards != len(out.Cards) {
		g.t.Errorf("gateway holds %d plans, %d members, %d cards; of HQ's it has %d, %d, %d",
			info.Plans, info.Members, info.Cards, len(out.Plans), len(out.Members), len(out.Cards))
	}
	return out
}

// assertSame checks that the gateway's store holds exactly HQ's snapshot.
func assertSame(t *testing.T, a *authority.Authority, g *gateway) {
	t.Helper()
	hq := snapshot(t, a)
	if got, want := mustJSON(t, g.membership(hq)), mustJSON(t, hq); got != want {
		t.Errorf("gateway %s membership:\n got %s\nwant %s", g.topics.Gateway, got, want)
	}
}

func snapshot(t *testing.T, a *authority.Authority) store.Membership {
	t.Helper()
	m, err := a.Snapshot(context.Background(), centre)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return m
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, waitFor)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testLogger sends logs to the test log when SEATHQ_TEST_LOG is set.
func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("SEATHQ_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// Test data.

func plan(id string) access.Plan {
	return access.Plan{
		ID: id, Name: "Plan " + id, Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday},
		Windows: []access.Window{{Start: access.Clock(9, 0), End: access.Clock(18, 0)}}, GraceDays: 3, PricePKR: 3500,
	}
}

func member(id, planID string) access.Member {
	return access.Member{
		ID: id, Name: "Member " + id, Status: access.StatusActive, PlanID: planID,
		ValidFrom: access.Date{Year: 2026, Month: time.November, Day: 1}, ValidUntil: access.Date{Year: 2026, Month: time.November, Day: 30},
		Seats: access.SeatRule{Kind: access.SeatZones, Zones: []string{"A", "B"}},
	}
}

func uid(n int) string { return fmt.Sprintf("04%06X", n) }

// script makes one change of every kind and returns the revision reached
// (scriptRevs), checking that each change got the next revision.
func script(t *testing.T, a *authority.Authority) int64 {
	t.Helper()
	ctx := context.Background()
	night := plan("night")
	night.Windows = []access.Window{{Start: access.Clock(20, 0), End: access.Clock(6, 0)}}
	odd := member("m.3@x", "day") // escaped in KV keys
	odd.Seats = access.SeatRule{Kind: access.SeatFixed, Seat: "A1"}
	steps := []func() (int64, error){
		func() (int64, error) { return a.PutPlan(ctx, centre, plan("day")) },
		func() (int64, error) { return a.PutPlan(ctx, centre, night) },
		func() (int64, error) { return a.PutMember(ctx, centre, member("m-1", "day")) },
		func() (int64, error) { return a.PutMember(ctx, centre, member("m-2", "night")) },
		func() (int64, error) { return a.PutCard(ctx, centre, access.Card{UID: uid(1), MemberID: "m-1"}) },
		func() (int64, error) { return a.PutCard(ctx, centre, access.Card{UID: uid(2), MemberID: "m-1"}) },
		func() (int64, error) { return a.PutCard(ctx, centre, access.Card{UID: uid(3), MemberID: "m-2"}) },
		func() (int64, error) { return a.RevokeCard(ctx, centre, uid(2)) },
		func() (int64, error) { return a.Suspend(ctx, centre, "m-2") },
		func() (int64, error) { return a.Resume(ctx, centre, "m-2") },
		func() (int64, error) { return a.Suspend(ctx, centre, "m-1") },
		func() (int64, error) { return a.DeleteMember(ctx, centre, "m-2") },
		func() (int64, error) { return a.DeletePlan(ctx, centre, "night") },
		func() (int64, error) { return a.PutMember(ctx, centre, odd) },
		func() (int64, error) {
			return a.PutCard(ctx, centre, access.Card{UID: "04:00:00:04", MemberID: "m.3@x"})
		},
	}
	start, err := a.Revision(ctx, centre)
	if err != nil {
		t.Fatal(err)
	}
	for i, step := range steps {
		rev, err := step()
		if err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
		if want := start + int64(i) + 1; rev != want {
			t.Fatalf("step %d: got revision %d, want %d", i+1, rev, want)
		}
	}
	return start + int64(len(steps))
}

const scriptRevs = 15

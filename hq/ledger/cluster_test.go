package ledger_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
	"github.com/pkfreelance/seatgate/hq/ledger"
	"github.com/pkfreelance/seatgate/sync/outbox"
)

// TestClusterNodeLoss: HQ on a 3-node cluster, EVENTS, CHAINS and LEDGER
// with 3 replicas, two ingesters and two ledgers. In the middle of three
// gateways' drains the node leading EVENTS is shut down. Every event is
// stored exactly once, in order, and the ledger counts every second once.
func TestClusterNodeLoss(t *testing.T) {
	begin := time.Now()
	p := ingesttest.NewPKI(t)
	nodes := ingesttest.StartCluster(t, 3, p.BrokerOptions(t))
	t.Logf("cluster up in %v", time.Since(begin))
	h := newHQ(t, ingesttest.URLs(nodes...))

	const sessions = 1000 // 2,000 events per gateway
	var devices []*device
	var totals []int64
	for i := range 3 {
		d := h.enrol(t, fmt.Sprintf("c-%d", i+1), "gw-1")
		totals = append(totals, ingesttest.Sessions(d.log, sessions, ingesttest.At("2026-11-26 08:00:00"),
			45*time.Minute, 15*time.Minute, "A1", "A2", "A3"))
		devices = append(devices, d)
	}
	io := ingest.Options{Replicas: 3, BatchTimeout: 30 * time.Second}
	h.startIngester(t, io)
	h.startIngester(t, io)

	// The node to lose: the leader of EVENTS, where the first ledger — the
	// one that will be pinned and hold events in flight — is connected.
	ctx := context.Background()
	stream, err := h.js.Stream(ctx, ingest.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 3 || info.Cluster == nil {
		t.Fatalf("EVENTS: %d replicas, cluster %+v; want 3", info.Config.Replicas, info.Cluster)
	}
	var victim *broker.Broker
	others := []*broker.Broker{}
	for _, n := range nodes {
		if n.Name() == info.Cluster.Leader {
			victim = n
		} else {
			others = append(others, n)
		}
	}
	if victim == nil {
		t.Fatalf("EVENTS leader %q is none of the nodes", info.Cluster.Leader)
	}
	lo := ledger.Options{Replicas: 3, PinnedTTL: 3 * time.Second, AckWait: 5 * time.Second}
	l, _ := h.startLedgerOn(t, lo, ingesttest.URLs(append([]*broker.Broker{victim}, others...)...), nats.DontRandomize())

	begin = time.Now()
	var gws []*ingesttest.Gateway
	for _, d := range devices {
		gws = append(gws, ingesttest.StartGateway(t, h.nc, d.topics, d.key, h.hqPub, d.log,
			outbox.Options{BatchSize: 20, Window: 200, Rate: 50, AckTimeout: time.Second, Retry: 200 * time.Millisecond}))
	}
	ingesttest.WaitFor(t, "the first ledger pinned", drainTime, func() bool { return l.Stats().Folded > 0 })
	l2, _ := h.startLedgerOn(t, lo, ingesttest.URLs(others...))
	ingesttest.WaitFor(t, "a third delivered", drainTime, func() bool { return devices[0].log.Delivered() >= 2*sessions/3 })
	t.Logf("after %v, %d of %d delivered, %d folded: shutting down %s, leader of EVENTS", time.Since(begin),
		devices[0].log.Delivered(), 2*sessions, l.Stats().Folded+l2.Stats().Folded, victim.Name())
	if info, err := stream.Info(ctx); err == nil && info.Cluster != nil && info.Cluster.Leader != victim.Name() {
		t.Logf("(EVENTS is now led by %s)", info.Cluster.Leader)
	}
	victim.Shutdown()
	victim.WaitForShutdown()

	for _, gw := range gws {
		gw.WaitDelivered(t, 2*sessions, drainTime)
	}
	t.Logf("every event delivered after %v", time.Since(begin))
	for _, d := range devices {
		stored := ingesttest.StoredEvents(t, h.js, d.topics.Centre, d.topics.Gateway)
		logged := d.log.All()
		if len(stored) != len(logged) {
			t.Fatalf("%s: EVENTS holds %d events, want %d", d.topics.Centre, len(stored), len(logged))
		}
		for i := range logged {
			if stored[i].Seq != logged[i].Seq || stored[i].Hash != logged[i].Hash {
				t.Fatalf("%s: stored event %d is seq %d, want %d", d.topics.Centre, i, stored[i].Seq, logged[i].Seq)
			}
		}
	}

	for i, d := range devices {
		waitFoldedFor(t, l, d, 2*sessions, drainTime)
		days := query(t, l, d.topics.Centre, date("2026-11-25"), date("2027-01-31"))
		if got := sum(days); got != totals[i] {
			t.Errorf("%s: seat-seconds: got %d, want %d", d.topics.Centre, got, totals[i])
		}
		for _, day := range days {
			if !day.Verified {
				t.Errorf("%s %s: not verified (%+v)", d.topics.Centre, day.Date, day)
			}
		}
	}
	t.Logf("folded and checked after %v; ledgers %+v, %+v", time.Since(begin), l.Stats(), l2.Stats())
}

func waitFoldedFor(t *testing.T, l *ledger.Ledger, d *device, seq uint64, timeout time.Duration) {
	t.Helper()
	ingesttest.WaitFor(t, "folded up to "+d.topics.Centre, timeout, func() bool {
		got, err := l.Folded(context.Background(), d.topics.Centre, d.topics.Gateway)
		return err == nil && got >= seq
	})
}

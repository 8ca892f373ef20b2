package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
	"github.com/pkfreelance/seatgate/sync/outbox"
)

// TestTwoInstancesStoreEachEventOnce: two Ingesters share the batches of
// three gateways draining at once; every event is stored exactly once, in
// order, and both instances do part of the work.
func TestTwoInstancesStoreEachEventOnce(t *testing.T) {
	h := newHQ(t)
	const sessions = 1500 // 3,000 events per gateway
	var gws []*gateway
	for i := range 3 {
		g := h.enrol(t, "lhr-01", fmt.Sprintf("gw-%d", i+1))
		ingesttest.Sessions(g.log, sessions, t0, 30*time.Minute, time.Minute, "A1", "A2")
		gws = append(gws, g)
	}
	a, b := h.start(t, options(t)), h.start(t, options(t))

	start := time.Now()
	var running []*ingesttest.Gateway
	for _, g := range gws {
		running = append(running, ingesttest.StartGateway(t, h.nc, g.topics, g.key, h.hqPub, g.log,
			outbox.Options{BatchSize: 50, Window: 500, Rate: 1000, AckTimeout: time.Second}))
	}
	for _, gw := range running {
		gw.WaitDelivered(t, 2*sessions, drainTime)
	}
	t.Logf("3 × %d events through 2 instances in %v", 2*sessions, time.Since(start))
	t.Logf("instance a: %+v", a.Stats())
	t.Logf("instance b: %+v", b.Stats())

	for _, g := range gws {
		h.checkStored(t, g, 2*sessions)
	}
	if a.Stats().Stored == 0 || b.Stats().Stored == 0 {
		t.Errorf("stored batches: a %d, b %d; want both to have worked", a.Stats().Stored, b.Stats().Stored)
	}
	for _, in := range []*instance{a, b} {
		if s := in.Stats(); s.Errors != 0 || s.Forks+s.Resets != 0 || len(s.Rejected) != 0 {
			t.Errorf("stats: %+v, want no errors, anomalies or rejections", s)
		}
	}
}

// TestKillingAnInstanceLosesNothing: one of two Ingesters is stopped in the
// middle of a drain, with batches in hand; the gateway resends what was not
// acknowledged and the other instance stores it, each event once.
func TestKillingAnInstanceLosesNothing(t *testing.T) {
	h := newHQ(t)
	const sessions = 2000
	g1 := h.enrol(t, "lhr-01", "gw-1")
	g2 := h.enrol(t, "isb-02", "gw-1")
	for _, g := range []*gateway{g1, g2} {
		ingesttest.Sessions(g.log, sessions, t0, 30*time.Minute, time.Minute, "A1", "A2", "A3")
	}
	a, b := h.start(t, options(t)), h.start(t, options(t))

	start := time.Now()
	o := outbox.Options{BatchSize: 20, Window: 200, Rate: 100, AckTimeout: time.Second}
	gw1 := ingesttest.StartGateway(t, h.nc, g1.topics, g1.key, h.hqPub, g1.log, o)
	gw2 := ingesttest.StartGateway(t, h.nc, g2.topics, g2.key, h.hqPub, g2.log, o)

	ingesttest.WaitFor(t, "a third delivered", drainTime, func() bool { return g1.log.Delivered() >= 2*sessions/3 })
	before := b.Stats()
	a.stop()
	t.Logf("stopped instance a after %v: %+v", time.Since(start), a.Stats())

	gw1.WaitDelivered(t, 2*sessions, drainTime)
	gw2.WaitDelivered(t, 2*sessions, drainTime)
	t.Logf("drained in %v; instance b: %+v", time.Since(start), b.Stats())
	h.checkStored(t, g1, 2*sessions)
	h.checkStored(t, g2, 2*sessions)
	if after := b.Stats(); after.Stored == before.Stored {
		t.Errorf("instance b stored nothing after a stopped")
	}
}

// TestHeadBehindTheStream: an instance that stored events and died before
// advancing the head leaves the head behind EVENTS. The next batch finds
// that out, within the de-duplication window (duplicates are read back and
// compared) and after it (the stream refuses an append that is not
// directly after the last event, and the head is repaired from it), and no
// event is stored twice.
func TestHeadBehindTheStream(t *testing.T) {
	h := newHQ(t)
	g := h.enrol(t, "lhr-01", "gw-1")
	ingesttest.Sessions(g.log, 30, t0, time.Hour, time.Minute, "A1")
	o := options(t)
	o.DedupeWindow = time.Second
	in := h.start(t, o)
	acks := h.acks(t, g)
	kv, err := h.js.KeyValue(context.Background(), ingest.ChainsBucket)
	if err != nil {
		t.Fatal(err)
	}
	all := g.log.All()

	// rewind sets the head back to event seq, as the dead instance left it.
	rewind := func(seq uint64) {
		t.Helper()
		hd := h.head(t, g)
		hd.Seq, hd.Hash, hd.StreamSeq, hd.Checkpoints = seq, all[seq-1].Hash, seq, nil // one gateway: stream seq = event seq
		b, _ := json.Marshal(hd)
		if _, err := kv.Put(context.Background(), ingest.HeadKey("lhr-01", "gw-1"), b); err != nil {
			t.Fatal(err)
		}
	}

	h.publish(t, g, g.batch(t, 1, 20))
	expectAck(t, acks, g, 20)
	rewind(10)
	h.publish(t, g, g.batch(t, 11, 30))
	expectAck(t, acks, g, 30)
	h.checkStored(t, g, 30)

	h.publish(t, g, g.batch(t, 31, 40))
	expectAck(t, acks, g, 40)
	rewind(25)
	time.Sleep(1500 * time.Millisecond) // past the de-duplication window
	h.publish(t, g, g.batch(t, 26, 50))
	expectAck(t, acks, g, 50)
	h.checkStored(t, g, 50)
	if s := in.Stats(); s.Errors != 0 || s.Forks != 0 {
		t.Errorf("stats: %+v, want no errors or forks", s)
	}
}

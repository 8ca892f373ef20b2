package bridgebench_test

import (
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/identity"
)

// Sizes of TestLossUnderSIGKILL: a stream of lossEvents events, and the
// process holding the queue killed once lossKillAt of them have been
// acknowledged to their sender (the desk, or the publisher's PUBACK).
// The bridge's stream comes at lossRate events a second, so that its edge
// is killed some seconds in, after several of its autosaves (it writes its
// store every second at best, in fact every other second: Mosquitto 2.0
// saves when more than autosave_interval whole seconds have passed).
const (
	lossEvents = 2000
	lossKillAt = 1500
	lossRate   = 500
)

// TestLossUnderSIGKILL kills the process that holds the queue with SIGKILL
// in the middle of a stream, restarts it and lets everything that survived
// reach HQ, then counts the events whose sender had been told they were
// safe and that HQ never got. Ours must lose none; the bridge's losses
// are reported, not judged.
func TestLossUnderSIGKILL(t *testing.T) {
	t.Run("ours", testOursLoss)
	for _, s := range []settings{durable, defaults} {
		t.Run("bridge/"+s.name, func(t *testing.T) { testBridgeLoss(t, s, true) })
		// The same without the crash: what the queue limit alone drops.
		t.Run("bridge/"+s.name+"/no-crash", func(t *testing.T) { testBridgeLoss(t, s, false) })
	}
}

// testOursLoss: a gateway process taps lossEvents events, one committed
// (fsynced) at a time, while it drains them to HQ at the gateway's default
// rate; it is killed in the middle, started again, and drains the rest.
func testOursLoss(t *testing.T) {
	dir := t.TempDir()
	key, err := identity.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := startHQ(t, key.Public())
	buildLog(t, filepath.Join(dir, "seatgate.db"), 0)
	cfg := gatewayConfig{Dir: dir, Broker: h.Broker, HQKey: base64.StdEncoding.EncodeToString(h.Pub), Taps: lossEvents}

	g := startGateway(t, cfg)
	at := g.waitFor("events committed and in flight", 60*time.Second, func(r report) bool {
		return r.Committed >= lossKillAt && r.Delivered > 0 && r.Delivered < r.Committed
	})
	g.kill()
	// Every "committed" line written before the kill is an answer a desk
	// gave, read or not yet read by us.
	acked := g.out.get().Committed

	cfg.Taps = 0
	g = startGateway(t, cfg)
	last := g.waitFor("the log's last event", 20*time.Second, func(r report) bool { return r.Last >= 0 }).Last
	g.waitFor("every event delivered", 60*time.Second, func(r report) bool { return r.Delivered >= last })
	g.stop()

	stored := h.stored(t)
	have := make(map[uint64]bool, len(stored))
	for _, ev := range stored {
		have[ev.Seq] = true
	}
	lost := 0
	for seq := 1; seq <= acked; seq++ {
		if !have[uint64(seq)] {
			lost++
		}
	}
	t.Logf("ours: killed with %d events committed and %d delivered (%d in the outbox); %d answered at the desk in all, "+
		"%d in the log after the restart; HQ stored %d; lost %d", at.Committed, at.Delivered, at.Committed-at.Delivered,
		acked, last, len(stored), lost)
	if lost != 0 {
		t.Errorf("ours lost %d events that the desk had acknowledged, want 0", lost)
	}
	if acked > last {
		t.Errorf("the log ends at %d after the restart, but the desk acknowledged %d", last, acked)
	}
	if len(stored) != last {
		t.Errorf("HQ stored %d events, want the whole log: %d", len(stored), last)
	}
	for i, ev := range stored {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("HQ's event %d has seq %d: not the log in order", i+1, ev.Seq)
		}
	}
	if err := store.VerifyChain(store.GenesisHash, stored); err != nil {
		t.Errorf("HQ's copy of the chain: %v", err)
	}
}

// testBridgeLoss: the HQ link stalls, so the edge queues, and an
// application publishes events to the edge. With crash, they come
// lossRate a second, and once lossKillAt of them have been PUBACKed the
// edge is killed and started again; without, all lossEvents come as fast
// as the edge takes them. Then the link is restored.
func testBridgeLoss(t *testing.T, s settings, crash bool) {
	payloads := eventPayloads(t, lossEvents)
	b := startBridge(t, s, lossEvents)
	b.Link.Stall()
	p := newPublisher(t, b.Edge.Addr, lossEvents)
	if crash {
		enough := p.reached(lossKillAt)
	publish:
		for i, pl := range payloads {
			select {
			case <-enough:
				break publish
			default:
			}
			p.publish(topicEvents, i+1, pl)
			if i%10 == 9 {
				time.Sleep(10 * time.Second / lossRate)
			}
		}
		select {
		case <-enough:
		case <-time.After(30 * time.Second):
			t.Fatalf("the edge PUBACKed fewer than %d of %d events", lossKillAt, lossEvents)
		}
		b.Edge.Kill()
	} else {
		for i, pl := range payloads {
			p.publish(topicEvents, i+1, pl)
		}
	}
	acked := p.close()
	b.Link.Release()
	if crash {
		b.Edge.Start()
	}
	b.drained(t)

	n := 0
	for _, ok := range acked {
		if ok {
			n++
		}
	}
	got, _ := b.Sub.received()
	lost := 0
	for seq, ok := range acked {
		if ok && !b.Sub.has(seq) {
			lost++
		}
	}
	what := "edge killed and restarted"
	if !crash {
		what = "no crash"
	}
	t.Logf("bridge (%s, %s): %d events PUBACKed by the edge while its HQ link was stalled; HQ received %d; lost %d",
		s.name, what, n, got, lost)
}

// eventPayloads are n events of a gateway's log, one JSON message each, as
// an application publishing to a bridge would send them.
func eventPayloads(t testing.TB, n int) [][]byte {
	t.Helper()
	return marshalEvents(t, buildLog(t, filepath.Join(t.TempDir(), "seatgate.db"), n))
}

func marshalEvents(t testing.TB, evs []store.Event) [][]byte {
	t.Helper()
	out := make([][]byte, len(evs))
	for i, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

var topicEvents = topics.Events()

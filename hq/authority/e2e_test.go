package authority_test

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/hq/authority"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// These tests run HQ's authority against the gateway's side of the
// journal (a real store and sync/journal.Applier), over NATS.

func TestOnlineGatewayFollowsEveryChange(t *testing.T) {
	e := newEnv(t)
	a := e.authority(t, authority.Options{})
	e.run(t, a)
	g := e.gateway(t, "gw-1")
	g.online()

	script(t, a)
	g.waitRev(scriptRevs)
	assertSame(t, a, g)
	if st := g.ap.Stats(); st.Applied != scriptRevs || st.Rejected != 0 || st.Snapshot != 0 {
		t.Errorf("gateway stats %+v: want %d applied, nothing rejected, no snapshot", st, scriptRevs)
	}

	// A change reaches an online gateway well within a second: it is a
	// direct publish.
	start := time.Now()
	rev, err := a.Resume(context.Background(), centre, "m-1")
	if err != nil {
		t.Fatal(err)
	}
	g.waitRev(rev)
	if d := time.Since(start); d > time.Second {
		t.Errorf("change to gateway took %v, want under 1 s", d)
	}
	t.Logf("change to gateway: %v", time.Since(start))
}

func TestLateGatewayCatchesUpWithEntries(t *testing.T) {
	e := newEnv(t)
	a := e.authority(t, authority.Options{})
	e.run(t, a)
	script(t, a)

	g := e.gateway(t, "gw-1")
	g.online() // asks from revision 1
	g.waitRev(scriptRevs)
	assertSame(t, a, g)
	if st := g.ap.Stats(); st.Applied != scriptRevs || st.Snapshot != 0 {
		t.Errorf("gateway stats %+v: want %d entries applied, no snapshot", st, scriptRevs)
	}
	if st := a.Stats(); st.EntryAnswers != 1 || st.EntriesSent != scriptRevs || st.SnapAnswers != 0 {
		t.Errorf("authority stats %+v: want one answer of %d entries", st, scriptRevs)
	}
}

func TestGatewayThatMissedEntriesAsksAndCatchesUp(t *testing.T) {
	e := newEnv(t)
	a := e.authority(t, authority.Options{})
	e.run(t, a)
	g := e.gateway(t, "gw-1")
	g.online()
	ctx := context.Background()
	if _, err := a.PutPlan(ctx, centre, plan("day")); err != nil {
		t.Fatal(err)
	}
	g.waitRev(1)

	// The gateway misses three entries (QoS 0 from HQ: a dropped link
	// loses them), then sees the fourth: a gap, so it asks.
	g.unsubscribe(g.topics.Journal())
	for _, id := range []string{"m-1", "m-2", "m-3"} {
		if _, err := a.PutMember(ctx, centre, member(id, "day")); err != nil {
			t.Fatal(err)
		}
	}
	g.subscribe(g.topics.Journal())
	// The applier asks at most once per AskEvery, and only when an entry
	// shows the gap: let the request it made on connecting age first.
	time.Sleep(2 * askEvery)
	if _, err := a.PutCard(ctx, centre, access.Card{UID: uid(1), MemberID: "m-3"}); err != nil {
		t.Fatal(err)
	}
	g.waitRev(5)
	assertSame(t, a, g)
	if st := g.ap.Stats(); st.Asks < 2 { // on connecting, and on the gap
		t.Errorf("gateway stats %+v: want a catch-up request for the gap", st)
	}
}

func TestGatewayTooFarBehindGetsSnapshot(t *testing.T) {
	e := newEnv(t)
	a := e.authority(t, authority.Options{CatchUpEntries: 5})
	e.run(t, a)
	script(t, a)

	g := e.gateway(t, "gw-1")
	g.online()
	g.waitRev(scriptRevs)
	assertSame(t, a, g)
	if st := g.ap.Stats(); st.Snapshot != 1 || st.Applied != 0 {
		t.Errorf("gateway stats %+v: want one snapshot, no entries", st)
	}
	if st := a.Stats(); st.SnapAnswers != 1 || st.ChunksSent != 1 || st.EntryAnswers != 0 {
		t.Errorf("authority stats %+v: want one snapshot of one chunk", st)
	}

	// The journal goes on from the snapshot's revision.
	rev, err := a.Resume(context.Background(), centre, "m-1")
	if err != nil {
		t.Fatal(err)
	}
	g.waitRev(rev)
	assertSame(t, a, g)
}

func TestGatewayWithinThresholdGetsOnlyTheMissingEntries(t *testing.T) {
	e := newEnv(t)
	a := e.authority(t, authority.Options{CatchUpEntries: 5})
	e.run(t, a)
	g := e.gateway(t, "gw-1")
	g.online()
	script(t, a)
	g.waitRev(scriptRevs)

	g.unsubscribe(g.topics.Journal())
	ctx := context.Background()
	for _, id := range []string{"m-5", "m-6", "m-7"} {
		if _, err := a.PutMember(ctx, centre, member(id, "day")); err != nil {
			t.Fatal(err)
		}
	}
	g.subscribe(g.topics.Journal())
	if err := g.ap.Connected(ctx); err != nil { // as after a reconnection
		t.Fatal(err)
	}
	g.waitRev(scriptRevs + 3)
	assertSame(t, a, g)
	if st := a.Stats(); st.EntriesSent != 3 || st.SnapAnswers != 0 {
		t.Errorf("authority stats %+v: want the 3 missing entries, no snapshot", st)
	}
}

func TestReplayedOldEntryChangesNothing(t *testing.T) {
	e := newEnv(t)
	a := e.authority(t, authority.Options{})
	e.run(t, a)
	g := e.gateway(t, "gw-1")
	g.online()
	script(t, a)
	g.waitRev(scriptRevs)
	before := mustJSON(t, g.membership(snapshot(t, a)))

	// Revision 10 resumed m-2, who is deleted since: replayed on both of
	// the gateway's topics, it is stale.
	js, err := jetstream.New(e.conns[a])
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(context.Background(), authority.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	old, err := s.GetMsg(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	nc := e.connect(t)
	for _, topic := range []string{g.topics.Journal(), g.topics.JournalCatchUp()} {
		subject, _ := wire.NATSSubject(topic)
		if err := nc.Publish(subject, old.Data); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "gateway sees the replays", func() bool { return g.ap.Stats().Stale == 2 })
	if got := g.rev(); got != scriptRevs {
		t.Errorf("revision after replay: got %d, want %d", got, scriptRevs)
	}
	if after := mustJSON(t, g.membership(snapshot(t, a))); after != before {
		t.Errorf("membership changed by a replay:\n got %s\nwant %s", after, before)
	}
}

func TestEntrySignedByAnotherKeyIsRejected(t *testing.T) {
	e := newEnv(t)
	a := e.authority(t, authority.Options{})
	e.run(t, a)
	g := e.gateway(t, "gw-1")
	g.online()
	script(t, a)
	g.waitRev(scriptRevs)

	_, rogue, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	forged := wire.JournalEntry{V: wire.Version, Centre: centre, Rev: scriptRevs + 1, Time: time.Now(),
		Op: wire.OpResume, ID: "m-1"}
	if err := wire.Sign(rogue, &forged); err != nil {
		t.Fatal(err)
	}
	b, err := wire.Encode(&forged)
	if err != nil {
		t.Fatal(err)
	}
	nc := e.connect(t)
	for _, topic := range []string{g.topics.Journal(), g.topics.JournalCatchUp()} {
		subject, _ := wire.NATSSubject(topic)
		if err := nc.Publish(subject, b); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "gateway rejects the forgeries", func() bool { return g.ap.Stats().Rejected == 2 })
	if got := g.rev(); got != scriptRevs {
		t.Fatalf("revision after a forged entry: got %d, want %d", got, scriptRevs)
	}

	// HQ's own next entry, at that revision, is applied.
	rev, err := a.PutMember(context.Background(), centre, member("m-8", "day"))
	if err != nil {
		t.Fatal(err)
	}
	g.waitRev(rev)
	assertSame(t, a, g)
}

func TestTwoGatewaysOfACentreEndIdentical(t *testing.T) {
	e := newEnv(t)
	a := e.authority(t, authority.Options{CatchUpEntries: 10})
	b := e.authority(t, authority.Options{CatchUpEntries: 10}) // a second HQ instance sharing the requests
	e.run(t, a)
	e.run(t, b)
	online := e.gateway(t, "gw-1")
	online.online()
	script(t, a)
	late := e.gateway(t, "gw-2")
	late.online()
	online.waitRev(scriptRevs)
	late.waitRev(scriptRevs)
	assertSame(t, a, online)
	assertSame(t, b, late)
	if st := late.ap.Stats(); st.Snapshot != 1 {
		t.Errorf("late gateway stats %+v: want a snapshot (%d entries behind, threshold 10)", st, scriptRevs)
	}
}

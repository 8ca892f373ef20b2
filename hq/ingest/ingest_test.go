package ingest_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
	"github.com/pkfreelance/seatgate/sync/outbox"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// TestDrainsAGatewayOutbox: the real outbox drainer sends 2,000 events in
// signed batches; HQ stores each once, in order, and acknowledges them all.
func TestDrainsAGatewayOutbox(t *testing.T) {
	h := newHQ(t)
	g := h.enrol(t, "lhr-01", "gw-1")
	ingesttest.Sessions(g.log, 1000, t0, 40*time.Minute, 5*time.Minute, "A1", "A2", "B1")
	in := h.start(t, options(t))

	start := time.Now()
	gw := ingesttest.StartGateway(t, h.nc, g.topics, g.key, h.hqPub, g.log,
		outbox.Options{BatchSize: 100, Window: 500, Rate: 1000, AckTimeout: 2 * time.Second})
	gw.WaitDelivered(t, 2000, drainTime)
	t.Logf("2000 events in %v (%+v)", time.Since(start), in.Stats())

	h.checkStored(t, g, 2000)
	hd := h.head(t, g)
	if last := g.log.All()[1999]; hd.Seq != 2000 || hd.Hash != last.Hash || hd.Genesis != g.log.All()[0].Hash {
		t.Errorf("head: got seq %d hash %.12s…, want 2000 %.12s…", hd.Seq, hd.Hash, last.Hash)
	}
	if len(hd.Anomalies) != 0 || !hd.SuspectSince.IsZero() {
		t.Errorf("head anomalies: got %+v, want none", hd.Anomalies)
	}
	s := in.Stats()
	if s.Events != 2000 || s.Errors != 0 || len(s.Rejected) != 0 || s.Forks+s.Resets != 0 {
		t.Errorf("stats: got %+v, want 2000 events, no errors, rejections or anomalies", s)
	}
	if s.Batches != s.Stored+s.Duplicates+s.Gaps {
		t.Errorf("stats: %d batches, but %d stored + %d duplicates + %d gaps", s.Batches, s.Stored, s.Duplicates, s.Gaps)
	}
}

// TestDuplicatesAreAcknowledgedAgain: a batch sent twice is stored once and
// acknowledged twice; a batch overlapping the head stores only what is new.
func TestDuplicatesAreAcknowledgedAgain(t *testing.T) {
	h := newHQ(t)
	g := h.enrol(t, "lhr-01", "gw-1")
	ingesttest.Sessions(g.log, 10, t0, time.Hour, time.Minute, "A1")
	in := h.start(t, options(t))
	acks := h.acks(t, g)

	h.publish(t, g, g.batch(t, 1, 10))
	expectAck(t, acks, g, 10)
	h.publish(t, g, g.batch(t, 1, 10))
	expectAck(t, acks, g, 10)
	h.publish(t, g, g.batch(t, 4, 8))
	expectAck(t, acks, g, 10)
	h.publish(t, g, g.batch(t, 6, 15))
	expectAck(t, acks, g, 15)

	h.checkStored(t, g, 15)
	s := in.Stats()
	if s.Stored != 2 || s.Duplicates != 2 || s.Events != 15 {
		t.Errorf("stats: got %d stored, %d duplicates, %d events; want 2, 2, 15", s.Stored, s.Duplicates, s.Events)
	}
}

// TestGapIsNotStored: a batch beyond the head is not stored; HQ
// acknowledges its head so that the gateway resends from there.
func TestGapIsNotStored(t *testing.T) {
	h := newHQ(t)
	g := h.enrol(t, "lhr-01", "gw-1")
	g2 := h.enrol(t, "lhr-01", "gw-2")
	ingesttest.Sessions(g.log, 15, t0, time.Hour, time.Minute, "A1")
	ingesttest.Sessions(g2.log, 5, t0, time.Hour, time.Minute, "B1")
	o := options(t)
	o.GapWait = 300 * time.Millisecond
	in := h.start(t, o)
	acks := h.acks(t, g)

	h.publish(t, g, g.batch(t, 1, 10))
	expectAck(t, acks, g, 10)
	start := time.Now()
	h.publish(t, g, g.batch(t, 21, 30))
	expectAck(t, acks, g, 10)
	t.Logf("gap acknowledged after %v (GapWait %v)", time.Since(start), o.GapWait)
	h.checkStored(t, g, 10)
	hd := h.head(t, g)
	if len(hd.Anomalies) != 1 || hd.Anomalies[0].Kind != ingest.AnomalyGap || hd.Anomalies[0].Seq != 11 {
		t.Errorf("anomalies: got %+v, want one gap at 11", hd.Anomalies)
	}
	if !hd.SuspectSince.IsZero() {
		t.Errorf("a gap made the gateway suspect since %v", hd.SuspectSince)
	}

	// The gateway resends from the head: the chain continues.
	h.publish(t, g, g.batch(t, 11, 30))
	expectAck(t, acks, g, 30)
	h.checkStored(t, g, 30)

	// Before the first event there is nothing to acknowledge.
	acks2 := h.acks(t, g2)
	h.publish(t, g2, g2.batch(t, 3, 10))
	waitBatches(t, 4, in)
	expectNoAck(t, acks2)
	if s := in.Stats(); s.Gaps != 2 || s.Stored != 2 {
		t.Errorf("stats: got %d gaps, %d stored; want 2, 2", s.Gaps, s.Stored)
	}
}

// TestRejections: whatever is wrong with a batch, it is counted by reason,
// not acknowledged, and changes nothing.
func TestRejections(t *testing.T) {
	h := newHQ(t)
	g := h.enrol(t, "lhr-01", "gw-1")
	other := h.enrol(t, "lhr-01", "gw-2")
	ingesttest.Sessions(g.log, 10, t0, time.Hour, time.Minute, "A1")
	ingesttest.Sessions(other.log, 10, t0, time.Hour, time.Minute, "B1")
	_, strangerKey := ingesttest.Key(t)
	in := h.start(t, options(t))
	acks := h.acks(t, g)
	acksOther := h.acks(t, other)

	h.publish(t, g, g.batch(t, 1, 10))
	expectAck(t, acks, g, 10)
	ingesttest.Sessions(g.log, 10, t0.Add(24*time.Hour), time.Hour, time.Minute, "A1")
	all := g.log.All()
	valid := g.batch(t, 11, 20)

	tampered := append([]store.Event(nil), all[10:20]...)
	tampered[3].Seat = "Z9" // changed after hashing: re-signed, but it no longer chains
	unknown := wire.Topics{Centre: "khi-03", Gateway: "gw-9"}

	tests := []struct {
		name    string
		topics  wire.Topics
		payload []byte
		want    ingest.Reason
	}{
		{"signed by another key", g.topics, ingesttest.Batch(t, strangerKey, g.topics, 1, all[9].Hash, all[10:20]), ingest.ReasonBadSignature},
		{"signed by another gateway", g.topics, ingesttest.Batch(t, other.key, g.topics, 1, all[9].Hash, all[10:20]), ingest.ReasonBadSignature},
		{"unsigned", g.topics, unsigned(t, valid), ingest.ReasonBadSignature},
		{"unknown gateway", unknown, ingesttest.Batch(t, strangerKey, unknown, 1, all[9].Hash, all[10:20]), ingest.ReasonUnknownGateway},
		{"another gateway's batch on this topic", other.topics, valid, ingest.ReasonTopic},
		{"garbage", g.topics, []byte("\x00\x01 not json"), ingest.ReasonMalformed},
		{"truncated", g.topics, valid[:len(valid)/2], ingest.ReasonMalformed},
		{"trailing data", g.topics, append(append([]byte(nil), valid...), []byte(`{"v":1}`)...), ingest.ReasonMalformed},
		{"oversized", g.topics, append(append([]byte(nil), valid...), bytes.Repeat([]byte(" "), wire.MaxPayload)...), ingest.ReasonTooLarge},
		{"version 2", g.topics, []byte(strings.Replace(string(valid), `"v":1`, `"v":2`, 1)), ingest.ReasonVersion},
		{"inconsistent", g.topics, []byte(strings.Replace(string(valid), `"last":20`, `"last":21`, 1)), ingest.ReasonInvalid},
		{"events that do not chain", g.topics, ingesttest.Batch(t, g.key, g.topics, 1, all[9].Hash, tampered), ingest.ReasonBrokenChain},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.publishOn(t, tt.topics, tt.payload)
			waitBatches(t, uint64(i+2), in)
			if got := in.Stats().Rejected[tt.want]; got == 0 {
				t.Errorf("rejected as %s: got %d, want it counted (stats %+v)", tt.want, got, in.Stats().Rejected)
			}
		})
	}
	expectNoAck(t, acks)
	expectNoAck(t, acksOther)
	s := in.Stats()
	var rejected uint64
	for _, n := range s.Rejected {
		rejected += n
	}
	if rejected != uint64(len(tests)) || s.Stored != 1 || s.Errors != 0 {
		t.Errorf("stats: got %+v, want %d rejected, 1 stored", s, len(tests))
	}
	h.checkStored(t, g, 10)
	if hd := h.head(t, g); hd.Seq != 10 {
		t.Errorf("head: got %d, want 10", hd.Seq)
	}
	if hd := h.head(t, other); hd.Seq != 0 || len(hd.Anomalies) != 0 {
		t.Errorf("head of the other gateway: got %+v, want none", hd)
	}
	// The signed batch that does not chain is evidence of a changed log.
	hd := h.head(t, g)
	if len(hd.Anomalies) != 1 || hd.Anomalies[0].Kind != ingest.AnomalyFork || hd.Anomalies[0].Seq != 14 {
		t.Errorf("anomalies: got %+v, want a fork at 14", hd.Anomalies)
	}

	// The valid batch still goes through.
	h.publish(t, g, valid)
	expectAck(t, acks, g, 20)
}

// unsigned strips the signature off a signed batch.
func unsigned(t *testing.T, payload []byte) []byte {
	t.Helper()
	b, err := wire.DecodeEventBatch(payload)
	if err != nil {
		t.Fatal(err)
	}
	b.Sig = ""
	p, err := wire.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestForkAndResetAreRefused: another history for events HQ holds, or a
// log started afresh, is not stored, not acknowledged, and recorded.
func TestForkAndResetAreRefused(t *testing.T) {
	h := newHQ(t)
	g := h.enrol(t, "lhr-01", "gw-1")
	ingesttest.Sessions(g.log, 10, t0, time.Hour, time.Minute, "A1") // events 1..20
	in := h.start(t, options(t))
	acks := h.acks(t, g)
	h.publish(t, g, g.batch(t, 1, 10))
	expectAck(t, acks, g, 10)

	// The same device key, but event 7 onwards rewritten.
	forked := &gateway{topics: g.topics, key: g.key, log: &ingesttest.Log{}}
	for _, e := range g.log.All()[:6] {
		forked.log.Append(e)
	}
	ingesttest.Sessions(forked.log, 5, t0.Add(48*time.Hour), time.Hour, time.Minute, "A1")

	t.Run("fork beyond the head", func(t *testing.T) {
		h.publish(t, g, forked.batch(t, 7, 14))
		waitBatches(t, 2, in)
		expectNoAck(t, acks)
		if s := in.Stats(); s.Forks != 1 {
			t.Errorf("forks: got %d, want 1", s.Forks)
		}
	})
	t.Run("fork resent right after an acknowledged batch", func(t *testing.T) {
		h.publish(t, g, forked.batch(t, 11, 14))
		waitBatches(t, 3, in)
		expectNoAck(t, acks)
	})
	t.Run("reset", func(t *testing.T) {
		fresh := &gateway{topics: g.topics, key: g.key, log: &ingesttest.Log{}}
		ingesttest.Sessions(fresh.log, 2, t0.Add(72*time.Hour), time.Hour, time.Minute, "A1")
		h.publish(t, g, fresh.batch(t, 1, 4))
		waitBatches(t, 4, in)
		expectNoAck(t, acks)
		if s := in.Stats(); s.Resets != 1 {
			t.Errorf("resets: got %d, want 1", s.Resets)
		}
	})

	h.checkStored(t, g, 10)
	hd := h.head(t, g)
	if hd.Seq != 10 || hd.SuspectSince.IsZero() {
		t.Errorf("head: got seq %d suspect since %v, want 10 and suspect", hd.Seq, hd.SuspectSince)
	}
	var kinds []ingest.AnomalyKind
	for _, a := range hd.Anomalies {
		kinds = append(kinds, a.Kind)
	}
	if len(kinds) != 3 || kinds[0] != ingest.AnomalyFork || kinds[1] != ingest.AnomalyFork || kinds[2] != ingest.AnomalyReset {
		t.Errorf("anomalies: got %+v, want fork, fork, reset", hd.Anomalies)
	}

	// The same refused batch again is counted but not recorded twice.
	h.publish(t, g, forked.batch(t, 7, 14))
	waitBatches(t, 5, in)
	if hd := h.head(t, g); len(hd.Anomalies) != 3 || hd.AnomalyCounts[ingest.AnomalyFork] != 2 {
		t.Errorf("after a resend: %d anomalies, counts %v; want 3, 2 forks", len(hd.Anomalies), hd.AnomalyCounts)
	}

	// The genuine chain goes on.
	h.publish(t, g, g.batch(t, 11, 20))
	expectAck(t, acks, g, 20)
	h.checkStored(t, g, 20)
}

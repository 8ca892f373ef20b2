package authority_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pkfreelance/seatgate/hq/authority"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// catchUpCounter counts the messages HQ sends on a gateway's catch-up
// subject.
func catchUpCounter(t *testing.T, e *env, gateway string) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	nc := e.connect(t)
	topics, err := wire.NewTopics(centre, gateway)
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := wire.NATSSubject(topics.JournalCatchUp())
	if _, err := nc.Subscribe(subject, func(*nats.Msg) { n.Add(1) }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return &n
}

func want(t *testing.T, nc *nats.Conn, gateway, payload string) {
	t.Helper()
	topics, err := wire.NewTopics(centre, gateway)
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := wire.NATSSubject(topics.JournalWant())
	if err := nc.Publish(subject, []byte(payload)); err != nil {
		t.Fatal(err)
	}
}

func TestGarbageRequestsAreCountedNeverFatal(t *testing.T) {
	e := newEnv(t)
	a := e.authority(t, authority.Options{})
	e.run(t, a)
	script(t, a)
	answers := catchUpCounter(t, e, "gw-1")
	nc := e.connect(t)

	garbage := []struct{ subject, payload string }{
		{"seats.v1.lhr-01.gw-1.journal.want", "not json"},
		{"seats.v1.lhr-01.gw-1.journal.want", ""},
		{"seats.v1.lhr-01.gw-1.journal.want", `{"v":2,"from":1}`},
		{"seats.v1.lhr-01.gw-1.journal.want", `{"v":1,"from":0}`},
		{"seats.v1.lhr-01.gw-1.journal.want", `{"v":1,"from":-5}`},
		{"seats.v1.lhr-01.gw-1.journal.want", `{"v":1,"from":"1"}`},
		{"seats.v1.lhr-01.gw-1.journal.want", `{"v":1,"from":1,"extra":true}`},
		{"seats.v1.lhr-01.gw-1.journal.want", `{"v":1,"from":1}{"v":1,"from":1}`},
		{"seats.v1.lhr-01.gw-1.journal.want", `{"v":1,"from":1,"From":1}`},
		{"seats.v1.lhr-01.gw-1.journal.want", `{"v":1,"from":1` + strings.Repeat(" ", wire.MaxPayload) + `}`},
		{"seats.v1.LHR.gw-1.journal.want", `{"v":1,"from":1}`},        // not a centre ID
		{"seats.v1.lhr-01.journal.journal.want", `{"v":1,"from":1}`},  // the reserved gateway ID
		{"seats.v1.lhr-01.gw_1.journal.want", `{"v":1,"from":1}`},     // not a gateway ID
		{"seats.v1.lhr-01.gw-1.journal.want", "\xff\xfe{\"v\":1}"},    // not UTF-8 JSON
		{"seats.v1.lhr-01.gw-1.journal.want", `[{"v":1,"from":1}]`},   // not an object
		{"seats.v1.lhr-01.gw-1.journal.want", `{"v":1,"from":1e400}`}, // out of range
		{"seats.v1.lhr-01.gw-1.journal.want", `{"v":1,"from":9223372036854775808}`},
	}
	for _, g := range garbage {
		if err := nc.Publish(g.subject, []byte(g.payload)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "garbage counted", func() bool { return a.Stats().WantsRejected == uint64(len(garbage)) })
	if n := answers.Load(); n != 0 {
		t.Errorf("garbage got %d answers, want none", n)
	}

	// Run is still serving.
	want(t, nc, "gw-1", `{"v":1,"from":1}`)
	waitUntil(t, "a valid request answered", func() bool { return a.Stats().EntryAnswers == 1 })
	if n := answers.Load(); n != scriptRevs {
		t.Errorf("answer: %d messages, want %d entries", n, scriptRevs)
	}
	if st := a.Stats(); st.Wants != uint64(len(garbage))+1 || st.AnswerErrors != 0 {
		t.Errorf("stats %+v: want %d requests, one answer", st, len(garbage)+1)
	}
}

func TestRequestsOfOneGatewayAreRateLimited(t *testing.T) {
	e := newEnv(t)
	const every = 500 * time.Millisecond
	a := e.authority(t, authority.Options{AnswerEvery: every})
	e.run(t, a)
	script(t, a)
	flooded := catchUpCounter(t, e, "gw-1")
	other := catchUpCounter(t, e, "gw-2")
	nc := e.connect(t)

	// A misbehaving gateway asks 100 times at once, from revision 1.
	for range 100 {
		want(t, nc, "gw-1", `{"v":1,"from":1}`)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "first answer", func() bool { return flooded.Load() >= scriptRevs })

	// Another gateway is not held up by it.
	start := time.Now()
	want(t, nc, "gw-2", `{"v":1,"from":14}`)
	waitUntil(t, "the other gateway's answer", func() bool { return other.Load() == 2 })
	if d := time.Since(start); d >= every {
		t.Errorf("other gateway answered after %v, want at once", d)
	}

	// The flood is one answer now and, merged, one more a period later:
	// the requests after the first are not lost, and do not multiply.
	waitUntil(t, "the merged answer", func() bool { return a.Stats().EntryAnswers == 3 })
	time.Sleep(2 * every)
	st := a.Stats()
	if st.EntryAnswers != 3 || flooded.Load() != 2*scriptRevs {
		t.Errorf("after 100 requests: %d answers, %d messages to gw-1; want 2 answers to it of %d entries each (plus 1 to gw-2)",
			st.EntryAnswers, flooded.Load(), scriptRevs)
	}
	if st.Wants != 101 || st.WantsMerged < 98 {
		t.Errorf("stats %+v: want 101 requests, at least 98 merged", st)
	}
}

func TestSnapshotsToOneGatewayAreFurtherApart(t *testing.T) {
	e := newEnv(t)
	a := e.authority(t, authority.Options{CatchUpEntries: 5, AnswerEvery: 50 * time.Millisecond, SnapshotEvery: time.Hour})
	e.run(t, a)
	script(t, a)
	answers := catchUpCounter(t, e, "gw-1")
	nc := e.connect(t)

	want(t, nc, "gw-1", `{"v":1,"from":1}`)
	waitUntil(t, "a snapshot", func() bool { return answers.Load() == 1 })
	for range 10 {
		want(t, nc, "gw-1", `{"v":1,"from":1}`)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "requests read", func() bool { return a.Stats().Wants == 11 })
	time.Sleep(quietTime)
	if st := a.Stats(); st.SnapAnswers != 1 || answers.Load() != 1 {
		t.Errorf("stats %+v, %d messages: want a single snapshot within SnapshotEvery", st, answers.Load())
	}
}

package authority

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pkfreelance/seatgate/sync/wire"
)

// Catch-up: a gateway that sees a gap, or (re)connects, publishes a
// JournalWant on seats/v1/{c}/{g}/journal/want; HQ answers on
// seats/v1/{c}/{g}/journal with the entries from the wanted revision on,
// or with a snapshot in signed chunks when it is too far behind.

const (
	// wantBuffer is how many requests wait to be read before NATS drops
	// more (counted by NATS as a slow consumer; gateways ask again).
	wantBuffer = 1024
	// maxGateways bounds the per-gateway rate-limit state; past it new
	// gateways' requests are dropped until idle ones are forgotten.
	maxGateways = 1 << 17
	// forgetAfter: the state of a gateway with nothing pending is dropped
	// this long after its last answer.
	forgetAfter = 10 * time.Minute
	// answerTimeout bounds one answer.
	answerTimeout = time.Minute
	// logEvery limits warnings about garbage requests to one per period.
	logEvery = 10 * time.Second
)

// Run answers catch-up requests until ctx is done, then returns ctx.Err().
// Every HQ instance runs it: the instances share the requests (a NATS queue
// group). Requests that do not decode, or come on a subject that names no
// valid gateway, are counted (Stats.WantsRejected) and logged at most once
// per 10 s. Answers to one gateway are at least AnswerEvery apart
// (SnapshotEvery after a snapshot); requests in between are merged into the
// next answer, which starts from the latest request's revision.
func (a *Authority) Run(ctx context.Context) error {
	subject, err := wire.NATSSubject(wire.Topics{Centre: "+", Gateway: "+"}.JournalWant())
	if err != nil {
		return fmt.Errorf("authority: %w", err)
	}
	msgs := make(chan *nats.Msg, wantBuffer)
	sub, err := a.nc.ChanQueueSubscribe(subject, a.o.QueueGroup, msgs)
	if err != nil {
		return fmt.Errorf("authority: subscribe to %s: %w", subject, err)
	}
	defer func() { _ = sub.Unsubscribe() }() // fails only when the connection is closed already
	if err := a.nc.FlushTimeout(a.o.SetupTimeout); err != nil {
		return fmt.Errorf("authority: subscribe to %s: %w", subject, err)
	}

	jobs := make(chan job)
	done := make(chan finished)
	var wg sync.WaitGroup
	for range a.o.Workers {
		wg.Go(func() {
			for j := range jobs {
				snap := a.answer(ctx, j.gw, j.from)
				done <- finished{j.gw, snap}
			}
		})
	}
	defer func() {
		close(jobs)
		go func() { wg.Wait(); close(done) }()
		for range done { // let busy workers finish
		}
	}()

	s := newScheduler(a.o.AnswerEvery, a.o.SnapshotEvery, time.Now())
	var garbage logLimit
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var out chan job
		next, ok := s.peek()
		if ok {
			out = jobs
		}
		timer.Reset(s.wait(time.Now()))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m := <-msgs:
			a.n.wants.Add(1)
			gw, from, err := parseWant(m.Subject, m.Data)
			if err != nil {
				a.n.wantsRejected.Add(1)
				garbage.warn(a.log, "authority: catch-up request rejected", "subject", m.Subject, "err", err)
				continue
			}
			switch s.request(gw, from, time.Now()) {
			case merged:
				a.n.wantsMerged.Add(1)
			case dropped:
				a.n.wantsRejected.Add(1)
				garbage.warn(a.log, "authority: too many gateways asking; request dropped", "centre", gw.centre, "gateway", gw.gateway)
			}
		case out <- next:
			s.started(next.gw)
		case f := <-done:
			s.finished(f.gw, f.snapshot, time.Now())
		case <-timer.C:
			if !sub.IsValid() {
				return fmt.Errorf("authority: subscription to %s closed (connection closed?)", subject)
			}
			s.tick(time.Now())
		}
	}
}

// parseWant checks the subject (seats.v1.{c}.{g}.journal.want, valid IDs)
// and decodes the request strictly.
func parseWant(subject string, data []byte) (gwKey, int64, error) {
	topic, err := wire.MQTTTopic(subject)
	if err != nil {
		return gwKey{}, 0, err
	}
	c, g, kind, err := wire.ParseTopic(topic)
	if err != nil {
		return gwKey{}, 0, err
	}
	if _, err := wire.NewTopics(c, g); err != nil || kind != wire.KindJournalWant {
		return gwKey{}, 0, fmt.Errorf("%w: %s is not a gateway's catch-up request", wire.ErrTopic, topic)
	}
	w, err := wire.DecodeJournalWant(data)
	if err != nil {
		return gwKey{}, 0, err
	}
	return gwKey{c, g}, w.From, nil
}

// answer sends gw the journal from revision from on, and reports whether
// it sent a snapshot.
func (a *Authority) answer(ctx context.Context, gw gwKey, from int64) (snapshot bool) {
	ctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	subject, err := wire.NATSSubject(wire.Topics{Centre: gw.centre, Gateway: gw.gateway}.JournalCatchUp())
	if err != nil {
		a.answerFailed(gw, err)
		return false
	}
	h, err := a.head(ctx, gw.centre)
	if err != nil {
		a.answerFailed(gw, err)
		return false
	}
	if from > h.rev {
		if from > h.rev+1 {
			a.log.Warn("authority: gateway is ahead of the journal", "centre", gw.centre, "gateway", gw.gateway, "from", from, "rev", h.rev)
		}
		return false // up to date
	}
	if h.rev-from+1 <= int64(a.o.CatchUpEntries) {
		sent := 0
		err := a.entries(ctx, gw.centre, from, h, func(raw []byte, _ wire.JournalEntry) error {
			sent++
			return a.nc.Publish(subject, raw)
		})
		if err == nil {
			err = a.nc.FlushWithContext(ctx)
		}
		a.n.entriesSent.Add(uint64(sent))
		if err == nil {
			a.n.entryAnswers.Add(1)
			return false
		}
		if !errors.Is(err, errTrimmed) {
			a.answerFailed(gw, err)
			return false
		}
	}
	if err := a.sendSnapshot(ctx, gw, subject); err != nil {
		a.answerFailed(gw, err)
	}
	return true
}

// sendSnapshot sends the centre's current membership in signed chunks.
func (a *Authority) sendSnapshot(ctx context.Context, gw gwKey, subject string) error {
	m, err := a.Snapshot(ctx, gw.centre)
	if err != nil {
		return err
	}
	data, err := m.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encode snapshot of %s: %w", gw.centre, err)
	}
	chunks, err := wire.ChunkSnapshot(gw.centre, m.Revision, data)
	if err != nil {
		return fmt.Errorf("chunk snapshot of %s: %w", gw.centre, err)
	}
	for i := range chunks {
		if err := wire.Sign(a.key, &chunks[i]); err != nil {
			return fmt.Errorf("sign snapshot chunk %d of %s: %w", i, gw.centre, err)
		}
		b, err := wire.Encode(&chunks[i])
		if err != nil {
			return fmt.Errorf("encode snapshot chunk %d of %s: %w", i, gw.centre, err)
		}
		if err := a.nc.Publish(subject, b); err != nil {
			return fmt.Errorf("publish snapshot chunk %d of %s: %w", i, gw.centre, err)
		}
		a.n.chunksSent.Add(1)
	}
	if err := a.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("publish snapshot of %s: %w", gw.centre, err)
	}
	a.n.snapAnswers.Add(1)
	return nil
}

func (a *Authority) answerFailed(gw gwKey, err error) {
	a.n.answerErrs.Add(1)
	a.log.Warn("authority: catch-up answer failed", "centre", gw.centre, "gateway", gw.gateway, "err", err)
}

// logLimit lets one warning through per logEvery, saying how many it held
// back. It belongs to one goroutine.
type logLimit struct {
	last       time.Time
	suppressed int
}

func (l *logLimit) warn(log *slog.Logger, msg string, args ...any) {
	if time.Since(l.last) < logEvery {
		l.suppressed++
		return
	}
	if l.suppressed > 0 {
		args = append(args, "suppressed", l.suppressed)
	}
	log.Warn(msg, args...)
	l.last, l.suppressed = time.Now(), 0
}

// The scheduler: per-gateway rate limiting with merging. It belongs to
// Run's goroutine.

type gwKey struct{ centre, gateway string }

type job struct {
	gw   gwKey
	from int64
}

type finished struct {
	gw       gwKey
	snapshot bool
}

type gwState struct {
	from      int64     // the latest request's revision
	wanted    bool      // a request waits for an answer
	scheduled bool      // in the ready queue or the heap
	busy      bool      // a worker is answering it
	next      time.Time // the earliest start of the next answer
}

type requestResult int

const (
	queued requestResult = iota
	merged
	dropped
)

type scheduler struct {
	every, snapEvery time.Duration
	gws              map[gwKey]*gwState
	ready            []gwKey  // may start now, in order of arrival
	later            dueQueue // must wait for their next slot
	lastForget       time.Time
}

func newScheduler(every, snapEvery time.Duration, now time.Time) *scheduler {
	return &scheduler{every: every, snapEvery: snapEvery, gws: map[gwKey]*gwState{}, lastForget: now}
}

// request records a request of gw from revision from.
func (s *scheduler) request(gw gwKey, from int64, now time.Time) requestResult {
	st, ok := s.gws[gw]
	if !ok {
		if len(s.gws) >= maxGateways {
			return dropped
		}
		st = &gwState{}
		s.gws[gw] = st
	}
	st.from = from
	res := queued
	if st.wanted {
		res = merged
	}
	st.wanted = true
	s.schedule(gw, st, now)
	return res
}

func (s *scheduler) schedule(gw gwKey, st *gwState, now time.Time) {
	if !st.wanted || st.scheduled || st.busy {
		return
	}
	st.scheduled = true
	if !st.next.After(now) {
		s.ready = append(s.ready, gw)
		return
	}
	heap.Push(&s.later, due{gw, st.next})
}

// peek returns the job to start next, if any.
func (s *scheduler) peek() (job, bool) {
	if len(s.ready) == 0 {
		return job{}, false
	}
	gw := s.ready[0]
	return job{gw, s.gws[gw].from}, true
}

// started records that the job peek returned went to a worker.
func (s *scheduler) started(gw gwKey) {
	s.ready = s.ready[1:]
	st := s.gws[gw]
	st.scheduled, st.wanted, st.busy = false, false, true
}

// finished records the end of an answer: the next may start a period
// later, and a request that came meanwhile is scheduled for then.
func (s *scheduler) finished(gw gwKey, snapshot bool, now time.Time) {
	st := s.gws[gw]
	st.busy = false
	st.next = now.Add(s.every)
	if snapshot {
		st.next = now.Add(s.snapEvery)
	}
	s.schedule(gw, st, now)
}

// tick moves the gateways whose slot has come to the ready queue, and now
// and then forgets idle gateways.
func (s *scheduler) tick(now time.Time) {
	for s.later.Len() > 0 && !s.later[0].at.After(now) {
		d := heap.Pop(&s.later).(due)
		s.ready = append(s.ready, d.gw)
	}
	if now.Sub(s.lastForget) >= time.Minute {
		s.lastForget = now
		for gw, st := range s.gws {
			if !st.wanted && !st.busy && !st.scheduled && now.Sub(st.next) > forgetAfter {
				delete(s.gws, gw)
			}
		}
	}
}

// wait is how long until the next tick is due.
func (s *scheduler) wait(now time.Time) time.Duration {
	d := time.Minute - now.Sub(s.lastForget)
	if s.later.Len() > 0 {
		d = min(d, s.later[0].at.Sub(now))
	}
	return max(d, 0)
}

type due struct {
	gw gwKey
	at time.Time
}

// dueQueue is a min-heap of gateways by the time their slot comes.
type dueQueue []due

func (q dueQueue) Len() int           { return len(q) }
func (q dueQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q dueQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *dueQueue) Push(x any)        { *q = append(*q, x.(due)) }
func (q *dueQueue) Pop() any {
	old := *q
	d := old[len(old)-1]
	*q = old[:len(old)-1]
	return d
}

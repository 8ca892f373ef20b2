package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// verdict is what became of a batch after one look at the chain head.
type verdict int

const (
	vStored    verdict = iota // new events stored, head advanced
	vDuplicate                // nothing new
	vGap                      // starts beyond head+1
	vAnomaly                  // fork or reset: refused
	vAgain                    // the head or the stream moved meanwhile: look again
)

type result struct {
	v       verdict
	head    Head     // the head afterwards, for the ack
	events  int      // events stored (vStored)
	anomaly *Anomaly // vAnomaly
}

// handle takes one message of the uplink subscription.
func (in *Ingester) handle(ctx context.Context, subject string, data []byte) {
	in.stats.add(func(s *Stats) { s.Batches++ })
	t, err := uplink(subject)
	if err != nil {
		in.reject(ReasonTopic, subject, err)
		return
	}
	b, err := wire.DecodeEventBatch(data)
	if err != nil {
		in.reject(reasonOf(err), who(t), err)
		return
	}
	if b.Centre != t.Centre || b.Gateway != t.Gateway {
		in.reject(ReasonTopic, who(t), fmt.Errorf("batch of %s/%s on the topic of %s", b.Centre, b.Gateway, who(t)))
		return
	}
	key, ok := in.reg.GatewayKey(t.Centre, t.Gateway)
	if !ok {
		in.reject(ReasonUnknownGateway, who(t), errors.New("gateway not enrolled"))
		return
	}
	if err := wire.Verify(key, &b); err != nil {
		in.reject(ReasonBadSignature, who(t), err)
		return
	}

	ctx, cancel := context.WithTimeout(ctx, in.o.BatchTimeout)
	defer cancel()
	if err := wire.VerifyChain(b.PrevHash, b.Events); err != nil {
		// The device signed events that do not chain: its log was changed.
		in.reject(ReasonBrokenChain, who(t), err)
		seq := b.First
		var ce *wire.ChainError
		if errors.As(err, &ce) {
			seq = ce.Seq
		}
		in.recordAnomaly(ctx, t, Anomaly{Kind: AnomalyFork, Seq: seq, Boot: b.Boot, Detail: err.Error()})
		return
	}

	r, err := in.process(ctx, t, &b)
	if err != nil {
		in.stats.add(func(s *Stats) { s.Errors++ })
		in.lg.Log(slog.LevelWarn, "error", "ingest: batch not stored, not acknowledged",
			"gateway", who(t), "first", b.First, "last", b.Last, "err", err)
		return
	}
	switch r.v {
	case vStored:
		in.stats.add(func(s *Stats) { s.Stored++; s.Events += uint64(r.events) })
		in.ack(t, b.Boot, r.head.Seq)
		in.stored(ctx, t, b.Events)
	case vDuplicate:
		in.stats.add(func(s *Stats) { s.Duplicates++ })
		in.ack(t, b.Boot, r.head.Seq)
		in.stored(ctx, t, b.Events) // the first time may have died before telling
	case vGap:
		in.stats.add(func(s *Stats) { s.Gaps++ })
		in.recordAnomaly(ctx, t, Anomaly{Kind: AnomalyGap, Seq: r.head.Seq + 1, Boot: b.Boot,
			Detail: fmt.Sprintf("batch %d..%d, head %d", b.First, b.Last, r.head.Seq)})
		in.ack(t, b.Boot, r.head.Seq) // resend from here (nothing to say before the first event)
	case vAnomaly:
		in.stats.add(func(s *Stats) {
			if r.anomaly.Kind == AnomalyReset {
				s.Resets++
			} else {
				s.Forks++
			}
		})
		in.recordAnomaly(ctx, t, *r.anomaly)
	}
}

// stored tells Options.OnStored about events now in EVENTS.
func (in *Ingester) stored(ctx context.Context, t wire.Topics, events []store.Event) {
	if in.o.OnStored != nil {
		in.o.OnStored(ctx, t.Centre, t.Gateway, events)
	}
}

// reject counts and logs a batch refused before its chain was looked at.
func (in *Ingester) reject(r Reason, who string, err error) {
	in.stats.add(func(s *Stats) {
		if s.Rejected == nil {
			s.Rejected = map[Reason]uint64{}
		}
		s.Rejected[r]++
	})
	in.lg.Log(slog.LevelWarn, "reject:"+string(r), "ingest: batch rejected", "reason", string(r), "gateway", who, "err", err)
}

// process looks at b against the head until it is stored, found a
// duplicate, a lasting gap or an anomaly, retrying failures until ctx ends.
func (in *Ingester) process(ctx context.Context, t wire.Topics, b *wire.EventBatch) (result, error) {
	gapUntil := time.Now().Add(in.o.GapWait)
	backoff, poll := 20*time.Millisecond, 5*time.Millisecond
	var lastErr error
	for again := 0; ; {
		r, err := in.step(ctx, t, b)
		var wait time.Duration
		switch {
		case err != nil:
			lastErr = err
			in.lg.Log(slog.LevelWarn, "retry", "ingest: storing a batch failed, retrying",
				"gateway", who(t), "first", b.First, "err", err)
			wait, backoff = backoff, min(2*backoff, time.Second)
		case r.v == vAgain:
			// Another instance moved the head or the stream: usually
			// settled at the next look; pause if it keeps happening.
			if again++; again < 3 {
				continue
			}
			wait, again = poll, 0
		case r.v == vGap && time.Now().Before(gapUntil):
			wait, poll = poll, min(2*poll, 100*time.Millisecond)
		default:
			return r, nil
		}
		if err := sleep(ctx, wait); err != nil {
			if lastErr != nil {
				return result{}, fmt.Errorf("%w; last failure: %v", err, lastErr)
			}
			return result{}, err
		}
	}
}

// step looks at b against the head once, and stores what is new.
func (in *Ingester) step(ctx context.Context, t wire.Topics, b *wire.EventBatch) (result, error) {
	h, rev, err := in.loadHead(ctx, t)
	if err != nil {
		return result{}, err
	}
	if b.First > h.Seq+1 {
		return result{v: vGap, head: h}, nil
	}
	if a := h.conflict(b); a != nil {
		return result{v: vAnomaly, head: h, anomaly: a}, nil
	}
	if b.Last <= h.Seq {
		return result{v: vDuplicate, head: h}, nil
	}

	fresh := b.Events[h.Seq+1-b.First:]
	streamSeq, err := in.appendEvents(ctx, t, b.Boot, h.StreamSeq, fresh)
	var fork *forkError
	switch {
	case errors.Is(err, errStreamAhead):
		if err := in.repair(ctx, t, h, rev); err != nil {
			return result{}, err
		}
		return result{v: vAgain}, nil
	case errors.As(err, &fork):
		a := &Anomaly{Kind: AnomalyFork, Seq: fork.seq, Boot: b.Boot, Detail: fork.Error()}
		if fork.seq == 1 {
			a.Kind = AnomalyReset
		}
		return result{v: vAnomaly, head: h, anomaly: a}, nil
	case err != nil:
		return result{}, err
	}

	// Advance the head. A conflict that left the chain where it was (an
	// anomaly recorded meanwhile) is merged; any other means someone else
	// advanced it: look again.
	for {
		nh := h.advance(b, streamSeq, in.o.Now())
		err := in.saveHead(ctx, t, nh, rev)
		if err == nil {
			return result{v: vStored, head: nh, events: len(fresh)}, nil
		}
		if !errors.Is(err, errConflict) {
			return result{}, err
		}
		old := h
		if h, rev, err = in.loadHead(ctx, t); err != nil {
			return result{}, err
		}
		if h.Seq != old.Seq || h.StreamSeq != old.StreamSeq {
			return result{v: vAgain}, nil
		}
	}
}

// errStreamAhead: EVENTS holds events of the gateway after the head.
var errStreamAhead = errors.New("stream is ahead of the chain head")

// forkError: EVENTS holds another event at seq than the batch.
type forkError struct {
	seq          uint64
	stored, sent string
}

func (e *forkError) Error() string {
	return fmt.Sprintf("event %d: EVENTS holds hash %s, the batch %s", e.seq, e.stored, e.sent)
}

// appendEvents stores events, which follow the event at stream sequence
// prev (0: none), one message each, each only directly after its
// predecessor, and returns the stream sequence of the last one.
func (in *Ingester) appendEvents(ctx context.Context, t wire.Topics, boot, prev uint64, events []store.Event) (uint64, error) {
	for _, e := range events {
		m, err := eventMsg(t, boot, e)
		if err != nil {
			return 0, err
		}
		octx, cancel := in.opCtx(ctx)
		ack, err := in.js.PublishMsg(octx, m,
			jetstream.WithMsgID(MsgID(t.Centre, t.Gateway, e.Seq)),
			jetstream.WithExpectLastSequencePerSubject(prev))
		cancel()
		if err != nil {
			var apiErr *jetstream.APIError
			if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
				apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
				return 0, errStreamAhead
			}
			return 0, fmt.Errorf("store event %d: %w", e.Seq, err)
		}
		if ack.Duplicate {
			// Stored before, within the de-duplication window: the same
			// event, or another history.
			octx, cancel := in.opCtx(ctx)
			sm, err := in.stream.GetMsg(octx, ack.Sequence)
			cancel()
			if err != nil {
				return 0, fmt.Errorf("read back duplicate of event %d: %w", e.Seq, err)
			}
			seq, hash, err := storedEvent(sm.Header)
			if err != nil {
				return 0, err
			}
			if seq != e.Seq || hash != e.Hash {
				return 0, &forkError{seq: e.Seq, stored: hash, sent: e.Hash}
			}
		}
		prev = ack.Sequence
	}
	return prev, nil
}

// repair moves the head (read at revision rev) to the gateway's last event
// in EVENTS, after an instance stored events and died before advancing the
// head. EVENTS holds each gateway's chain without holes, in order (see
// appendEvents), so its last event is a sound head.
func (in *Ingester) repair(ctx context.Context, t wire.Topics, h Head, rev uint64) error {
	subject := EventSubject(t.Centre, t.Gateway)
	octx, cancel := in.opCtx(ctx)
	last, err := in.stream.GetLastMsgForSubject(octx, subject)
	cancel()
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		if h.Seq > 0 {
			in.lg.Log(slog.LevelError, "lost:"+who(t), "ingest: EVENTS has lost events HQ acknowledged",
				"gateway", who(t), "head", h.Seq)
		}
		return fmt.Errorf("repair head of %s: EVENTS has none of its events, head at %d", who(t), h.Seq)
	}
	if err != nil {
		return fmt.Errorf("repair head of %s: %w", who(t), err)
	}
	seq, hash, err := storedEvent(last.Header)
	if err != nil {
		return fmt.Errorf("repair head of %s: %w", who(t), err)
	}
	switch {
	case seq < h.Seq:
		in.lg.Log(slog.LevelError, "lost:"+who(t), "ingest: EVENTS has lost events HQ acknowledged",
			"gateway", who(t), "head", h.Seq, "stream_last", seq)
		return fmt.Errorf("repair head of %s: EVENTS ends at event %d, head at %d", who(t), seq, h.Seq)
	case seq == h.Seq && hash != h.Hash:
		return fmt.Errorf("repair head of %s: EVENTS and the head disagree about event %d", who(t), seq)
	case seq == h.Seq && last.Sequence == h.StreamSeq:
		return nil // someone else repaired it
	}
	nh := h
	if nh.Genesis == "" {
		octx, cancel := in.opCtx(ctx)
		first, err := in.stream.GetMsg(octx, 1, jetstream.WithGetMsgSubject(subject))
		cancel()
		if err != nil {
			return fmt.Errorf("repair head of %s: first event: %w", who(t), err)
		}
		s1, h1, err := storedEvent(first.Header)
		if err != nil || s1 != 1 {
			return fmt.Errorf("repair head of %s: first stored event is not event 1 (%d, %v)", who(t), s1, err)
		}
		nh.Genesis = h1
	}
	nh.Seq, nh.Hash, nh.StreamSeq = seq, hash, last.Sequence
	nh.Updated = in.o.Now()
	nh.Checkpoints = appendCheckpoint(nh.Checkpoints, Checkpoint{seq, hash})
	if err := in.saveHead(ctx, t, nh, rev); err != nil && !errors.Is(err, errConflict) {
		return err
	}
	in.lg.Log(slog.LevelInfo, "repair", "ingest: chain head caught up with EVENTS",
		"gateway", who(t), "from", h.Seq, "to", seq)
	return nil
}

// recordAnomaly adds a to the gateway's head, once per kind and seq.
func (in *Ingester) recordAnomaly(ctx context.Context, t wire.Topics, a Anomaly) {
	a.At = in.o.Now()
	level := slog.LevelWarn
	if a.Kind == AnomalyGap {
		level = slog.LevelInfo
	}
	for range 20 {
		h, rev, err := in.loadHead(ctx, t)
		if err != nil {
			in.lg.Log(slog.LevelWarn, "anomaly-error", "ingest: cannot record anomaly", "gateway", who(t), "err", err)
			return
		}
		nh, isNew := h.withAnomaly(a)
		if !isNew {
			return
		}
		err = in.saveHead(ctx, t, nh, rev)
		if errors.Is(err, errConflict) {
			continue
		}
		if err != nil {
			in.lg.Log(slog.LevelWarn, "anomaly-error", "ingest: cannot record anomaly", "gateway", who(t), "err", err)
			return
		}
		in.lg.Log(level, "anomaly:"+string(a.Kind)+":"+who(t), "ingest: chain anomaly",
			"gateway", who(t), "kind", string(a.Kind), "seq", a.Seq, "detail", a.Detail)
		return
	}
}

// ack publishes a signed acknowledgement of events up to upto.
func (in *Ingester) ack(t wire.Topics, boot, upto uint64) {
	if upto == 0 {
		return // Ack.Upto is at least 1
	}
	a := wire.Ack{V: wire.Version, Centre: t.Centre, Gateway: t.Gateway, Boot: boot, Upto: upto}
	err := wire.Sign(in.hqKey, &a)
	var p []byte
	if err == nil {
		p, err = wire.Encode(a)
	}
	if err == nil {
		err = in.nc.Publish(ackSubject(t), p)
	}
	if err != nil {
		in.stats.add(func(s *Stats) { s.AckErrors++ })
		in.lg.Log(slog.LevelWarn, "ack", "ingest: cannot acknowledge", "gateway", who(t), "err", err)
		return
	}
	in.stats.add(func(s *Stats) { s.Acks++ })
}

// opCtx bounds one JetStream request by Options.OpTimeout, so that a
// request lost with a node is retried rather than waited for.
func (in *Ingester) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, in.o.OpTimeout)
}

func (in *Ingester) loadHead(ctx context.Context, t wire.Topics) (Head, uint64, error) {
	ctx, cancel := in.opCtx(ctx)
	defer cancel()
	return LoadHead(ctx, in.heads, t.Centre, t.Gateway)
}

func (in *Ingester) saveHead(ctx context.Context, t wire.Topics, h Head, rev uint64) error {
	ctx, cancel := in.opCtx(ctx)
	defer cancel()
	return saveHead(ctx, in.heads, t, h, rev)
}

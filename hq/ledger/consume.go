package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// maxHeld is the most events folded in memory before their records are
// written back and they are acknowledged.
const maxHeld = 256

// Run waits for stream EVENTS, creates bucket LEDGER and the durable
// consumer if need be, and folds events until ctx is done; then it returns
// ctx.Err(). Events are taken in batches: folded in memory, the changed
// records written back to LEDGER, and only then acknowledged. Events in
// hand when it stops are delivered again to another instance (or this one,
// restarted) after Options.AckWait.
func (l *Ledger) Run(ctx context.Context) error {
	kv, cons, err := l.setup(ctx)
	if err != nil {
		return err
	}
	pinned := false // this instance has been given events: it is (or was) the pinned one
	defer func() {
		if pinned {
			l.unpin()
		}
	}()
	// A pull request waits at most a third of PinnedTTL, so that a live
	// instance asks often enough never to be unpinned.
	expiry := min(5*time.Second, l.o.PinnedTTL/3)
	delay := 100 * time.Millisecond
	for {
		fctx, cancel := context.WithTimeout(ctx, expiry)
		batch, err := cons.Fetch(maxHeld, jetstream.FetchContext(fctx), jetstream.FetchPriorityGroup(priorityGroup))
		if err == nil {
			if l.consume(ctx, kv, batch.Messages()) {
				pinned = true
			}
			err = batch.Error()
		}
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, jetstream.ErrPinIDMismatch) {
			delay = 100 * time.Millisecond
			continue
		}
		l.lg.Log(slog.LevelWarn, "consume", "ledger: fetching from EVENTS failed, trying again", "err", err)
		if sleep(ctx, delay) != nil {
			return ctx.Err()
		}
		delay = min(2*delay, 5*time.Second)
		if c, err := l.consumer(ctx); err == nil {
			cons = c
		}
	}
}

// consume folds the messages of one fetch. It writes back and acknowledges
// what it holds whenever no message is waiting, every maxHeld messages,
// and at the end. It reports whether any message came.
func (l *Ledger) consume(ctx context.Context, kv jetstream.KeyValue, msgs <-chan jetstream.Msg) bool {
	var held []jetstream.Msg // folded (or found folded) in memory: acknowledged after the flush
	any := false
	for {
		var m jetstream.Msg
		var ok bool
		select {
		case m, ok = <-msgs:
		default:
			held = l.flush(ctx, kv, held)
			m, ok = <-msgs
		}
		if !ok {
			l.flush(ctx, kv, held)
			return any
		}
		any = true
		if l.handle(ctx, kv, m) {
			held = append(held, m)
		}
		if len(held) >= maxHeld {
			held = l.flush(ctx, kv, held)
		}
	}
}

// flush writes back the changed records, days first, then cursors, and
// acknowledges the held messages; if a write fails it forgets what was not
// written and has the held messages delivered again (a day written already
// remembers them, see dayRecord.add). It returns held emptied.
func (l *Ledger) flush(ctx context.Context, kv jetstream.KeyValue, held []jetstream.Msg) []jetstream.Msg {
	if len(held) == 0 && !l.days.dirty() && !l.cursors.dirty() {
		return held
	}
	// Finish the batch in hand even when stopping.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := l.days.write(ctx, kv)
	if err == nil {
		err = l.cursors.write(ctx, kv)
	}
	if err != nil {
		l.days.forget()
		l.cursors.forget()
		l.count(func(s *Stats) { s.Errors++ })
		l.lg.Log(slog.LevelWarn, "flush", "ledger: writing back failed; the events come again", "events", len(held), "err", err)
		for _, m := range held {
			_ = m.NakWithDelay(l.o.RetryDelay)
		}
		return held[:0]
	}
	for _, m := range held {
		_ = m.Ack()
	}
	return held[:0]
}

// outcome of folding one event.
type outcome int

const (
	oFolded    outcome = iota // taken in now
	oDuplicate                // folded before
	oEarly                    // its predecessor is not folded yet
	oBroken                   // does not chain from the event folded before
)

// handle folds one message. It reports whether the message is to be
// acknowledged after the next flush; otherwise it has been answered.
func (l *Ledger) handle(ctx context.Context, kv jetstream.KeyValue, m jetstream.Msg) (hold bool) {
	c, g, err := ingest.ParseEventSubject(m.Subject())
	var e store.Event
	if err == nil {
		err = json.Unmarshal(m.Data(), &e)
	}
	if err == nil && e.Seq == 0 {
		err = errors.New("event without seq")
	}
	if err != nil {
		l.count(func(s *Stats) { s.Rejected++ })
		l.lg.Log(slog.LevelError, "undecodable", "ledger: event not counted", "subject", m.Subject(), "err", err)
		_ = m.Term()
		return false
	}
	out, err := l.fold(ctx, kv, c, g, e)
	switch {
	case err != nil:
		l.count(func(s *Stats) { s.Errors++ })
		l.lg.Log(slog.LevelWarn, "error", "ledger: folding failed, will retry", "gateway", c+"/"+g, "seq", e.Seq, "err", err)
		_ = m.NakWithDelay(l.o.RetryDelay)
	case out == oFolded:
		l.count(func(s *Stats) { s.Folded++ })
		return true
	case out == oDuplicate:
		l.count(func(s *Stats) { s.Duplicates++ })
		return true // what makes it a duplicate may not be written yet
	case out == oEarly:
		// Its predecessor is with another instance (this one was not
		// pinned until now, or one died holding it, and it comes back
		// after AckWait). The same delay for every event keeps the ones
		// waiting in order, so that they fold in one go once it is back.
		l.count(func(s *Stats) { s.Waits++ })
		_ = m.NakWithDelay(l.o.WaitDelay)
	case out == oBroken:
		l.count(func(s *Stats) { s.Rejected++ })
		l.lg.Log(slog.LevelError, "broken:"+c+"/"+g, "ledger: event does not chain, not counted",
			"gateway", c+"/"+g, "seq", e.Seq)
		_ = m.Term()
	}
	return false
}

// fold takes event e of gateway g in centre c into the cached records.
func (l *Ledger) fold(ctx context.Context, kv jetstream.KeyValue, c, g string, e store.Event) (outcome, error) {
	key := cursorKey(c, g)
	ce, err := load(ctx, &l.cursors, kv, key, false)
	if err != nil {
		return 0, err
	}
	if e.Seq > ce.v.Seq+1 && !ce.dirty {
		// Maybe another instance folded the events in between: read again.
		if ce, err = load(ctx, &l.cursors, kv, key, true); err != nil {
			return 0, err
		}
	}
	cur := ce.v
	switch {
	case e.Seq <= cur.Seq:
		return oDuplicate, nil
	case e.Seq > cur.Seq+1:
		return oEarly, nil
	}
	prev := cur.Hash
	if cur.Seq == 0 {
		prev = wire.GenesisHash
	}
	if h, err := wire.EventHash(prev, e); err != nil || h != e.Hash {
		return oBroken, nil
	}

	next, pieces := fold(cur, e, l.o.Location)
	byDay := map[access.Date][]piece{}
	for _, p := range pieces {
		byDay[p.Day] = append(byDay[p.Day], p)
	}
	days := make([]access.Date, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	slices.SortFunc(days, access.Date.Compare)
	for _, d := range days {
		dk := dayKey(c, d)
		de, err := load(ctx, &l.days, kv, dk, false)
		if err != nil {
			return 0, err
		}
		if rec, changed := de.v.add(g, e.Seq, byDay[d]); changed {
			l.days.set(dk, rec)
		}
	}
	l.cursors.set(key, next)
	return oFolded, nil
}

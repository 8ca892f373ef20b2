package authority

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/sync/wire"
)

// The JOURNAL stream holds every signed entry of every centre, one subject
// per centre, in revision order: entry rev N of centre c is the N-th
// message on journal.{c}. It is append-only (no delete, no purge, no
// limits): the membership KV can always be rebuilt from it, and a gateway
// can be sent any range of it.

func journalSubject(centre string) string { return "journal." + centre }

// errConflict: another writer appended to the centre's journal (or was
// writing the KV past the revision read) between reading and appending.
// The change is checked again against the new state and retried.
var errConflict = errors.New("journal changed concurrently")

// errTrimmed: the entries asked for are no longer in the stream (someone
// set limits on it); only a snapshot can bring a gateway past them.
var errTrimmed = errors.New("journal entries no longer held")

// head is the last entry of a centre's journal.
type head struct {
	rev int64     // 0 when the journal is empty
	seq uint64    // its stream sequence
	at  time.Time // when HQ made the change
}

// head reads the centre's last entry from the stream leader.
func (a *Authority) head(ctx context.Context, centre string) (head, error) {
	msg, err := a.journal.GetLastMsgForSubject(ctx, journalSubject(centre))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return head{}, nil
	}
	if err != nil {
		return head{}, fmt.Errorf("read last journal entry of %s: %w", centre, err)
	}
	e, err := decodeStored(centre, msg.Data)
	if err != nil {
		return head{}, err
	}
	return head{rev: e.Rev, seq: msg.Sequence, at: e.Time}, nil
}

func decodeStored(centre string, b []byte) (wire.JournalEntry, error) {
	e, err := wire.DecodeJournalEntry(b)
	if err != nil {
		return wire.JournalEntry{}, fmt.Errorf("journal of %s: stored entry: %w", centre, err)
	}
	if e.Centre != centre {
		return wire.JournalEntry{}, fmt.Errorf("journal of %s: stored entry of centre %s", centre, e.Centre)
	}
	return e, nil
}

// appendEntry signs change e as the entry after the model's revision and
// stores it, on condition that the centre's last entry is still the one the
// model is at: the stream refuses it otherwise (errConflict), so two
// writers never store the same revision, and none leaves a gap. It returns
// the signed entry, its bytes and its stream sequence.
func (a *Authority) appendEntry(ctx context.Context, m *model, e wire.JournalEntry) (wire.JournalEntry, []byte, uint64, error) {
	e.V, e.Centre, e.Rev, e.Time, e.Sig = wire.Version, m.centre, m.rev+1, time.Now(), ""
	if err := wire.Sign(a.key, &e); err != nil {
		return e, nil, 0, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	raw, err := wire.Encode(&e)
	if err != nil {
		return e, nil, 0, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	subject := journalSubject(m.centre)
	ack, err := a.js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: raw},
		jetstream.WithExpectStream(StreamName), jetstream.WithExpectLastSequencePerSubject(m.seq))
	if err == nil {
		return e, raw, ack.Sequence, nil
	}
	// Refused because another writer came first, or stored even though the
	// answer was lost: the entry after m.seq tells which. When it is
	// another's, ours was not stored and never will be (the condition no
	// longer holds): a conflict. When there is none, the outcome is unknown.
	check, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkTimeout)
	defer cancel()
	if next, gerr := a.journal.GetMsg(check, m.seq+1, jetstream.WithGetMsgSubject(subject)); gerr == nil {
		if bytes.Equal(next.Data, raw) {
			return e, raw, next.Sequence, nil
		}
		return e, nil, 0, fmt.Errorf("%w: revision %d taken (%v)", errConflict, e.Rev, err)
	}
	return e, nil, 0, fmt.Errorf("append revision %d to the journal of %s: %w", e.Rev, m.centre, err)
}

// checkTimeout bounds the look-up that tells whether an append whose answer
// was lost was stored.
const checkTimeout = 5 * time.Second

// entries calls fn with entries from..to.rev of the centre's journal, in
// order, with their stored (signed) bytes. It fails with errTrimmed when
// entry from is no longer held.
func (a *Authority) entries(ctx context.Context, centre string, from int64, to head, fn func(raw []byte, e wire.JournalEntry) error) error {
	if from > to.rev {
		return nil
	}
	start, err := a.seqOf(ctx, centre, from, to)
	if err != nil {
		return err
	}
	next := from
	err = scan(ctx, a.journal, jetstream.ConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   start,
		FilterSubject: journalSubject(centre),
	}, func(msg jetstream.Msg) (bool, error) {
		e, err := decodeStored(centre, msg.Data())
		if err != nil {
			return false, err
		}
		switch {
		case e.Rev > next && next == from:
			return false, fmt.Errorf("journal of %s starts at revision %d, after %d: %w", centre, e.Rev, from, errTrimmed)
		case e.Rev != next:
			return false, fmt.Errorf("journal of %s: revision %d where %d belongs", centre, e.Rev, next)
		}
		if err := fn(msg.Data(), e); err != nil {
			return false, err
		}
		next++
		return next <= to.rev, nil
	})
	if err != nil {
		return err
	}
	if next <= to.rev {
		return fmt.Errorf("journal of %s: read up to revision %d of %d", centre, next-1, to.rev)
	}
	return nil
}

// seqOf finds the stream sequence at which to start reading entry rev of
// the centre: a binary search over the stream for the first message of the
// centre's subject whose revision is at least rev, each probe one read of
// "the next message on the subject from sequence s" (about 30 probes for a
// billion messages). Revisions grow with sequences, so the search is exact.
func (a *Authority) seqOf(ctx context.Context, centre string, rev int64, to head) (uint64, error) {
	if rev == to.rev {
		return to.seq, nil
	}
	subject := journalSubject(centre)
	lo, hi := uint64(1), to.seq
	for lo < hi {
		mid := lo + (hi-lo)/2
		msg, err := a.journal.GetMsg(ctx, mid, jetstream.WithGetMsgSubject(subject))
		if err != nil {
			return 0, fmt.Errorf("journal of %s: read from sequence %d: %w", centre, mid, err)
		}
		e, err := decodeStored(centre, msg.Data)
		if err != nil {
			return 0, err
		}
		if e.Rev >= rev {
			hi = mid
		} else {
			lo = msg.Sequence + 1
		}
	}
	return lo, nil
}

// scan reads a stream through an ephemeral consumer (no acks, in memory,
// deleted afterwards) configured by cfg's delivery and filter, calling fn
// with each message until fn returns false or nothing more is pending.
func scan(ctx context.Context, s jetstream.Stream, cfg jetstream.ConsumerConfig, fn func(jetstream.Msg) (bool, error)) error {
	cfg.AckPolicy = jetstream.AckNonePolicy
	cfg.MemoryStorage = true
	cfg.Replicas = 1
	cfg.InactiveThreshold = time.Minute // if the delete below is lost
	c, err := s.CreateConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("create reader: %w", err)
	}
	defer func() {
		del, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkTimeout)
		defer cancel()
		_ = s.DeleteConsumer(del, c.CachedInfo().Name)
	}()
	pending := c.CachedInfo().NumPending
	for idle := 0; pending > 0; {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch, err := c.FetchNoWait(int(min(pending, scanBatch)))
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			meta, err := msg.Metadata()
			if err != nil {
				return fmt.Errorf("read: %w", err)
			}
			pending = meta.NumPending
			more, err := fn(msg)
			if err != nil || !more {
				return err
			}
		}
		if err := batch.Error(); err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if got > 0 {
			idle = 0
			continue
		}
		// Pending messages not delivered yet (a replica catching up): wait
		// a little before asking again, not for ever.
		if idle++; idle > scanIdle {
			return fmt.Errorf("read: %d messages pending but none delivered", pending)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

const (
	scanBatch = 256
	scanIdle  = 500 // empty fetches 10 ms apart
)

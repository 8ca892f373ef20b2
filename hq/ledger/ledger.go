package ledger

import (
	"context"
	"errors"
	"fmt"
	"github.com/pkfreelance/seatgate/hq/internal/ratelog"
	"log/slog"
	"sync"
	"time"
	_ "time/tzdata" // Asia/Karachi wherever HQ runs

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/hq/ingest"
)

// Names in JetStream.
const (
	Bucket         = "LEDGER"
	DefaultDurable = "ledger"
	priorityGroup  = "fold"
)

// Options configure a Ledger. The zero value of every field is a usable
// default.
type Options struct {
	// Replicas of bucket LEDGER: 1 (default) or 3 in a cluster. The
	// consumer has as many as stream EVENTS.
	Replicas int
	// Durable names the consumer on EVENTS (default DefaultDurable). Every
	// HQ instance uses the same one: one of them folds (it is pinned), the
	// others stand by.
	Durable string
	// PinnedTTL: when the folding instance has not asked for events for
	// this long (it died), another takes over (default 15 s).
	PinnedTTL time.Duration
	// Location is the centres' time zone, where days begin (default
	// Asia/Karachi).
	Location *time.Location
	// AckWait: an event not acknowledged for this long (its instance
	// died) is delivered again (default 30 s).
	AckWait time.Duration
	// WaitDelay: an event whose predecessor is not folded yet (another
	// instance holds it) is delivered again after this (default 500 ms).
	WaitDelay time.Duration
	// RetryDelay: after a failure to read or write LEDGER (default 1 s).
	RetryDelay time.Duration
	// StartTimeout bounds how long Run waits for stream EVENTS to exist
	// and for LEDGER and the consumer to be created (default 60 s).
	StartTimeout time.Duration
	// Logger receives failures, at most one line per kind per LogEvery
	// (default 10 s). Nil: nothing is logged.
	Logger   *slog.Logger
	LogEvery time.Duration
}

func (o Options) withDefaults() (Options, error) {
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Replicas < 1 || o.Replicas > 5 {
		return o, fmt.Errorf("ledger options: replicas %d: want 1, 3 or 5", o.Replicas)
	}
	if o.Durable == "" {
		o.Durable = DefaultDurable
	}
	if o.Location == nil {
		loc, err := time.LoadLocation("Asia/Karachi")
		if err != nil {
			return o, fmt.Errorf("ledger options: %w", err)
		}
		o.Location = loc
	}
	if o.PinnedTTL == 0 {
		o.PinnedTTL = 15 * time.Second
	}
	if o.PinnedTTL < 3*time.Second {
		return o, fmt.Errorf("ledger options: pinned TTL %v: want at least 3 s", o.PinnedTTL)
	}
	if o.AckWait == 0 {
		o.AckWait = 30 * time.Second
	}
	if o.WaitDelay == 0 {
		o.WaitDelay = 500 * time.Millisecond
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = time.Second
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.LogEvery == 0 {
		o.LogEvery = 10 * time.Second
	}
	return o, nil
}

// Stats count what a Ledger did with the events delivered to it.
type Stats struct {
	Folded     uint64 `json:"folded"`     // events taken in
	Duplicates uint64 `json:"duplicates"` // redeliveries of events already folded
	Waits      uint64 `json:"waits"`      // events put back until their predecessor is folded
	Rejected   uint64 `json:"rejected"`   // events that do not decode or do not chain: never counted
	Errors     uint64 `json:"errors"`     // failures of LEDGER; the event comes back later
}

// Ledger folds EVENTS into seat-hours and answers queries about them.
// Create it with New; Run folds, Query may be called at any time, also on
// an instance that does not run.
type Ledger struct {
	js jetstream.JetStream
	o  Options
	lg *ratelog.Log

	mu    sync.Mutex
	stats Stats

	// Used by Run's goroutine only: records read or changed, the changed
	// ones written back by flush.
	cursors cache[cursor]
	days    cache[dayRecord]
}

// New returns a Ledger on js. Nothing happens until Run or Query.
func New(js jetstream.JetStream, opts Options) (*Ledger, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if js == nil {
		return nil, errors.New("ledger: need a JetStream context")
	}
	return &Ledger{js: js, o: o, lg: ratelog.New(o.Logger, o.LogEvery)}, nil
}

// Stats returns the counters so far.
func (l *Ledger) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

func (l *Ledger) count(f func(*Stats)) {
	l.mu.Lock()
	f(&l.stats)
	l.mu.Unlock()
}

// unpin lets another instance take over at once rather than after
// PinnedTTL, when this one stops.
func (l *Ledger) unpin() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := l.js.Stream(ctx, ingest.StreamName)
	if err == nil {
		err = s.UnpinConsumer(ctx, l.o.Durable, priorityGroup)
	}
	if err != nil {
		l.lg.Log(slog.LevelInfo, "unpin", "ledger: could not hand over on stopping", "err", err)
	}
}

// setup waits for EVENTS and creates LEDGER and the consumer, retrying for
// at most Options.StartTimeout.
func (l *Ledger) setup(ctx context.Context) (jetstream.KeyValue, jetstream.Consumer, error) {
	start, delay := time.Now(), 100*time.Millisecond
	for {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		kv, err := l.js.CreateOrUpdateKeyValue(sctx, jetstream.KeyValueConfig{
			Bucket:      Bucket,
			Description: "seat-seconds per centre and day, and the fold's cursors (hq/ledger)",
			Storage:     jetstream.FileStorage,
			Replicas:    l.o.Replicas,
		})
		var cons jetstream.Consumer
		if err == nil {
			cons, err = l.consumer(sctx)
		}
		cancel()
		if err == nil {
			return kv, cons, nil
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		if time.Since(start) > l.o.StartTimeout {
			return nil, nil, fmt.Errorf("ledger: %w", err)
		}
		l.lg.Log(slog.LevelInfo, "setup", "ledger: waiting for JetStream", "err", err)
		if sleep(ctx, delay) != nil {
			return nil, nil, ctx.Err()
		}
		delay = min(2*delay, 2*time.Second)
	}
}

func (l *Ledger) consumer(ctx context.Context) (jetstream.Consumer, error) {
	c, err := l.js.CreateOrUpdateConsumer(ctx, ingest.StreamName, jetstream.ConsumerConfig{
		Durable:       l.o.Durable,
		Description:   "folds events into seat-hours (hq/ledger)",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       l.o.AckWait,
		MaxDeliver:    -1,
		FilterSubject: "events.>",
		MaxAckPending: 1000,
		// One instance at a time gets the events, in stream order, so a
		// gateway's events are folded without waiting on each other; the
		// others take over when it stops asking.
		PriorityPolicy: jetstream.PriorityPolicyPinned,
		PriorityGroups: []string{priorityGroup},
		PinnedTTL:      l.o.PinnedTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s on %s: %w", l.o.Durable, ingest.StreamName, err)
	}
	return c, nil
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

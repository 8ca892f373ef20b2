package ingest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/internal/ratelog"
)

// Options configure an Ingester. The zero value of every field is a usable
// default.
type Options struct {
	// Replicas of stream EVENTS and bucket CHAINS: 1 (default; a single
	// server) or 3 (a cluster; 5 is allowed too).
	Replicas int
	// DedupeWindow is EVENTS' de-duplication window for Nats-Msg-Id
	// (default DefaultDedupeWindow). Order and exactly-once do not depend
	// on it (see the package documentation); it saves a round trip when a
	// batch is stored twice at about the same time.
	DedupeWindow time.Duration
	// Queue is the queue group of the uplink subscription (default
	// DefaultQueue). Instances in one group share the batches.
	Queue string
	// Workers is the number of lanes batches are handled in; the batches
	// of one gateway always go to the same lane, in arrival order
	// (default 8).
	Workers int
	// GapWait is how long a batch that starts beyond the head waits for
	// its predecessor, which another instance may be storing (default 2 s).
	GapWait time.Duration
	// BatchTimeout bounds the handling of one batch, retries included;
	// a batch that could not be stored by then is not acknowledged and
	// counts as an error (default 30 s).
	BatchTimeout time.Duration
	// OpTimeout bounds each JetStream request; one unanswered by then (its
	// node died, say) is retried (default 5 s).
	OpTimeout time.Duration
	// StartTimeout bounds how long Run tries to create the stream and the
	// bucket, for a cluster still electing leaders (default 30 s).
	StartTimeout time.Duration
	// Logger receives rejections, anomalies and failures, at most one line
	// per kind per LogEvery (default 10 s). Nil: nothing is logged.
	Logger   *slog.Logger
	LogEvery time.Duration
	// Now is the clock for anomaly and head times (default time.Now).
	Now func() time.Time
	// OnStored, if set, is called after the events of a batch are stored
	// and acknowledged (again when a duplicate of the batch arrives, since
	// an instance may have died in between): it must be idempotent and
	// quick. seathq uses it to follow firmware updates.
	OnStored func(ctx context.Context, centre, gateway string, events []store.Event)
}

func (o Options) withDefaults() Options {
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.DedupeWindow == 0 {
		o.DedupeWindow = DefaultDedupeWindow
	}
	if o.Queue == "" {
		o.Queue = DefaultQueue
	}
	if o.Workers == 0 {
		o.Workers = 8
	}
	if o.GapWait == 0 {
		o.GapWait = 2 * time.Second
	}
	if o.BatchTimeout == 0 {
		o.BatchTimeout = 30 * time.Second
	}
	if o.OpTimeout == 0 {
		o.OpTimeout = 5 * time.Second
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.LogEvery == 0 {
		o.LogEvery = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.Replicas < 1 || o.Replicas > 5:
		return fmt.Errorf("ingest options: replicas %d: want 1, 3 or 5", o.Replicas)
	case o.Workers < 1:
		return fmt.Errorf("ingest options: workers %d: want at least 1", o.Workers)
	case o.DedupeWindow < 0 || o.GapWait < 0 || o.BatchTimeout < 0 || o.OpTimeout < 0 || o.StartTimeout < 0 || o.LogEvery < 0:
		return errors.New("ingest options: durations must not be negative")
	}
	return nil
}

// Ingester stores the gateways' event batches and acknowledges them.
// Create it with New and run it with Run; Stats may be called at any time.
type Ingester struct {
	js    jetstream.JetStream
	nc    *nats.Conn
	reg   Registry
	hqKey ed25519.PrivateKey
	o     Options
	lg    *ratelog.Log

	stats     counters
	ready     chan struct{} // closed once Run has subscribed
	readyOnce sync.Once

	// Set by Run before the first batch.
	stream jetstream.Stream
	heads  jetstream.KeyValue
}

// New returns an Ingester that uses js for storage, nc for the uplink
// subscription and the acknowledgements, reg for the gateways' keys and
// hqKey to sign acknowledgements. Nothing happens until Run.
func New(js jetstream.JetStream, nc *nats.Conn, reg Registry, hqKey ed25519.PrivateKey, opts Options) (*Ingester, error) {
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	switch {
	case js == nil || nc == nil:
		return nil, errors.New("ingest: need a JetStream context and a NATS connection")
	case reg == nil:
		return nil, errors.New("ingest: need a gateway registry")
	case len(hqKey) != ed25519.PrivateKeySize:
		return nil, errors.New("ingest: need the HQ signing key")
	}
	return &Ingester{js: js, nc: nc, reg: reg, hqKey: hqKey, o: o, lg: ratelog.New(o.Logger, o.LogEvery),
		ready: make(chan struct{})}, nil
}

// Ready is closed once Run has provisioned JetStream and subscribed: from
// then on batches are taken.
func (in *Ingester) Ready() <-chan struct{} { return in.ready }

// Stats returns the counters so far.
func (in *Ingester) Stats() Stats { return in.stats.snapshot() }

// Run provisions EVENTS and CHAINS, subscribes to every gateway's events
// and handles batches until ctx is done; then it unsubscribes, abandons the
// batches in hand (they are not acknowledged, so their gateways resend them)
// and returns ctx.Err(). It fails early if the stream and bucket cannot be
// provisioned within Options.StartTimeout or the subscription fails.
func (in *Ingester) Run(ctx context.Context) error {
	if err := in.provision(ctx); err != nil {
		return err
	}

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	// Lanes are never closed: workers stop when ctx is done, and the
	// subscription's handler, which only routes, gives up on ctx too.
	lanes := make([]chan *nats.Msg, in.o.Workers)
	var wg sync.WaitGroup
	for i := range lanes {
		lanes[i] = make(chan *nats.Msg, 64)
		wg.Go(func() {
			for {
				select {
				case m := <-lanes[i]:
					in.handle(ctx, m.Subject, m.Data)
				case <-ctx.Done():
					return
				}
			}
		})
	}
	// A full lane makes the handler wait; NATS buffers behind it.
	sub, err := in.nc.QueueSubscribe(UplinkSubject, in.o.Queue, func(m *nats.Msg) {
		select {
		case lanes[lane(m.Subject, len(lanes))] <- m:
		case <-ctx.Done():
		}
	})
	if err == nil {
		err = in.nc.FlushTimeout(10 * time.Second)
	}
	if err == nil {
		in.readyOnce.Do(func() { close(in.ready) })
		<-ctx.Done()
		err = ctx.Err()
	} else {
		err = fmt.Errorf("ingest: subscribe %s: %w", UplinkSubject, err)
	}
	if sub != nil {
		_ = sub.Unsubscribe()
	}
	stop()
	wg.Wait()
	return err
}

// provision creates the stream and the bucket, retrying while a cluster is
// not ready, for at most Options.StartTimeout.
func (in *Ingester) provision(ctx context.Context) error {
	start, delay := time.Now(), 100*time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := Provision(pctx, in.js, in.o)
		if err == nil {
			in.stream, err = in.js.Stream(pctx, StreamName)
		}
		if err == nil {
			in.heads, err = in.js.KeyValue(pctx, ChainsBucket)
		}
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Since(start) > in.o.StartTimeout {
			return fmt.Errorf("ingest: %w", err)
		}
		in.lg.Log(slog.LevelWarn, "provision", "ingest: provisioning JetStream, retrying", "err", err)
		if sleep(ctx, delay) != nil {
			return ctx.Err()
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// lane picks the lane of a subject's gateway.
func lane(subject string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(subject))
	return int(h.Sum32() % uint32(n))
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

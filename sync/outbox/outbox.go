// Package outbox drains the gateway's event log to HQ: nothing acknowledged
// at a desk is ever lost.
//
// The store's event log is the outbox: events keep their gap-free sequence
// numbers and hash chain. One Drainer publishes them in order, in signed
// batches (wire.EventBatch), with a bounded window of events in flight
// beyond what HQ has acknowledged and a rate limit, so that thousands of
// gateways coming back after an HQ outage do not stampede. HQ acknowledges
// a watermark (wire.Ack, signed with the HQ key) once it has stored the
// events durably; only then does the gateway mark them delivered
// (store.MarkDelivered), and only delivered events are ever pruned.
//
// Duplicates are harmless (HQ de-duplicates by gateway and sequence), so
// the drainer resends from the watermark whenever it cannot be sure: after
// a reconnect, or when no acknowledgement has come for AckTimeout. An ack
// that is forged (wrong key), for another gateway, malformed, or beyond the
// log is rejected and counted and changes nothing.
package outbox

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// Log is what the drainer needs from the event log; *store.Store has it.
type Log interface {
	Events(after uint64, limit int) ([]store.Event, error)
	PrevHash(seq uint64) (string, error)
	Outbox() (store.OutboxState, error)
	MarkDelivered(upto uint64) error
}

var _ Log = (*store.Store)(nil)

// Publisher sends one message and waits for the broker to take it (QoS 1).
// *link.Link has it.
type Publisher interface {
	Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error
}

// Options configure a Drainer.
type Options struct {
	Topics wire.Topics
	// Boot is this run's boot counter, carried in every batch.
	Boot uint64
	// Key is the device key that signs batches; HQKey the pinned key that
	// must have signed every ack.
	Key   ed25519.PrivateKey
	HQKey ed25519.PublicKey
	// BatchSize is the most events per batch (default 100; halved
	// automatically for a batch that would exceed wire.MaxPayload).
	BatchSize int
	// Window is the most events sent beyond the acknowledged watermark
	// (default 1,000).
	Window int
	// Rate is the most batches per second (default 20).
	Rate float64
	// AckTimeout: with events in flight and no acknowledgement that moves
	// the watermark for this long, send again from the watermark (default
	// 30 s). An acknowledgement that does not move it (HQ answering a
	// batch that arrived before its predecessor, which was lost) makes the
	// drainer resend already after AckTimeout/10 without progress.
	AckTimeout time.Duration
	// Retry is the pause after a failed publish before trying again when
	// no reconnect is signalled (default 2 s).
	Retry  time.Duration
	Logger *slog.Logger
}

// Stats count what the drainer did.
type Stats struct {
	Batches      uint64 `json:"batches"`
	EventsSent   uint64 `json:"events_sent"` // resends included
	Resends      uint64 `json:"resends"`     // times the drainer went back to the watermark
	Acks         uint64 `json:"acks"`
	AcksRejected uint64 `json:"acks_rejected"`
	LastError    string `json:"last_error,omitempty"`
}

// Drainer publishes the event log. Create with New, run with Run.
type Drainer struct {
	log Log
	pub Publisher
	o   Options
	lg  *slog.Logger

	wake chan struct{}

	mu        sync.Mutex
	sent      uint64    // last seq published since the last resend point
	delivered uint64    // the watermark as last read or acknowledged
	resend    bool      // go back to the watermark before the next batch
	lastAck   time.Time // last acknowledgement that moved the watermark (or start of waiting)
	lastGap   time.Time // last resend caused by an acknowledgement that did not
	stats     Stats
	interval  time.Duration
}

// New builds a drainer; nothing is sent until Run.
func New(log Log, pub Publisher, o Options) *Drainer {
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.Window <= 0 {
		o.Window = 1000
	}
	if o.Rate <= 0 {
		o.Rate = 20
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 30 * time.Second
	}
	if o.Retry <= 0 {
		o.Retry = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Drainer{log: log, pub: pub, o: o, lg: o.Logger, wake: make(chan struct{}, 1), resend: true,
		interval: time.Duration(float64(time.Second) / o.Rate)}
}

// Notify tells the drainer that events were appended. It never blocks.
func (d *Drainer) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Connected tells the drainer the link is (again) up: whatever was in
// flight may be lost, so it sends again from the watermark.
func (d *Drainer) Connected() {
	d.mu.Lock()
	d.resend = true
	d.mu.Unlock()
	d.Notify()
}

// Stats reports the counters.
func (d *Drainer) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Errors HandleAck returns, besides wire's decode errors.
var (
	ErrAckForeign = errors.New("ack is for another gateway")
)

// HandleAck processes one message from the ack topic: decode, check the
// HQ signature and that it names this gateway, then move the delivered
// watermark. Any failure is counted, logged by the caller, and changes
// nothing.
func (d *Drainer) HandleAck(payload []byte) error {
	moved, err := d.handleAck(payload)
	d.mu.Lock()
	switch {
	case err != nil:
		d.stats.AcksRejected++
	case moved:
		d.stats.Acks++
		d.lastAck = time.Now()
	default:
		d.stats.Acks++
		// HQ has stored nothing new. A late ack from another HQ instance
		// looks the same, but then others keep moving the watermark; when
		// none has for AckTimeout/10 while events are in flight, a batch
		// before them was lost on the way.
		quiet := d.o.AckTimeout / 10
		if d.sent > d.delivered && time.Since(d.lastAck) > quiet && time.Since(d.lastGap) > quiet {
			d.lastGap = time.Now()
			d.resend = true
		}
	}
	d.mu.Unlock()
	if err == nil {
		d.Notify()
	}
	return err
}

// handleAck checks and applies an acknowledgement; moved says whether it
// moved the watermark.
func (d *Drainer) handleAck(payload []byte) (moved bool, err error) {
	a, err := wire.DecodeAck(payload)
	if err != nil {
		return false, fmt.Errorf("ack: %w", err)
	}
	if err := wire.Verify(d.o.HQKey, &a); err != nil {
		return false, fmt.Errorf("ack: %w", err)
	}
	if a.Centre != d.o.Topics.Centre || a.Gateway != d.o.Topics.Gateway {
		return false, fmt.Errorf("%w: %s/%s", ErrAckForeign, a.Centre, a.Gateway)
	}
	if err := d.log.MarkDelivered(a.Upto); err != nil {
		return false, fmt.Errorf("ack up to %d: %w", a.Upto, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if a.Upto > d.delivered {
		d.delivered = a.Upto
		return true, nil
	}
	return false, nil
}

// Run drains until ctx is done and returns ctx.Err().
func (d *Drainer) Run(ctx context.Context) error {
	d.mu.Lock()
	d.lastAck = time.Now()
	d.mu.Unlock()
	var (
		next       time.Time // rate limit: earliest start of the next batch
		lastLog    time.Time
		lastLogged string
	)
	for {
		wait, err := d.step(ctx, &next)
		if err != nil {
			msg := err.Error()
			d.mu.Lock()
			d.stats.LastError = msg
			d.mu.Unlock()
			// While HQ is unreachable this repeats every Retry: log a
			// change of error at once, the same error once a minute.
			if kind := errorKind(msg); kind != lastLogged || time.Since(lastLog) > time.Minute {
				d.lg.Warn("outbox: publish failed", "err", err)
				lastLog, lastLogged = time.Now(), kind
			}
			wait = d.o.Retry
		} else {
			lastLogged = ""
		}
		if wait == 0 {
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-d.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// errorKind is an error message without the event range, so that the
// same failure on a growing batch counts as one kind.
func errorKind(msg string) string {
	if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "publish events ") {
		return msg[i+2:]
	}
	return msg
}

// step sends at most one batch. It returns how long to wait before the
// next step when there is nothing to send now (0: step again at once).
func (d *Drainer) step(ctx context.Context, next *time.Time) (time.Duration, error) {
	st, err := d.log.Outbox()
	if err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	d.mu.Lock()
	if st.Delivered > d.delivered {
		d.delivered = st.Delivered
	}
	if d.resend || d.sent < st.Delivered {
		if d.resend && d.sent > st.Delivered {
			d.stats.Resends++
		}
		d.sent, d.resend = st.Delivered, false
	}
	inFlight := d.sent - st.Delivered
	if inFlight > 0 && time.Since(d.lastAck) > d.o.AckTimeout {
		d.lg.Info("outbox: no ack in time, sending again from the watermark", "delivered", st.Delivered, "sent", d.sent)
		d.sent = st.Delivered
		d.stats.Resends++
		d.lastAck = time.Now()
		inFlight = 0
	}
	from := d.sent
	d.mu.Unlock()

	room := uint64(d.o.Window) - min(inFlight, uint64(d.o.Window))
	if from >= st.LastSeq || room == 0 {
		return d.o.AckTimeout / 2, nil // wait for new events or an ack
	}
	if w := time.Until(*next); w > 0 {
		return w, nil
	}
	n := min(uint64(d.o.BatchSize), room, st.LastSeq-from)
	payload, last, err := d.batch(from, int(n))
	if err != nil {
		return 0, err
	}
	if err := d.pub.Publish(ctx, d.o.Topics.Events(), 1, false, payload); err != nil {
		return 0, fmt.Errorf("publish events %d..%d: %w", from+1, last, err)
	}
	*next = time.Now().Add(d.interval)
	d.mu.Lock()
	if from == st.Delivered {
		// Nothing was in flight: the wait for an ack starts now, not at
		// the last ack before a quiet spell (else every first batch
		// after one was sent twice).
		d.lastAck = time.Now()
	}
	if !d.resend && d.sent == from {
		d.sent = last
	}
	d.stats.Batches++
	d.stats.EventsSent += last - from
	d.mu.Unlock()
	return 0, nil
}

// batch builds and signs the batch of up to n events after from, halving
// n until it fits in wire.MaxPayload.
func (d *Drainer) batch(from uint64, n int) ([]byte, uint64, error) {
	evs, err := d.log.Events(from, n)
	if err != nil {
		return nil, 0, fmt.Errorf("read events after %d: %w", from, err)
	}
	if len(evs) == 0 || evs[0].Seq != from+1 {
		return nil, 0, fmt.Errorf("event log does not continue at %d", from+1)
	}
	prev, err := d.log.PrevHash(from + 1)
	if err != nil {
		return nil, 0, err
	}
	for {
		b := wire.EventBatch{V: wire.Version, Centre: d.o.Topics.Centre, Gateway: d.o.Topics.Gateway, Boot: d.o.Boot,
			First: evs[0].Seq, Last: evs[len(evs)-1].Seq, PrevHash: prev, Events: evs}
		err := wire.Sign(d.o.Key, &b)
		if errors.Is(err, wire.ErrTooLarge) && len(evs) > 1 {
			evs = evs[:len(evs)/2]
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("sign batch %d..%d: %w", b.First, b.Last, err)
		}
		payload, err := wire.Encode(&b)
		if err != nil {
			return nil, 0, err
		}
		return payload, b.Last, nil
	}
}

// Package journal applies HQ's membership journal on the gateway: HQ is
// the authority for who may sit where.
//
// Every change at HQ is a journal entry with a per-centre revision, signed
// with HQ's membership key, which the gateway pins. Entries are applied
// strictly in order and atomically with the stored revision
// (store.ApplyChange); duplicates and replays of old revisions are harmless.
// A gap (an entry lost while offline, or arriving out of order) makes the
// gateway ask HQ to catch up from its revision (wire.JournalWant); HQ
// answers with the missing entries, or with a chunked snapshot when the
// gateway is too far behind, which is applied atomically once every chunk
// has arrived and the whole matches its hash. The gateway also asks on
// every (re)connection, so a gateway that was offline catches up without
// an operator.
package journal

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// Store is what the applier needs from the gateway's store.
type Store interface {
	ApplyChange(c store.Change) error
	MembershipInfo() (store.MembershipInfo, error)
	// ReplaceMembershipFrom applies a snapshot as it reads it, calling
	// accept in the transaction that would put it in force.
	ReplaceMembershipFrom(r io.Reader, accept func(next, current store.MembershipInfo) error) (store.MembershipInfo, error)
	// The chunks of a snapshot wait in the store, not in memory, until
	// the last one has come.
	PutSnapshotParts(snapshot string, parts map[int][]byte) error
	SnapshotParts(snapshot string, count int) io.Reader
	DropSnapshotParts() error
}

var _ Store = (*store.Store)(nil)

// Publisher sends the catch-up request.
type Publisher interface {
	Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error
}

// Options configure an Applier.
type Options struct {
	Topics wire.Topics
	// HQKey is HQ's pinned membership key.
	HQKey ed25519.PublicKey
	// AskEvery bounds how often a catch-up request is repeated while a gap
	// persists (default 5 s).
	AskEvery time.Duration
	Logger   *slog.Logger
}

// Stats count what the applier did.
type Stats struct {
	Applied  uint64 `json:"applied"`
	Stale    uint64 `json:"stale"`
	Rejected uint64 `json:"rejected"` // bad signature, wrong centre, malformed, invalid
	Asks     uint64 `json:"asks"`
	Snapshot uint64 `json:"snapshots"`
}

// Errors the applier reports (besides wire's decoding errors).
var (
	ErrWrongCentre = errors.New("journal message for another centre")
)

// Applier applies journal entries and snapshots. Its methods are safe for
// concurrent use.
type Applier struct {
	st  Store
	pub Publisher
	o   Options
	log *slog.Logger

	mu      sync.Mutex
	stats   Stats
	lastAsk time.Time
	pending map[int64]wire.JournalEntry // verified entries that arrived before their predecessors
	newest  int64                       // the highest revision verified (Newest)

	// snapMu serialises snapshot chunks, which may take a while: the
	// last one applies the snapshot.
	snapMu  sync.Mutex
	snapKey string         // the snapshot being collected: its rev, hash and count
	have    map[int]bool   // the indexes of its chunks received
	held    map[int][]byte // those not yet kept in the store
}

// maxPending bounds the entries held while waiting for a missing one.
const maxPending = 1000

// New builds an applier.
func New(st Store, pub Publisher, o Options) *Applier {
	if o.AskEvery <= 0 {
		o.AskEvery = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Applier{st: st, pub: pub, o: o, log: o.Logger}
}

// Stats reports the counters.
func (a *Applier) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}

// Newest is the highest journal revision seen from HQ, applied or held
// waiting for a missing one (0: none yet). Newest minus the membership's
// revision is how far the gateway lags behind what it knows HQ has.
func (a *Applier) Newest() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := a.newest
	for rev := range a.pending {
		n = max(n, rev)
	}
	return n
}

// Connected asks HQ for everything after the gateway's revision: called on
// every (re)connection.
func (a *Applier) Connected(ctx context.Context) error {
	return a.ask(ctx, true)
}

// Retry asks HQ again while entries are held waiting for a missing one,
// at most once per AskEvery: call it periodically (every second), so a
// gap is filled even if no later entry arrives to reveal it again.
func (a *Applier) Retry(ctx context.Context) error {
	a.mu.Lock()
	waiting := len(a.pending) > 0
	a.mu.Unlock()
	if !waiting {
		return nil
	}
	return a.ask(ctx, false)
}

// HandleEntry handles a message from the centre's journal topic.
func (a *Applier) HandleEntry(ctx context.Context, payload []byte) error {
	e, err := wire.DecodeJournalEntry(payload)
	if err != nil {
		a.count(func(s *Stats) { s.Rejected++ })
		return fmt.Errorf("journal entry: %w", err)
	}
	return a.entry(ctx, e)
}

// HandleCatchUp handles a message from the gateway's catch-up topic: an
// entry or a snapshot chunk.
func (a *Applier) HandleCatchUp(ctx context.Context, payload []byte) error {
	m, err := wire.DecodeCatchUp(payload)
	if err != nil {
		a.count(func(s *Stats) { s.Rejected++ })
		return fmt.Errorf("journal catch-up: %w", err)
	}
	switch m := m.(type) {
	case wire.JournalEntry:
		return a.entry(ctx, m)
	case wire.SnapshotChunk:
		return a.chunk(m)
	}
	return fmt.Errorf("journal catch-up: unexpected %T", m)
}

func (a *Applier) count(f func(*Stats)) {
	a.mu.Lock()
	f(&a.stats)
	a.mu.Unlock()
}

func (a *Applier) entry(ctx context.Context, e wire.JournalEntry) error {
	if err := wire.Verify(a.o.HQKey, &e); err != nil {
		a.count(func(s *Stats) { s.Rejected++ })
		return fmt.Errorf("journal revision %d: %w", e.Rev, err)
	}
	if e.Centre != a.o.Topics.Centre {
		a.count(func(s *Stats) { s.Rejected++ })
		return fmt.Errorf("%w: %s", ErrWrongCentre, e.Centre)
	}
	a.mu.Lock()
	a.newest = max(a.newest, e.Rev)
	a.mu.Unlock()
	for {
		err := a.apply(e)
		switch {
		case err == nil:
			a.count(func(s *Stats) { s.Applied++ })
		case errors.Is(err, store.ErrStaleRevision):
			a.count(func(s *Stats) { s.Stale++ })
			return nil
		case errors.Is(err, store.ErrRevisionGap):
			// Keep it until its predecessors arrive (entries may come out
			// of order: live and catch-up topics interleave), and ask.
			a.mu.Lock()
			if a.pending == nil {
				a.pending = map[int64]wire.JournalEntry{}
			}
			if len(a.pending) < maxPending {
				a.pending[e.Rev] = e
			}
			a.mu.Unlock()
			a.log.Info("journal gap: asking HQ to catch up", "err", err)
			return a.ask(ctx, false)
		default:
			a.count(func(s *Stats) { s.Rejected++ })
			return err
		}
		// Applied: the next entry may be waiting already.
		a.mu.Lock()
		next, ok := a.pending[e.Rev+1]
		for rev := range a.pending {
			if rev <= e.Rev+1 {
				delete(a.pending, rev)
			}
		}
		a.mu.Unlock()
		if !ok {
			return nil
		}
		e = next
	}
}

func (a *Applier) apply(e wire.JournalEntry) error {
	return a.st.ApplyChange(store.Change{Rev: e.Rev, Op: string(e.Op), Member: e.Member, Card: e.Card, Plan: e.Plan, ID: e.ID})
}

// ask publishes a catch-up request from the gateway's revision + 1, at most
// once per AskEvery unless forced.
func (a *Applier) ask(ctx context.Context, force bool) error {
	a.mu.Lock()
	if !force && time.Since(a.lastAsk) < a.o.AskEvery {
		a.mu.Unlock()
		return nil
	}
	a.lastAsk = time.Now()
	a.stats.Asks++
	a.mu.Unlock()
	info, err := a.st.MembershipInfo()
	if err != nil {
		return err
	}
	w := wire.JournalWant{V: wire.Version, From: info.Revision + 1}
	b, err := wire.Encode(&w)
	if err != nil {
		return err
	}
	if err := a.pub.Publish(ctx, a.o.Topics.JournalWant(), 1, false, b); err != nil {
		return fmt.Errorf("ask for journal from %d: %w", w.From, err)
	}
	return nil
}

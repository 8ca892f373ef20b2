package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pkfreelance/seatgate/device/iso14443"
	"github.com/pkfreelance/seatgate/device/mfrc522"
)

// Reader is what the scanner needs from a reader chip; *mfrc522.Dev has it.
type Reader interface {
	StartRequest(wake bool) error
	RequestDue() time.Time
	FinishRequest() (mfrc522.ATQA, error)
	Activate(atqa mfrc522.ATQA, wake bool) (mfrc522.Card, error)
	SelectUID(uid iso14443.UID) (byte, error)
	Halt() error
	Close() error
}

var _ Reader = (*mfrc522.Dev)(nil)

// Clock is the scanner's time source (the readers' clock, so that emulated
// buses run on virtual time).
type Clock interface {
	Now() time.Time
	Sleep(d time.Duration)
}

// Kind says what happened at a reader.
type Kind string

// Event kinds.
const (
	Tap       Kind = "tap"       // a card arrived
	Removed   Kind = "removed"   // a held card left the field
	Fault     Kind = "fault"     // the reader stopped working
	Recovered Kind = "recovered" // the reader works again
)

// Event is one thing that happened at a reader.
type Event struct {
	Reader string
	Kind   Kind
	UID    iso14443.UID // Tap, Removed
	SAK    byte         // Tap
	Err    error        // Fault
	At     time.Time
}

// ReaderSpec names a reader and says how to open it. Open is called at
// start and again to recover after a fault; it must not keep the previous
// Reader's resources (the scanner closes a faulted Reader first).
type ReaderSpec struct {
	ID   string
	Open func() (Reader, error)
}

// Bus is the readers that share one bus (one goroutine) and the clock
// they run on.
type Bus struct {
	Name    string
	Clock   Clock
	Readers []ReaderSpec
}

// Options tune the scanner. Zero values take the defaults.
type Options struct {
	// Interval is the shortest time between the starts of two cycles on a
	// bus (default 5 ms; cycles that take longer run back to back).
	Interval time.Duration
	// PresenceInterval is how often a held card is checked (default 100 ms).
	PresenceInterval time.Duration
	// RemovalMisses is how many presence checks in a row must miss before a
	// card is reported removed (default 2).
	RemovalMisses int
	// BackoffMin and BackoffMax bound the reopen delay of a failed reader
	// (defaults 200 ms and 30 s).
	BackoffMin, BackoffMax time.Duration
	// Logger gets fault and recovery lines, rate-limited by the backoff.
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Interval <= 0 {
		o.Interval = 5 * time.Millisecond
	}
	if o.PresenceInterval <= 0 {
		o.PresenceInterval = 100 * time.Millisecond
	}
	if o.RemovalMisses <= 0 {
		o.RemovalMisses = 2
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = 200 * time.Millisecond
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// ReaderStatus is a reader's health as the scanner sees it.
type ReaderStatus struct {
	ID          string    `json:"id"`
	Bus         string    `json:"bus"`
	OK          bool      `json:"ok"`
	Error       string    `json:"error,omitempty"`
	Faults      int       `json:"faults"`
	RadioErrors int       `json:"radio_errors"`
	NextRetry   time.Time `json:"next_retry,omitzero"`
	// Settling: just opened; cards found now are taken as lying there.
	Settling bool     `json:"settling,omitempty"`
	Present  []string `json:"present,omitempty"`
}

// Scanner polls buses of readers. Create with New, run with Run.
type Scanner struct {
	buses []*busLoop
	opts  Options
}

// New builds a scanner; nothing is opened until Run.
func New(buses []Bus, opts Options) *Scanner {
	opts.defaults()
	s := &Scanner{opts: opts}
	for _, b := range buses {
		bl := &busLoop{name: b.Name, clk: b.Clock, opts: &s.opts}
		for _, r := range b.Readers {
			bl.readers = append(bl.readers, &reader{spec: r, bus: b.Name})
		}
		s.buses = append(s.buses, bl)
	}
	return s
}

// Run scans until ctx is done, sending events to out (it blocks when out
// is full: taps are never dropped). It closes every reader before it
// returns ctx.Err().
func (s *Scanner) Run(ctx context.Context, out chan<- Event) error {
	var wg sync.WaitGroup
	for _, b := range s.buses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.run(ctx, out)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// Status reports every reader's health.
func (s *Scanner) Status() []ReaderStatus {
	var st []ReaderStatus
	for _, b := range s.buses {
		st = append(st, b.status()...)
	}
	return st
}

// Cycle runs one scan cycle on every bus, one after the other, without
// pacing (for tests and benchmarks). Events go to emit.
func (s *Scanner) Cycle(emit func(Event)) {
	for _, b := range s.buses {
		b.cycle(emit)
	}
}

// held is a card the scanner reported and believes still in the field.
type held struct {
	uid      iso14443.UID
	lastSeen time.Time
	misses   int
}

type reader struct {
	spec ReaderSpec
	bus  string

	mu          sync.Mutex // guards what Status reads: dev, err, counters, held
	dev         Reader
	err         error
	faults      int
	radioErrors int
	nextRetry   time.Time
	backoff     time.Duration
	held        []held
	nextCheck   time.Time
	requested   bool
	// settling: the reader has just been opened. Cards already lying on
	// it answer the first requests (switching the field on woke them);
	// they are taken as held, not as taps, so a power cut, a restart or a
	// reader fault never checks anyone in or out.
	settling     int
	healthySince time.Time
}

type busLoop struct {
	name    string
	clk     Clock
	opts    *Options
	readers []*reader
}

func (b *busLoop) run(ctx context.Context, out chan<- Event) {
	defer func() {
		for _, r := range b.readers {
			r.mu.Lock()
			if r.dev != nil {
				_ = r.dev.Close()
				r.dev = nil
			}
			r.mu.Unlock()
		}
	}()
	emit := func(e Event) {
		select {
		case out <- e:
		case <-ctx.Done():
		}
	}
	for ctx.Err() == nil {
		start := b.clk.Now()
		b.cycle(emit)
		if wait := b.opts.Interval - b.clk.Now().Sub(start); wait > 0 {
			b.clk.Sleep(wait)
		}
	}
}

// cycle is one pass over the bus: reopen failed readers that are due,
// start REQA everywhere, wait once, collect, activate what answered, then
// check held cards that are due.
func (b *busLoop) cycle(emit func(Event)) {
	now := b.clk.Now()
	for _, r := range b.readers {
		if r.dev == nil && !now.Before(r.nextRetry) {
			b.open(r, emit)
		}
	}
	b.requestAll(false, emit, func(r *reader) bool { return true }, func(r *reader, atqa mfrc522.ATQA) {
		b.activate(r, atqa, emit)
	})
	for _, r := range b.readers {
		r.mu.Lock()
		if r.settling > 0 {
			r.settling--
		}
		r.mu.Unlock()
	}
	now = b.clk.Now()
	b.requestAll(true, emit, func(r *reader) bool {
		return len(r.held) > 0 && !now.Before(r.nextCheck)
	}, func(r *reader, _ mfrc522.ATQA) {
		b.checkHeld(r, emit)
	})
	// Held cards on readers whose WUPA found nobody are all gone.
	for _, r := range b.readers {
		if r.dev != nil && r.requested && len(r.held) > 0 {
			b.missAll(r, emit)
		}
	}
}

// requestAll starts a request on every working reader that want selects,
// waits for the latest answer, then finishes each; found is called for
// readers where a card answered.
func (b *busLoop) requestAll(wake bool, emit func(Event), want func(*reader) bool, found func(*reader, mfrc522.ATQA)) {
	var due time.Time
	for _, r := range b.readers {
		r.requested = false
		if r.dev == nil || !want(r) {
			continue
		}
		if err := r.dev.StartRequest(wake); err != nil {
			b.fail(r, err, emit)
			continue
		}
		r.requested = true
		if d := r.dev.RequestDue(); d.After(due) {
			due = d
		}
	}
	if wait := due.Sub(b.clk.Now()); wait > 0 {
		b.clk.Sleep(wait)
	}
	for _, r := range b.readers {
		if !r.requested || r.dev == nil {
			continue
		}
		atqa, err := r.dev.FinishRequest()
		switch {
		case errors.Is(err, mfrc522.ErrNoCard):
			// Nobody in the requested states: nothing to do now.
			if !wake {
				r.mu.Lock()
				r.settling = 0 // every card that was lying there is absorbed
				r.mu.Unlock()
			}
		case err != nil && mfrc522.Retryable(err):
			r.noteRadioError()
			r.requested = false
		case err != nil:
			b.fail(r, err, emit)
		default:
			r.requested = false
			found(r, atqa)
		}
	}
}

// activate selects the card that answered REQA and reports a tap unless it
// is a held card that lost its HLTA.
func (b *busLoop) activate(r *reader, atqa mfrc522.ATQA, emit func(Event)) {
	c, err := r.dev.Activate(atqa, false)
	if err != nil {
		b.handle(r, err, emit)
		return
	}
	if err := r.dev.Halt(); err != nil {
		b.fail(r, err, emit)
		return
	}
	now := b.clk.Now()
	r.mu.Lock()
	for i := range r.held {
		if r.held[i].uid.Equal(c.UID) {
			// Still held as far as we know (its removal was not noticed):
			// a brown-out at the edge of the field, or a lost HLTA. Not a tap.
			r.held[i].lastSeen, r.held[i].misses = now, 0
			r.mu.Unlock()
			return
		}
	}
	r.held = append(r.held, held{uid: c.UID, lastSeen: now})
	if len(r.held) == 1 {
		r.nextCheck = now.Add(b.opts.PresenceInterval)
	}
	r.mu.Unlock()
	if r.settling > 0 {
		b.opts.Logger.Info("card lying on the reader when it opened: held, not a tap",
			"reader", r.spec.ID, "uid", c.UID.String())
		return
	}
	emit(Event{Reader: r.spec.ID, Kind: Tap, UID: c.UID, SAK: c.SAK, At: now})
}

// checkHeld selects each held card by UID after a WUPA that was answered.
func (b *busLoop) checkHeld(r *reader, emit func(Event)) {
	retry := false
	for i := 0; i < len(r.held); i++ {
		if i > 0 {
			// The previous select ended with HLTA; wake the rest again.
			if _, err := wakeup(r.dev); err != nil {
				if errors.Is(err, mfrc522.ErrNoCard) {
					b.missFrom(r, i, emit)
					break
				}
				b.handle(r, err, emit)
				return
			}
		}
		h := &r.held[i]
		_, err := r.dev.SelectUID(h.uid)
		switch {
		case err == nil:
			if err := r.dev.Halt(); err != nil {
				b.fail(r, err, emit)
				return
			}
			r.mu.Lock()
			h.lastSeen, h.misses = b.clk.Now(), 0
			r.mu.Unlock()
		case errors.Is(err, mfrc522.ErrNoCard):
			r.mu.Lock()
			h.misses++
			r.mu.Unlock()
		case mfrc522.Retryable(err):
			// A garbled answer means something is there: not a miss.
			// Check again next cycle rather than in PresenceInterval.
			r.noteRadioError()
			retry = true
		default:
			b.fail(r, err, emit)
			return
		}
	}
	b.dropMissing(r, emit)
	if !retry {
		r.nextCheck = b.clk.Now().Add(b.opts.PresenceInterval)
	}
}

func wakeup(dev Reader) (mfrc522.ATQA, error) {
	if err := dev.StartRequest(true); err != nil {
		return 0, err
	}
	return dev.FinishRequest()
}

// missAll counts a miss for every held card (WUPA found nobody).
func (b *busLoop) missAll(r *reader, emit func(Event)) {
	b.missFrom(r, 0, emit)
	r.nextCheck = b.clk.Now().Add(b.opts.PresenceInterval)
}

func (b *busLoop) missFrom(r *reader, from int, emit func(Event)) {
	r.mu.Lock()
	for i := from; i < len(r.held); i++ {
		r.held[i].misses++
	}
	r.mu.Unlock()
	b.dropMissing(r, emit)
}

func (b *busLoop) dropMissing(r *reader, emit func(Event)) {
	now := b.clk.Now()
	r.mu.Lock()
	kept := r.held[:0]
	var gone []iso14443.UID
	for _, h := range r.held {
		if h.misses >= b.opts.RemovalMisses {
			gone = append(gone, h.uid)
			continue
		}
		kept = append(kept, h)
	}
	r.held = kept
	r.mu.Unlock()
	for _, u := range gone {
		emit(Event{Reader: r.spec.ID, Kind: Removed, UID: u, At: now})
	}
}

// handle sorts an activation error: radio trouble is counted and the card
// is tried again next cycle; anything else is a reader fault.
func (b *busLoop) handle(r *reader, err error, emit func(Event)) {
	if errors.Is(err, mfrc522.ErrNoCard) || mfrc522.Retryable(err) {
		r.noteRadioError()
		return
	}
	b.fail(r, err, emit)
}

func (r *reader) noteRadioError() {
	r.mu.Lock()
	r.radioErrors++
	r.mu.Unlock()
}

// fail takes a reader out of the cycle and schedules a reopen.
func (b *busLoop) fail(r *reader, err error, emit func(Event)) {
	now := b.clk.Now()
	r.mu.Lock()
	if r.dev != nil {
		_ = r.dev.Close()
		r.dev = nil
	}
	first := r.err == nil
	r.err = err
	r.faults++
	// Held cards are kept: when the reader is back, those still lying
	// there are absorbed while it settles, the others are found missing
	// by the presence check. Forgetting them would turn a card left on the
	// desk into a tap (a check-out) after every fault.
	for i := range r.held {
		r.held[i].misses = 0
	}
	r.requested = false
	// The backoff only starts again from the bottom once the reader has
	// worked for a while: a reader that opens and fails at once is retried
	// less and less often, not five times a second.
	if !r.healthySince.IsZero() && now.Sub(r.healthySince) >= healthyAfter {
		r.backoff = 0
	}
	r.healthySince = time.Time{}
	r.backoff = nextBackoff(r.backoff, b.opts.BackoffMin, b.opts.BackoffMax)
	r.nextRetry = now.Add(r.backoff)
	r.mu.Unlock()
	if first {
		b.opts.Logger.Warn("reader fault", "reader", r.spec.ID, "bus", b.name, "err", err)
		emit(Event{Reader: r.spec.ID, Kind: Fault, Err: err, At: now})
	}
}

// open (re)opens a reader.
func (b *busLoop) open(r *reader, emit func(Event)) {
	dev, err := r.spec.Open()
	if err != nil {
		b.fail(r, fmt.Errorf("open reader %s: %w", r.spec.ID, err), emit)
		return
	}
	r.mu.Lock()
	r.dev = dev
	wasFaulty := r.err != nil && r.faults > 0
	r.err = nil
	r.nextRetry = time.Time{}
	r.healthySince = b.clk.Now()
	r.settling = settleCycles
	r.mu.Unlock()
	if wasFaulty {
		b.opts.Logger.Info("reader recovered", "reader", r.spec.ID, "bus", b.name)
		emit(Event{Reader: r.spec.ID, Kind: Recovered, At: b.clk.Now()})
	}
}

func (b *busLoop) status() []ReaderStatus {
	var st []ReaderStatus
	for _, r := range b.readers {
		r.mu.Lock()
		s := ReaderStatus{ID: r.spec.ID, Bus: r.bus, OK: r.dev != nil && r.err == nil, Faults: r.faults,
			RadioErrors: r.radioErrors, NextRetry: r.nextRetry, Settling: r.dev == nil || r.settling > 0}
		if r.err != nil {
			s.Error = r.err.Error()
		}
		for _, h := range r.held {
			s.Present = append(s.Present, h.uid.String())
		}
		r.mu.Unlock()
		st = append(st, s)
	}
	return st
}

// healthyAfter is how long a reopened reader must work before a new fault
// starts its backoff from BackoffMin again.
const healthyAfter = 30 * time.Second

// settleCycles bounds how many cycles after an open cards found by REQA
// are taken as already lying there (it ends sooner, at the first REQA that
// finds nobody).
const settleCycles = 20

// nextBackoff doubles the delay within [min, max] with ±20 % jitter.
func nextBackoff(prev, lo, hi time.Duration) time.Duration {
	d := prev * 2
	if d < lo {
		d = lo
	}
	if d > hi {
		d = hi
	}
	jitter := time.Duration(rand.Int64N(int64(d)/5+1)) - d/10
	return d + jitter
}

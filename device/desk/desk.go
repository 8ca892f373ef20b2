package desk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// ErrRunning is returned by Run when the desk is already being run.
var ErrRunning = errors.New("desk: already running")

// Pins are a desk's outputs. Green and Red are required; a desk without a
// buzzer or a relay leaves those nil. The caller opens the pins (for example
// with gpioreg.ByName) and keeps ownership of them: the desk only calls Out.
type Pins struct {
	Green, Red, Buzzer, Relay gpio.PinOut
}

// Options tune a Desk. The zero value is valid.
type Options struct {
	// Clock times the patterns. Nil means SystemClock.
	Clock Clock
	// RelayHold is how long the relay (door strike or power strip) stays on
	// after a check-in (CheckedIn, Moved or PlanEnding). Another check-in
	// restarts the hold; CheckedOut switches the relay off at once; other
	// patterns leave it alone. Zero never switches the relay on.
	RelayHold time.Duration
}

// State is a snapshot of a desk's outputs, for the dashboard and health.
type State struct {
	// Levels last written successfully to each output (false for an
	// output the desk does not have).
	Green, Red, Buzzer, Relay bool
	// Pattern is the pattern being played, Idle once it has finished.
	Pattern Pattern
	// Err is the most recent pin error ("" if there has been none since
	// Run started) and ErrAt when it happened. A pin error does not stop
	// the desk: the level is written again at the next change.
	Err   string
	ErrAt time.Time
}

// output indexes a desk's four outputs.
type output int

const (
	outGreen output = iota
	outRed
	outBuzzer
	outRelay
	numOutputs
)

var outputNames = [numOutputs]string{"green", "red", "buzzer", "relay"}

// Desk drives one desk's lights, buzzer and relay. Show may be called from
// any goroutine; the patterns are played by Run.
type Desk struct {
	pins      [numOutputs]gpio.PinOut // nil for an absent output
	clock     Clock
	relayHold time.Duration

	wake chan struct{} // capacity 1: "a pattern is pending"

	mu      sync.Mutex
	pending Pattern
	queued  bool // pending holds a pattern Run has not taken yet
	running bool
	state   State

	// testHookSettled, when set by a test before Run starts, is called each
	// time Run has applied an event (outputs written, timers armed) and is
	// about to wait for the next one.
	testHookSettled func()
}

// New returns a desk driving p. It does not touch the pins: Run switches
// everything off when it starts.
func New(p Pins, opts Options) (*Desk, error) {
	if p.Green == nil || p.Red == nil {
		return nil, errors.New("desk: green and red pins are required")
	}
	if opts.RelayHold < 0 {
		return nil, fmt.Errorf("desk: negative relay hold %v", opts.RelayHold)
	}
	d := &Desk{
		clock:     opts.Clock,
		relayHold: opts.RelayHold,
		wake:      make(chan struct{}, 1),
		state:     State{Pattern: Idle},
	}
	if d.clock == nil {
		d.clock = SystemClock{}
	}
	d.pins = [numOutputs]gpio.PinOut{p.Green, p.Red, p.Buzzer, p.Relay}
	return d, nil
}

// Show asks the desk to play pattern p. It does not block: a pattern that is
// playing is cut short and p starts from its first step. Showing a repeating
// pattern (ReaderFault) while it is already playing changes nothing, so a
// reader may report its fault on every scan. A pattern the package does not
// define is shown as Idle. If Run is not running, p is played when it starts.
func (d *Desk) Show(p Pattern) {
	if !p.Valid() {
		p = Idle
	}
	d.mu.Lock()
	d.pending, d.queued = p, true
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default: // Run has a wake-up pending already; it will take the latest.
	}
}

// State returns the current levels of the outputs.
func (d *Desk) State() State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state
}

// Run plays the patterns passed to Show until ctx is done, then switches all
// outputs off and returns. It runs in the caller's goroutine and starts no
// other. Pin errors are recorded in State and do not stop Run; Run returns
// an error only if the desk is already running (ErrRunning) or if switching
// the outputs off at the end failed.
func (d *Desk) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.running {
		d.mu.Unlock()
		return ErrRunning
	}
	d.running = true
	d.state = State{Pattern: Idle}
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.running = false
		d.mu.Unlock()
	}()

	pl := player{d: d}
	pl.switchOff(true)
	for {
		if d.testHookSettled != nil {
			d.testHookSettled()
		}
		select {
		case <-ctx.Done():
			pl.stopTimers()
			if err := pl.switchOff(false); err != nil {
				return fmt.Errorf("desk: switch outputs off: %w", err)
			}
			return nil
		case <-d.wake:
			if p, ok := d.take(); ok {
				pl.start(p)
			}
		case <-chanOf(pl.step):
			pl.nextStep()
		case <-chanOf(pl.relay):
			pl.relay = nil
			pl.write(outRelay, false)
		}
	}
}

// take returns the pattern queued by Show, if any.
func (d *Desk) take() (Pattern, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.pending, d.queued
	d.queued = false
	return p, ok
}

// chanOf returns t's channel, or nil (never ready) for no timer.
func chanOf(t Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C()
}

// player is the state of Run's loop; only Run's goroutine touches it.
type player struct {
	d       *Desk
	pattern Pattern
	steps   []Step
	next    int   // index of the step the step timer will start
	step    Timer // fires at the end of the current step
	relay   Timer // fires at the end of the relay hold
	// known[o] is true when the pin is known to be at level[o], so an
	// unchanged level is not written again.
	known [numOutputs]bool
	level [numOutputs]bool
}

// start begins pattern p, pre-empting whatever is playing.
func (pl *player) start(p Pattern) {
	if p.Repeats() && pl.pattern == p {
		return
	}
	if pl.step != nil {
		pl.step.Stop()
		pl.step = nil
	}
	pl.pattern, pl.steps, pl.next = p, patterns[p], 0
	pl.d.setPattern(p)
	switch {
	case p.switchesRelay() && pl.d.relayHold > 0 && pl.d.pins[outRelay] != nil:
		if pl.relay != nil {
			pl.relay.Stop()
		}
		pl.write(outRelay, true)
		pl.relay = pl.d.clock.NewTimer(pl.d.relayHold)
	case p == CheckedOut && pl.relay != nil:
		pl.relay.Stop()
		pl.relay = nil
		pl.write(outRelay, false)
	}
	pl.nextStep()
}

// nextStep plays the next step of the pattern, wrapping around for a
// repeating pattern and going idle after the last step of any other.
func (pl *player) nextStep() {
	pl.step = nil
	if pl.next == len(pl.steps) {
		if pl.pattern.Repeats() && len(pl.steps) > 0 {
			pl.next = 0
		} else {
			pl.apply(Step{})
			if pl.pattern != Idle {
				pl.pattern = Idle
				pl.d.setPattern(Idle)
			}
			return
		}
	}
	s := pl.steps[pl.next]
	pl.next++
	pl.apply(s)
	pl.step = pl.d.clock.NewTimer(s.For)
}

func (pl *player) apply(s Step) {
	pl.write(outGreen, s.Green)
	pl.write(outRed, s.Red)
	pl.write(outBuzzer, s.Buzzer)
}

func (pl *player) stopTimers() {
	for _, t := range []*Timer{&pl.step, &pl.relay} {
		if *t != nil {
			(*t).Stop()
			*t = nil
		}
	}
	pl.pattern = Idle
	pl.d.setPattern(Idle)
}

// switchOff writes low to every output, even those believed low already if
// force is set. It returns the pin errors joined.
func (pl *player) switchOff(force bool) error {
	if force {
		pl.known = [numOutputs]bool{}
	}
	var errs []error
	for o := range numOutputs {
		errs = append(errs, pl.write(o, false))
	}
	return errors.Join(errs...)
}

// write sets output o to on unless it is known to be there already. A pin
// error is recorded in the desk's State and returned.
func (pl *player) write(o output, on bool) error {
	pin := pl.d.pins[o]
	if pin == nil || (pl.known[o] && pl.level[o] == on) {
		return nil
	}
	if err := pin.Out(gpio.Level(on)); err != nil {
		pl.known[o] = false
		err = fmt.Errorf("%s pin %s: out %s: %w", outputNames[o], pin, gpio.Level(on), err)
		pl.d.recordErr(err)
		return err
	}
	pl.known[o], pl.level[o] = true, on
	pl.d.setLevel(o, on)
	return nil
}

func (d *Desk) setLevel(o output, on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch o {
	case outGreen:
		d.state.Green = on
	case outRed:
		d.state.Red = on
	case outBuzzer:
		d.state.Buzzer = on
	case outRelay:
		d.state.Relay = on
	}
}

func (d *Desk) setPattern(p Pattern) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.state.Pattern = p
}

func (d *Desk) recordErr(err error) {
	now := d.clock.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.state.Err, d.state.ErrAt = err.Error(), now
}

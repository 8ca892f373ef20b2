package desk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/pin"
)

// fakeClock is a Clock that only moves when the test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer // pending, in creation order
}

var _ Clock = (*fakeClock)(nil)

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clk: c, at: c.now.Add(d), c: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	return t
}

// fireNext fires the earliest pending timer due at or before limit, moving
// the clock to its deadline. It reports false if no timer is due.
func (c *fakeClock) fireNext(limit time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := -1
	for j, t := range c.timers {
		if !t.at.After(limit) && (i < 0 || t.at.Before(c.timers[i].at)) {
			i = j
		}
	}
	if i < 0 {
		return false
	}
	t := c.timers[i]
	c.timers = slices.Delete(c.timers, i, i+1)
	c.now = t.at
	t.c <- t.at // capacity 1 and each timer fires once: never blocks
	return true
}

func (c *fakeClock) set(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
}

func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

type fakeTimer struct {
	clk *fakeClock
	at  time.Time
	c   chan time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.clk.mu.Lock()
	defer t.clk.mu.Unlock()
	i := slices.Index(t.clk.timers, t)
	if i < 0 {
		return false
	}
	t.clk.timers = slices.Delete(t.clk.timers, i, i+1)
	return true
}

// recPin is a gpio.PinOut that records every Out call with the fake time.
type recPin struct {
	name  string
	clk   *fakeClock
	epoch time.Time

	mu   sync.Mutex
	log  []string // "100ms:H"
	fail error    // returned by Out while set
}

var _ gpio.PinOut = (*recPin)(nil)

func (p *recPin) String() string   { return p.name }
func (p *recPin) Halt() error      { return nil }
func (p *recPin) Name() string     { return p.name }
func (p *recPin) Number() int      { return -1 }
func (p *recPin) Function() string { return "Out" }
func (p *recPin) Func() pin.Func   { return gpio.OUT }
func (p *recPin) PWM(gpio.Duty, physic.Frequency) error {
	return errors.New("recPin: no PWM")
}

func (p *recPin) Out(l gpio.Level) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	c := "L"
	if l {
		c = "H"
	}
	p.log = append(p.log, fmt.Sprintf("%v:%s", p.clk.Now().Sub(p.epoch), c))
	return nil
}

func (p *recPin) setFail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = err
}

// timeline returns the recorded level changes, "0s:H 100ms:L".
func (p *recPin) timeline() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, " ")
}

func (p *recPin) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = nil
}

// rig runs a Desk against a fake clock and recording pins. Every action
// waits until Run has applied it, so the tests are deterministic without
// sleeping.
type rig struct {
	t                         *testing.T
	clk                       *fakeClock
	epoch                     time.Time
	green, red, buzzer, relay *recPin
	desk                      *Desk

	mu       sync.Mutex
	settled  int // times Run has gone back to waiting
	signal   chan struct{}
	cancel   context.CancelFunc
	done     chan error
	finished bool
}

type rigOption func(*Pins, *Options)

func withoutBuzzer() rigOption { return func(p *Pins, _ *Options) { p.Buzzer = nil } }
func withoutRelay() rigOption  { return func(p *Pins, _ *Options) { p.Relay = nil } }
func relayHold(d time.Duration) rigOption {
	return func(_ *Pins, o *Options) { o.RelayHold = d }
}

// newRig builds a desk; start runs it.
func newRig(t *testing.T, opts ...rigOption) *rig {
	t.Helper()
	epoch := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	clk := &fakeClock{now: epoch}
	r := &rig{t: t, clk: clk, epoch: epoch, signal: make(chan struct{}, 1)}
	mk := func(name string) *recPin { return &recPin{name: name, clk: clk, epoch: epoch} }
	r.green, r.red, r.buzzer, r.relay = mk("GPIO17"), mk("GPIO27"), mk("GPIO22"), mk("GPIO23")
	pins := Pins{Green: r.green, Red: r.red, Buzzer: r.buzzer, Relay: r.relay}
	o := Options{Clock: clk}
	for _, opt := range opts {
		opt(&pins, &o)
	}
	d, err := New(pins, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	d.testHookSettled = r.onSettled
	r.desk = d
	t.Cleanup(r.stop)
	return r
}

func (r *rig) onSettled() {
	r.mu.Lock()
	r.settled++
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

func (r *rig) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.settled
}

// waitSettled waits until Run has settled more than n times. The deadline
// only turns a driver bug (an event Run never handles) into a failure
// instead of a hang.
func (r *rig) waitSettled(n int) {
	r.t.Helper()
	deadline := time.After(10 * time.Second)
	for r.count() <= n {
		select {
		case <-r.signal:
		case <-deadline:
			r.t.Fatalf("desk did not handle the event")
		}
	}
}

// start runs the desk, waits for it to switch everything off, and clears
// the pin logs so timelines start with the first pattern.
func (r *rig) start() {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	n := r.count()
	go func() { r.done <- r.desk.Run(ctx) }()
	r.waitSettled(n)
	for _, p := range r.pins() {
		p.clear()
	}
}

// stop cancels Run and returns its error.
func (r *rig) stop() {
	if r.cancel == nil || r.finished {
		return
	}
	r.finished = true
	r.cancel()
	if err := <-r.done; err != nil {
		r.t.Errorf("Run returned %v", err)
	}
}

func (r *rig) show(p Pattern) {
	r.t.Helper()
	n := r.count()
	r.desk.Show(p)
	r.waitSettled(n)
}

// advance moves the fake clock forward by d, firing the timers that fall
// due one at a time and letting Run handle each before firing the next.
func (r *rig) advance(d time.Duration) {
	r.t.Helper()
	target := r.clk.Now().Add(d)
	for {
		n := r.count()
		if !r.clk.fireNext(target) {
			break
		}
		r.waitSettled(n)
	}
	r.clk.set(target)
}

// at moves the clock to offset t from the epoch.
func (r *rig) at(t time.Duration) {
	r.t.Helper()
	r.advance(r.epoch.Add(t).Sub(r.clk.Now()))
}

func (r *rig) pins() []*recPin { return []*recPin{r.green, r.red, r.buzzer, r.relay} }

// timelines is the expected or recorded level changes of every output.
type timelines struct{ green, red, buzzer, relay string }

func (r *rig) timelines() timelines {
	return timelines{r.green.timeline(), r.red.timeline(), r.buzzer.timeline(), r.relay.timeline()}
}

func (r *rig) checkTimelines(want timelines) {
	r.t.Helper()
	got := r.timelines()
	for _, c := range []struct{ name, got, want string }{
		{"green", got.green, want.green},
		{"red", got.red, want.red},
		{"buzzer", got.buzzer, want.buzzer},
		{"relay", got.relay, want.relay},
	} {
		if c.got != c.want {
			r.t.Errorf("%s timeline:\n got %q\nwant %q", c.name, c.got, c.want)
		}
	}
}

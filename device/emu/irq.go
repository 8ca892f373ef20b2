package emu

import (
	"errors"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/pin"
)

// defaultPull is the IRQ line's pull before In sets one.
const defaultPull = gpio.Float

// maxQueuedEdges is how many edges the character-device semantics queue
// (the kernel's default event buffer per line is 16).
const maxQueuedEdges = 16

// maxLookAhead bounds how many chip events a waiter simulates while
// looking for its edge.
const maxLookAhead = 1000

// lineState is the IRQ line as the host sees it.
type lineState struct {
	pull    gpio.Pull
	edge    gpio.Edge
	level   gpio.Level // last computed level
	pending int        // edges seen and not yet consumed by WaitForEdge
	gen     uint64     // bumped by In and Halt to release waiters
}

// lineLevel is the IRQ pin's level. The output follows Status1Reg.IRq,
// inverted with ComIEnReg.IRqInv. With DivIEnReg.IRQPushPull the pin drives
// both levels; as an open-drain output (the reset state) it only pulls low,
// and a released line reads High only if the host enabled its pull-up. In
// hard power-down the line is released.
func (c *Chip) lineLevel() gpio.Level {
	m := &c.m
	released := gpio.Level(m.line.pull == gpio.PullUp)
	if m.hardPD {
		return released
	}
	high := c.irqActive() == (m.reg[regComIEn]&ienIRqInv == 0)
	if m.reg[regDivIEn]&ienIRQPushPull != 0 {
		return gpio.Level(high)
	}
	if !high {
		return gpio.Low
	}
	return released
}

// updateLine recomputes the line and records an edge of the kind In asked
// for.
func (c *Chip) updateLine() {
	m := &c.m
	l := c.lineLevel()
	if l == m.line.level {
		return
	}
	m.line.level = l
	switch {
	case m.line.edge == gpio.BothEdges,
		m.line.edge == gpio.RisingEdge && l == gpio.High,
		m.line.edge == gpio.FallingEdge && l == gpio.Low:
	default:
		return
	}
	if c.opts.ZeroTimeoutWaitsForever {
		m.line.pending = min(m.line.pending+1, maxQueuedEdges)
	} else {
		m.line.pending = 1
	}
}

// takeEdge consumes a pending edge: one queued edge with character-device
// semantics, all of them (they coalesce) with sysfs semantics.
func (c *Chip) takeEdge() bool {
	m := &c.m
	if m.line.pending == 0 {
		return false
	}
	if c.opts.ZeroTimeoutWaitsForever {
		m.line.pending--
	} else {
		m.line.pending = 0
	}
	return true
}

// IRQPin is the chip's IRQ output seen as a host GPIO input.
type IRQPin struct {
	c *Chip
}

var _ gpio.PinIn = (*IRQPin)(nil)

// String implements conn.Resource.
func (p *IRQPin) String() string { return p.Name() }

// Name implements pin.Pin.
func (p *IRQPin) Name() string { return p.c.opts.Name + "_IRQ" }

// Number implements pin.Pin: the pin has no host GPIO number.
func (p *IRQPin) Number() int { return -1 }

// Function implements pin.Pin.
func (p *IRQPin) Function() string { return string(p.Func()) }

// Func returns the pin's function.
func (p *IRQPin) Func() pin.Func { return gpio.IN }

// Halt implements conn.Resource: waiters in WaitForEdge return false.
func (p *IRQPin) Halt() error {
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m.line.gen++
	c.notify()
	return nil
}

// In implements gpio.PinIn: it sets the host's pull (which decides the
// level of a released open-drain line) and the edge WaitForEdge waits for,
// forgets pending edges and releases current waiters.
func (p *IRQPin) In(pull gpio.Pull, edge gpio.Edge) error {
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sync(c.now())
	if pull != gpio.PullNoChange {
		c.m.line.pull = pull
	}
	c.m.line.edge = edge
	c.m.line.level = c.lineLevel()
	c.m.line.pending = 0
	c.m.line.gen++
	c.notify()
	return nil
}

// Read implements gpio.PinIn: the line's level now.
func (p *IRQPin) Read() gpio.Level {
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sync(c.now())
	return c.lineLevel()
}

// Pull implements gpio.PinIn.
func (p *IRQPin) Pull() gpio.Pull {
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m.line.pull
}

// DefaultPull implements gpio.PinIn.
func (p *IRQPin) DefaultPull() gpio.Pull { return defaultPull }

// WaitForEdge implements gpio.PinIn: it reports whether an edge of the kind
// set by In occurred, waiting up to timeout for one.
//
// The meaning of timeout follows ChipOptions.ZeroTimeoutWaitsForever: false
// (sysfs) polls once for 0 and waits forever for a negative timeout; true
// (GPIO character device) waits forever for 0 and returns false at once for
// a negative timeout.
//
// On a VirtualClock, when a pending radio, timer or CRC event within the
// timeout would produce the edge, the clock advances to that event and
// WaitForEdge returns true. Otherwise it blocks in real time until the chip
// changes (a register access from another goroutine, Place, Inject), the
// virtual clock moves, In or Halt is called, or the timeout passes in real
// time. On SystemClock it sleeps until the next chip event as well.
func (p *IRQPin) WaitForEdge(timeout time.Duration) bool {
	c := p.c
	var forever, poll bool
	if c.opts.ZeroTimeoutWaitsForever {
		if timeout < 0 {
			return false
		}
		forever = timeout == 0
	} else {
		forever, poll = timeout < 0, timeout == 0
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m.line.edge == gpio.NoEdge {
		return false
	}
	gen := c.m.line.gen
	var deadline <-chan time.Time
	var horizon time.Time
	if !forever && !poll {
		tm := time.NewTimer(timeout)
		defer tm.Stop()
		deadline = tm.C
		horizon = c.now().Add(timeout)
	}
	for {
		now := c.now()
		c.sync(now)
		if c.takeEdge() {
			return true
		}
		if poll {
			return false
		}
		var wake *time.Timer
		var wakeC <-chan time.Time
		var moved <-chan struct{}
		if c.vclock != nil {
			if at, ok := c.lookAhead(horizon); ok {
				c.vclock.AdvanceTo(at)
				c.takeEdge()
				c.notify()
				return true
			}
			moved = c.vclock.movedCh()
		} else if e, at := c.nextEvent(); e != evNone {
			wake = time.NewTimer(at.Sub(now))
			wakeC = wake.C
		}
		changed := c.changed
		c.mu.Unlock()
		timedOut := false
		select {
		case <-changed:
		case <-moved:
		case <-wakeC:
		case <-deadline:
			timedOut = true
		}
		if wake != nil {
			wake.Stop()
		}
		c.mu.Lock()
		if c.m.line.gen != gen {
			return false
		}
		if timedOut {
			c.sync(c.now())
			return c.takeEdge()
		}
	}
}

// lookAhead simulates the chip's own events up to horizon (zero: without
// limit) and, if one of them produces an edge, keeps the simulated state and
// returns the event's time. Otherwise the state is put back.
func (c *Chip) lookAhead(horizon time.Time) (time.Time, bool) {
	s := c.snapshot()
	for range maxLookAhead {
		e, at := c.nextEvent()
		if e == evNone || (!horizon.IsZero() && at.After(horizon)) {
			break
		}
		c.fire(e, at)
		if c.m.line.pending > 0 {
			return at, true
		}
	}
	c.restore(s)
	return time.Time{}, false
}

// resetPin is the chip's NRSTPD input seen as a host GPIO output.
type resetPin struct {
	c   *Chip
	low bool // guarded by c.mu
}

var _ gpio.PinOut = (*resetPin)(nil)

func (p *resetPin) String() string   { return p.Name() }
func (p *resetPin) Name() string     { return p.c.opts.Name + "_NRSTPD" }
func (p *resetPin) Number() int      { return -1 }
func (p *resetPin) Function() string { return string(gpio.OUT) }
func (p *resetPin) Halt() error      { return nil }

// Out drives NRSTPD: Low powers the chip down, a rising edge resets it.
func (p *resetPin) Out(l gpio.Level) error {
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.sync(now)
	switch {
	case l == gpio.Low && !p.low:
		p.low = true
		c.hardPowerDown(now)
	case l == gpio.High && p.low:
		p.low = false
		c.hardReset(now)
	}
	c.updateLine()
	c.notify()
	return nil
}

// PWM is not supported on NRSTPD.
func (p *resetPin) PWM(gpio.Duty, physic.Frequency) error {
	return errors.New(p.Name() + ": pwm not supported")
}

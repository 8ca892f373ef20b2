package emu

import (
	"sync"
	"time"
)

// Clock tells the chip what time it is. Everything time-dependent in the
// emulator (frames on air, card answers, the timer, card power-up) is
// evaluated against Now when a register is accessed.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock: Now is time.Now and Sleep is time.Sleep.
// The daemon's emulated readers use it; transfers then cost no extra time.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep calls time.Sleep.
func (SystemClock) Sleep(d time.Duration) { time.Sleep(d) }

// VirtualClock is a clock that moves only when told to: by Advance,
// AdvanceTo and Sleep, by a Chip charging the cost of an SPI transfer, or by
// an IRQ pin waiting for an edge. It is safe for concurrent use.
type VirtualClock struct {
	mu    sync.Mutex
	now   time.Time
	moved chan struct{} // closed and replaced whenever now moves
}

// NewVirtualClock returns a clock that reads start until moved.
func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{now: start, moved: make(chan struct{})}
}

// Now returns the clock's current time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep advances the clock by d and returns at once.
func (c *VirtualClock) Sleep(d time.Duration) { c.Advance(d) }

// Advance moves the clock forward by d; zero or negative d does nothing.
func (c *VirtualClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set(c.now.Add(d))
}

// AdvanceTo moves the clock forward to t; a t not after Now does nothing,
// so the clock never runs backwards.
func (c *VirtualClock) AdvanceTo(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.set(t)
	}
}

func (c *VirtualClock) set(t time.Time) {
	c.now = t
	close(c.moved)
	c.moved = make(chan struct{})
}

// movedCh returns a channel that is closed the next time the clock moves.
func (c *VirtualClock) movedCh() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.moved
}

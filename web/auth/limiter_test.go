package auth_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/web/auth"
)

// clock is a hand-moved clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func TestLimiter(t *testing.T) {
	c := newClock()
	l := auth.NewLimiter(c.now)
	const ip = "192.0.2.7"
	for i := range auth.FreeFailures - 1 {
		if lock := l.Failed(ip); lock != 0 {
			t.Fatalf("failure %d: got a lock of %v, want none", i+1, lock)
		}
	}
	if w := l.Wait(ip); w != 0 {
		t.Errorf("within the free failures: got wait %v, want 0", w)
	}
	for i, want := range []time.Duration{auth.FirstLock, 2 * auth.FirstLock, 4 * auth.FirstLock} {
		if lock := l.Failed(ip); lock != want {
			t.Errorf("failure %d: got lock %v, want %v", auth.FreeFailures+i, lock, want)
		}
	}
	if w := l.Wait(ip); w != 4*auth.FirstLock {
		t.Errorf("wait: got %v, want %v", w, 4*auth.FirstLock)
	}
	if w := l.Wait("192.0.2.8"); w != 0 {
		t.Errorf("another address: got wait %v, want 0", w)
	}
	c.advance(auth.FirstLock)
	if w := l.Wait(ip); w != 3*auth.FirstLock {
		t.Errorf("after %v: got wait %v, want %v", auth.FirstLock, w, 3*auth.FirstLock)
	}
	for range 20 {
		l.Failed(ip)
	}
	if w := l.Wait(ip); w != auth.MaxLock {
		t.Errorf("after many failures: got wait %v, want the cap %v", w, auth.MaxLock)
	}
	l.Succeeded(ip)
	if w, lock := l.Wait(ip), l.Failed(ip); w != 0 || lock != 0 {
		t.Errorf("after a success: got wait %v and lock %v, want a fresh count", w, lock)
	}
}

func TestLimiterForgets(t *testing.T) {
	c := newClock()
	l := auth.NewLimiter(c.now)
	const ip = "192.0.2.7"
	for range auth.FreeFailures {
		l.Failed(ip)
	}
	c.advance(auth.ForgetAfter)
	if w := l.Wait(ip); w != 0 {
		t.Errorf("a day later: got wait %v, want 0", w)
	}
	if lock := l.Failed(ip); lock != 0 {
		t.Errorf("a day later, a wrong password: got lock %v, want none (the count starts again)", lock)
	}
}

// TestLimiterBounded: past MaxClients addresses the stalest is forgotten,
// the newest kept.
func TestLimiterBounded(t *testing.T) {
	c := newClock()
	l := auth.NewLimiter(c.now)
	for range auth.FreeFailures {
		l.Failed("stalest")
	}
	for i := range auth.MaxClients {
		c.advance(time.Millisecond)
		l.Failed("client" + strconv.Itoa(i))
	}
	if w := l.Wait("stalest"); w != 0 {
		t.Errorf("the stalest address: got wait %v, want 0 (forgotten)", w)
	}
	for range auth.FreeFailures - 1 {
		l.Failed("newest")
	}
	if lock := l.Failed("newest"); lock != auth.FirstLock {
		t.Errorf("the newest address: got lock %v, want %v", lock, auth.FirstLock)
	}
}

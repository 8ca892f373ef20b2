package auth

import (
	"sync"
	"time"
)

// Login attempts are limited per client address: FreeFailures wrong
// passwords in a row are allowed, then each further one locks the address
// out for twice as long as the one before (FirstLock, 2×, 4×, … up to
// MaxLock). A correct password clears the count; so does ForgetAfter
// without a failure.
const (
	FreeFailures = 5
	FirstLock    = 30 * time.Second
	MaxLock      = time.Hour
	ForgetAfter  = 24 * time.Hour
	MaxClients   = 4096 // addresses remembered; the stalest are forgotten first
)

// Limiter counts wrong passwords per client address. Create with
// NewLimiter; it is safe for concurrent use.
type Limiter struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*attempts
}

type attempts struct {
	failures    int
	lastFailure time.Time
	lockedUntil time.Time
}

// NewLimiter returns a Limiter that reads the time from now.
func NewLimiter(now func() time.Time) *Limiter {
	return &Limiter{now: now, m: map[string]*attempts{}}
}

// Wait returns how long client must wait before it may try again; zero
// when it may try now.
func (l *Limiter) Wait(client string) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.m[client]
	if !ok {
		return 0
	}
	if now.Sub(a.lastFailure) >= ForgetAfter {
		delete(l.m, client)
		return 0
	}
	return max(a.lockedUntil.Sub(now), 0)
}

// Failed records a wrong password from client and returns the lock it
// now has (zero while it is within its free failures).
func (l *Limiter) Failed(client string) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.m[client]
	if !ok || now.Sub(a.lastFailure) >= ForgetAfter {
		if len(l.m) >= MaxClients {
			l.forgetStalest()
		}
		a = &attempts{}
		l.m[client] = a
	}
	a.failures++
	a.lastFailure = now
	if a.failures < FreeFailures {
		return 0
	}
	lock := MaxLock
	if shift := a.failures - FreeFailures; shift < 8 {
		lock = min(FirstLock<<shift, MaxLock)
	}
	a.lockedUntil = now.Add(lock)
	return lock
}

// Succeeded clears client's failures.
func (l *Limiter) Succeeded(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, client)
}

func (l *Limiter) forgetStalest() {
	var stalest string
	var at time.Time
	first := true
	for k, a := range l.m {
		if first || a.lastFailure.Before(at) {
			stalest, at, first = k, a.lastFailure, false
		}
	}
	delete(l.m, stalest)
}

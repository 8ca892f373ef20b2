package dashboard

import (
	"sync"
	"time"
)

// Login attempts are limited per client address: freeFailures wrong
// passwords in a row are allowed, then each further one locks the address
// out for twice as long as the one before (firstLock, 2×, 4×, … up to
// maxLock). A correct password clears the count; so does forgetAfter
// without a failure.
const (
	freeFailures = 5
	firstLock    = 30 * time.Second
	maxLock      = time.Hour
	forgetAfter  = 24 * time.Hour
	maxClients   = 4096 // addresses remembered; the stalest are forgotten first
)

type loginLimiter struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*attempts
}

type attempts struct {
	failures    int
	lastFailure time.Time
	lockedUntil time.Time
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, m: map[string]*attempts{}}
}

// wait returns how long client must wait before it may try again; zero
// when it may try now.
func (l *loginLimiter) wait(client string) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.m[client]
	if !ok {
		return 0
	}
	if now.Sub(a.lastFailure) >= forgetAfter {
		delete(l.m, client)
		return 0
	}
	return max(a.lockedUntil.Sub(now), 0)
}

// failed records a wrong password from client and returns the lock it
// now has (zero while it is within its free failures).
func (l *loginLimiter) failed(client string) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.m[client]
	if !ok || now.Sub(a.lastFailure) >= forgetAfter {
		if len(l.m) >= maxClients {
			l.forgetStalest()
		}
		a = &attempts{}
		l.m[client] = a
	}
	a.failures++
	a.lastFailure = now
	if a.failures < freeFailures {
		return 0
	}
	lock := maxLock
	if shift := a.failures - freeFailures; shift < 8 {
		lock = min(firstLock<<shift, maxLock)
	}
	a.lockedUntil = now.Add(lock)
	return lock
}

// succeeded clears client's failures.
func (l *loginLimiter) succeeded(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, client)
}

func (l *loginLimiter) forgetStalest() {
	var stalest string
	var at time.Time
	for k, a := range l.m {
		if stalest == "" || a.lastFailure.Before(at) {
			stalest, at = k, a.lastFailure
		}
	}
	delete(l.m, stalest)
}

package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// SessionLimits bound the sessions of a Sessions.
type SessionLimits struct {
	Idle  time.Duration // a session ends after this long without a touching lookup
	Max   time.Duration // and this long after it was created, however busy
	Count int           // sessions held; the oldest is ended to make room
}

// Session is one logged-in browser: the user it logged in as (empty
// where there is only one account) and the CSRF token that its
// state-changing requests must carry.
type Session struct {
	User     string
	CSRF     string
	Created  time.Time
	LastSeen time.Time
}

// Sessions holds sessions in memory by the SHA-256 of their cookie token,
// so that the map's lookups do not leak the token through timing. Create
// with NewSessions; it is safe for concurrent use.
type Sessions struct {
	limits SessionLimits
	now    func() time.Time
	mu     sync.Mutex
	m      map[[sha256.Size]byte]*Session
}

// NewSessions returns an empty store that reads the time from now.
func NewSessions(limits SessionLimits, now func() time.Time) *Sessions {
	return &Sessions{limits: limits, now: now, m: map[[sha256.Size]byte]*Session{}}
}

// randomToken returns 32 random bytes, URL-safe base64.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Create starts a session for user, with a fresh CSRF token, and returns
// its cookie token: 32 random bytes in URL-safe base64.
func (s *Sessions) Create(user string) (token string, sess Session) {
	now := s.now()
	token = randomToken()
	ns := &Session{User: user, CSRF: randomToken(), Created: now, LastSeen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	for len(s.m) >= max(s.limits.Count, 1) {
		var oldest [sha256.Size]byte
		first := true
		for k, v := range s.m {
			if first || v.Created.Before(s.m[oldest].Created) {
				oldest, first = k, false
			}
		}
		delete(s.m, oldest)
	}
	s.m[sha256.Sum256([]byte(token))] = ns
	return token, *ns
}

// Lookup returns the session of token if it is still valid, and ends it
// if it has expired; touch counts the request as activity (a page or an
// action, not a live stream).
func (s *Sessions) Lookup(token string, touch bool) (Session, bool) {
	if token == "" {
		return Session{}, false
	}
	now := s.now()
	k := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[k]
	if !ok {
		return Session{}, false
	}
	if s.expired(sess, now) {
		delete(s.m, k)
		return Session{}, false
	}
	if touch {
		sess.LastSeen = now
	}
	return *sess, true
}

// End ends the session of token, if any.
func (s *Sessions) End(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha256.Sum256([]byte(token)))
}

func (s *Sessions) expire(now time.Time) {
	for k, v := range s.m {
		if s.expired(v, now) {
			delete(s.m, k)
		}
	}
}

func (s *Sessions) expired(sess *Session, now time.Time) bool {
	return now.Sub(sess.LastSeen) >= s.limits.Idle || now.Sub(sess.Created) >= s.limits.Max
}

package dashboard

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// Sessions live in memory only: a restart of seathq logs everyone out.
const (
	sessionIdle = 8 * time.Hour  // ended after this long without a request
	sessionMax  = 24 * time.Hour // ended this long after login, however busy
	maxSessions = 1024           // the oldest is ended to make room
)

// session is one logged-in browser.
type session struct {
	User     string
	created  time.Time
	lastSeen time.Time
}

// sessions holds the sessions by the SHA-256 of their cookie token, so
// that the map's lookups do not leak the token through timing.
type sessions struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[[sha256.Size]byte]*session
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, m: map[[sha256.Size]byte]*session{}}
}

// randomToken returns 32 random bytes, URL-safe base64.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for user and returns its cookie token.
func (s *sessions) create(user string) string {
	now := s.now()
	token := randomToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	for len(s.m) >= maxSessions {
		var oldest [sha256.Size]byte
		first := true
		for k, v := range s.m {
			if first || v.created.Before(s.m[oldest].created) {
				oldest, first = k, false
			}
		}
		delete(s.m, oldest)
	}
	s.m[sha256.Sum256([]byte(token))] = &session{User: user, created: now, lastSeen: now}
	return token
}

// lookup returns the session of token if it is still valid; touch counts
// the request as activity (a page, not the live stream).
func (s *sessions) lookup(token string, touch bool) (session, bool) {
	if token == "" {
		return session{}, false
	}
	now := s.now()
	k := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[k]
	if !ok {
		return session{}, false
	}
	if sess.expired(now) {
		delete(s.m, k)
		return session{}, false
	}
	if touch {
		sess.lastSeen = now
	}
	return *sess, true
}

// end ends the session of token, if any.
func (s *sessions) end(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha256.Sum256([]byte(token)))
}

func (s *sessions) expire(now time.Time) {
	for k, v := range s.m {
		if v.expired(now) {
			delete(s.m, k)
		}
	}
}

func (s *session) expired(now time.Time) bool {
	return now.Sub(s.lastSeen) >= sessionIdle || now.Sub(s.created) >= sessionMax
}

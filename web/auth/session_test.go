package auth_test

import (
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/web/auth"
)

var limits = auth.SessionLimits{Idle: time.Hour, Max: 4 * time.Hour, Count: 3}

func TestSessions(t *testing.T) {
	c := newClock()
	s := auth.NewSessions(limits, c.now)
	token, sess := s.Create("ayesha")
	if len(token) != 43 || sess.User != "ayesha" || len(sess.CSRF) != 43 || sess.CSRF == token || !sess.Created.Equal(c.t) {
		t.Errorf("Create: got %q %+v", token, sess)
	}
	got, ok := s.Lookup(token, false)
	if !ok || got != sess {
		t.Errorf("Lookup: got %+v %v, want %+v", got, ok, sess)
	}
	for _, bad := range []string{"", token + "x", token[1:]} {
		if _, ok := s.Lookup(bad, true); ok {
			t.Errorf("Lookup(%q) found a session", bad)
		}
	}
	other, _ := s.Create("bilal")
	s.End(token)
	if _, ok := s.Lookup(token, true); ok {
		t.Errorf("an ended session is still found")
	}
	if _, ok := s.Lookup(other, true); !ok {
		t.Errorf("ending one session ended another")
	}
}

// TestSessionsExpire: a session ends after Idle without a touching
// lookup, and after Max however busy.
func TestSessionsExpire(t *testing.T) {
	c := newClock()
	s := auth.NewSessions(limits, c.now)
	start := c.t
	idle, _ := s.Create("")
	busy, _ := s.Create("")
	c.advance(limits.Idle / 2)
	if _, ok := s.Lookup(idle, false); !ok {
		t.Fatalf("the idle session ended after Idle/2")
	}
	for { // touched just within Idle each time, up to a second before Max
		if _, ok := s.Lookup(busy, true); !ok {
			t.Fatalf("a busy session ended after %v, before Max", c.t.Sub(start))
		}
		left := start.Add(limits.Max - time.Second).Sub(c.t)
		if left <= 0 {
			break
		}
		c.advance(min(left, limits.Idle-time.Minute))
	}
	if _, ok := s.Lookup(idle, false); ok {
		t.Errorf("a session only looked at without touching outlived Idle")
	}
	c.advance(time.Second)
	if _, ok := s.Lookup(busy, true); ok {
		t.Errorf("the busy session outlived Max")
	}
}

func TestSessionsIdleBoundary(t *testing.T) {
	c := newClock()
	s := auth.NewSessions(limits, c.now)
	token, _ := s.Create("")
	c.advance(limits.Idle - time.Second)
	if _, ok := s.Lookup(token, false); !ok {
		t.Errorf("ended a second before Idle")
	}
	c.advance(time.Second)
	if _, ok := s.Lookup(token, false); ok {
		t.Errorf("outlived Idle")
	}
}

// TestSessionsBounded: past Count sessions the oldest is ended.
func TestSessionsBounded(t *testing.T) {
	c := newClock()
	s := auth.NewSessions(limits, c.now)
	var tokens []string
	for range limits.Count + 1 {
		tok, _ := s.Create("")
		tokens = append(tokens, tok)
		c.advance(time.Minute)
	}
	if _, ok := s.Lookup(tokens[0], false); ok {
		t.Errorf("the oldest session survived a full store")
	}
	for i, tok := range tokens[1:] {
		if _, ok := s.Lookup(tok, false); !ok {
			t.Errorf("session %d ended, want only the oldest", i+1)
		}
	}
}

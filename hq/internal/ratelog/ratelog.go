// Package ratelog logs at most one line per key per interval and says how
// many were suppressed in between, so a flood of bad messages from one
// gateway cannot flood HQ's log.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Log is a rate-limited logger. It is safe for concurrent use.
type Log struct {
	lg    *slog.Logger
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
	quiet map[string]int
}

// New returns a Log writing to lg at most once per key per every.
func New(lg *slog.Logger, every time.Duration) *Log {
	return &Log{lg: lg, every: every, last: map[string]time.Time{}, quiet: map[string]int{}}
}

// Log writes msg at level unless a line with the same key was written less
// than every ago.
func (l *Log) Log(level slog.Level, key, msg string, args ...any) {
	now := time.Now()
	l.mu.Lock()
	if last, ok := l.last[key]; ok && now.Sub(last) < l.every {
		l.quiet[key]++
		l.mu.Unlock()
		return
	}
	suppressed := l.quiet[key]
	l.last[key] = now
	delete(l.quiet, key)
	if len(l.last) > 10000 { // a flood of distinct keys: forget the old ones
		clear(l.last)
	}
	l.mu.Unlock()
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	l.lg.Log(context.Background(), level, msg, args...)
}

package ledger

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// limitedLog logs at most one line per key per interval, and says how many
// were suppressed in between.
type limitedLog struct {
	lg    *slog.Logger
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
	quiet map[string]int
}

func newLimitedLog(lg *slog.Logger, every time.Duration) *limitedLog {
	return &limitedLog{lg: lg, every: every, last: map[string]time.Time{}, quiet: map[string]int{}}
}

func (l *limitedLog) log(level slog.Level, key, msg string, args ...any) {
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

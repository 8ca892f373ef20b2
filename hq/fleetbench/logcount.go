package fleetbench

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// LogCounter is a slog.Handler that counts log records, at Info and above,
// by message and error, with numbers and IDs blurred so that the same
// failure of many gateways counts as one kind: a fleet's gateways log
// through it, and the report says what went wrong how often (connection
// attempts refused, acknowledgements that did not come, …).
type LogCounter struct {
	mu     sync.Mutex
	counts map[string]LogCount
}

// LogCount is how often one kind of record was logged, and when first and
// last.
type LogCount struct {
	N           uint64
	First, Last time.Time
}

var _ slog.Handler = (*LogCounter)(nil)

// NewLogCounter returns an empty counter.
func NewLogCounter() *LogCounter { return &LogCounter{counts: map[string]LogCount{}} }

// Enabled implements slog.Handler: Info and above.
func (c *LogCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

// Handle implements slog.Handler.
func (c *LogCounter) Handle(_ context.Context, r slog.Record) error {
	key := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			key += ": " + blur(a.Value.String())
			return false
		}
		return true
	})
	c.mu.Lock()
	n := c.counts[key]
	if n.N == 0 {
		n.First = r.Time
	}
	n.N++
	n.Last = r.Time
	c.counts[key] = n
	c.mu.Unlock()
	return nil
}

// WithAttrs implements slog.Handler; attributes are not counted.
func (c *LogCounter) WithAttrs([]slog.Attr) slog.Handler { return c }

// WithGroup implements slog.Handler; groups are not counted.
func (c *LogCounter) WithGroup(string) slog.Handler { return c }

// Counts returns the counts so far.
func (c *LogCounter) Counts() map[string]LogCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}

// FormatCounts lists the counts, most frequent first, one a line, with
// when each kind was first and last logged, in seconds since origin.
func FormatCounts(counts map[string]LogCount, origin time.Time) string {
	keys := slices.Collect(maps.Keys(counts))
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(counts[b].N, counts[a].N); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	var b strings.Builder
	for _, k := range keys {
		n := counts[k]
		fmt.Fprintf(&b, "  %7d  %6.1f s … %6.1f s  %s\n", n.N, n.First.Sub(origin).Seconds(), n.Last.Sub(origin).Seconds(), k)
	}
	return b.String()
}

// blur replaces every run of digits with "N" and cuts long messages.
func blur(s string) string {
	var b strings.Builder
	digits := false
	for _, r := range s {
		if r >= '0' && r <= '9' {
			if !digits {
				b.WriteByte('N')
			}
			digits = true
			continue
		}
		digits = false
		b.WriteRune(r)
	}
	out := b.String()
	if len(out) > 160 {
		out = out[:160] + "…"
	}
	return out
}

package dashboard

import (
	"context"
	"sync"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/hq/ledger"
)

// How long answers from JetStream are reused. The fleet is in memory and
// read afresh every time; the ledger and the rollouts are reads of the
// key-value store, which every open page would otherwise make every
// second.
const (
	ledgerTTL   = 15 * time.Second
	rolloutsTTL = 2 * time.Second
	maxCached   = 4096 // entries; all are dropped when there are more
)

// cache keeps answers for a while, by key. A miss computes without the
// lock held, so two pages that miss at once both ask.
type cache struct {
	mu sync.Mutex
	m  map[string]cacheEntry
}

type cacheEntry struct {
	at  time.Time
	val any
}

func newCache() *cache { return &cache{m: map[string]cacheEntry{}} }

// cached returns the value kept under key if it is younger than ttl at
// now, else f's, kept when f succeeds.
func cached[T any](c *cache, key string, ttl time.Duration, now time.Time, f func() (T, error)) (T, error) {
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < ttl && !now.Before(e.at) {
		return e.val.(T), nil
	}
	v, err := f()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCached {
		clear(c.m)
	}
	c.m[key] = cacheEntry{at: now, val: v}
	c.mu.Unlock()
	return v, nil
}

// ledgerDays returns centre's ledger from from to to, from a copy at most
// ledgerTTL old.
func (d *Dashboard) ledgerDays(ctx context.Context, centre string, from, to access.Date) ([]ledger.Day, error) {
	key := "ledger/" + centre + "/" + from.String() + "/" + to.String()
	return cached(d.cache, key, ledgerTTL, d.o.Now(), func() ([]ledger.Day, error) {
		return d.o.Ledger.Query(ctx, centre, from, to)
	})
}

package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/access"
)

// dayRecord is one centre's day (KV LEDGER, key {centre}.{YYYY-MM-DD}).
type dayRecord struct {
	Seconds   int64             `json:"seconds"`
	Sessions  int64             `json:"sessions"`  // pieces of sessions counted
	Untrusted int64             `json:"untrusted"` // of which with an untrusted clock
	Invalid   int64             `json:"invalid"`   // session ends that could not be measured
	Seats     map[string]int64  `json:"seats,omitempty"`
	Folded    map[string]uint64 `json:"folded"` // gateway → last seq taken in
}

// add takes in the pieces of event seq of gateway, unless it already has.
func (r dayRecord) add(gateway string, seq uint64, ps []piece) (dayRecord, bool) {
	if r.Folded[gateway] >= seq {
		return r, false
	}
	r.Seats = maps.Clone(r.Seats)
	if r.Seats == nil {
		r.Seats = map[string]int64{}
	}
	r.Folded = maps.Clone(r.Folded)
	if r.Folded == nil {
		r.Folded = map[string]uint64{}
	}
	for _, p := range ps {
		r.Sessions++
		if p.Untrusted {
			r.Untrusted++
		}
		if p.Invalid {
			r.Invalid++
			continue
		}
		r.Seconds += p.Seconds
		r.Seats[p.Seat] += p.Seconds
	}
	r.Folded[gateway] = seq
	return r, true
}

func dayKey(centre string, d access.Date) string { return centre + "." + d.String() }

func cursorKey(centre, gateway string) string { return "cursor." + centre + "." + gateway }

// errConflict: the key changed since it was read.
var errConflict = errors.New("ledger record changed meanwhile")

// getJSON reads key into v and returns its revision, 0 when absent.
func getJSON(ctx context.Context, kv jetstream.KeyValue, key string, v any) (uint64, error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return 0, fmt.Errorf("read %s: %w", key, err)
	}
	return e.Revision(), nil
}

// putJSON writes v at key if the key is still at revision rev (0: absent)
// and returns the new revision, or errConflict.
func putJSON(ctx context.Context, kv jetstream.KeyValue, key string, v any, rev uint64) (uint64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	var nrev uint64
	if rev == 0 {
		nrev, err = kv.Create(ctx, key, b)
	} else {
		nrev, err = kv.Update(ctx, key, b, rev)
	}
	switch {
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return 0, errConflict
	case err != nil:
		return 0, fmt.Errorf("write %s: %w", key, err)
	}
	return nrev, nil
}

// cache keeps the records the folding goroutine has read or changed, with
// the revision each had in LEDGER. Changed (dirty) records are written back
// together by flush, with a compare-and-set each; a clean record that is
// stale (another instance wrote it) only costs a failed write and a fresh
// read, never a wrong total.
type cache[T any] struct {
	m       map[string]*entry[T]
	changed []string // keys of the dirty entries
}

type entry[T any] struct {
	v     T
	rev   uint64 // revision in LEDGER of what v was read as or last written as; 0 when absent
	dirty bool   // v has changes not yet written
}

// maxCached bounds the clean records kept between flushes.
const maxCached = 20000

// load returns key's entry, reading it from LEDGER when it is not cached
// (or, if fresh is set, when the cached one is clean: it may be stale).
func load[T any](ctx context.Context, c *cache[T], kv jetstream.KeyValue, key string, fresh bool) (*entry[T], error) {
	if e, ok := c.m[key]; ok && (e.dirty || !fresh) {
		return e, nil
	}
	e := &entry[T]{}
	rev, err := getJSON(ctx, kv, key, &e.v)
	if err != nil {
		return nil, err
	}
	e.rev = rev
	if c.m == nil {
		c.m = map[string]*entry[T]{}
	}
	c.m[key] = e
	return e, nil
}

// set changes key's value (loaded before) and marks it dirty.
func (c *cache[T]) set(key string, v T) {
	e := c.m[key]
	e.v = v
	if !e.dirty {
		e.dirty = true
		c.changed = append(c.changed, key)
	}
}

// write writes back every dirty entry. It stops at the first failure;
// entries written so far are clean.
func (c *cache[T]) write(ctx context.Context, kv jetstream.KeyValue) error {
	for len(c.changed) > 0 {
		key := c.changed[0]
		e := c.m[key]
		rev, err := putJSON(ctx, kv, key, e.v, e.rev)
		if err != nil {
			return err
		}
		e.rev, e.dirty = rev, false
		c.changed = c.changed[1:]
	}
	c.changed = nil
	if len(c.m) > maxCached {
		c.m = nil
	}
	return nil
}

// forget drops the dirty entries (after a failed write: LEDGER is the
// truth), and every entry when there are too many.
func (c *cache[T]) forget() {
	for _, key := range c.changed {
		delete(c.m, key)
	}
	c.changed = nil
	if len(c.m) > maxCached {
		c.m = nil
	}
}

func (c *cache[T]) dirty() bool { return len(c.changed) > 0 }

package ledger

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// MaxQueryDays is the longest range Query answers at once.
const MaxQueryDays = 366

// Day is a centre's seat time on one day (in Options.Location).
type Day struct {
	Date     access.Date      `json:"date"`
	Seconds  int64            `json:"seconds"`         // seat-seconds, every seat together
	Seats    map[string]int64 `json:"seats,omitempty"` // seat → seconds
	Sessions int64            `json:"sessions"`        // session pieces counted (a session across midnight counts on both days)
	// Untrusted pieces had an event with clock_trusted false; Invalid
	// session ends could not be measured and added nothing.
	Untrusted int64 `json:"untrusted"`
	Invalid   int64 `json:"invalid"`
	// Gateways contributed to the day; Suspect are those of them with a
	// fork or reset on or before the day (ingest.Head.SuspectSince).
	Gateways []string `json:"gateways,omitempty"`
	Suspect  []string `json:"suspect,omitempty"`
	// Verified: no untrusted or invalid piece and no suspect gateway.
	Verified bool `json:"verified"`
}

// Hours is Seconds in hours.
func (d Day) Hours() float64 { return float64(d.Seconds) / 3600 }

// Query returns centre's days from from to to, both included, one Day per
// date (a date without seat time has zero Seconds and is Verified).
func (l *Ledger) Query(ctx context.Context, centre string, from, to access.Date) ([]Day, error) {
	switch {
	case !wire.ValidID(centre):
		return nil, fmt.Errorf("ledger query: bad centre %q", centre)
	case !from.Valid() || !to.Valid() || to.Before(from):
		return nil, fmt.Errorf("ledger query: bad range %s..%s", from, to)
	case to.DaysSince(from) >= MaxQueryDays:
		return nil, fmt.Errorf("ledger query: %s..%s is more than %d days", from, to, MaxQueryDays)
	}
	kv, err := l.js.KeyValue(ctx, Bucket)
	if err != nil {
		return nil, fmt.Errorf("ledger query: bucket %s: %w", Bucket, err)
	}
	heads := map[string]ingest.Head{}
	var chains jetstream.KeyValue
	head := func(gateway string) (ingest.Head, error) {
		if h, ok := heads[gateway]; ok {
			return h, nil
		}
		if chains == nil {
			c, err := l.js.KeyValue(ctx, ingest.ChainsBucket)
			if errors.Is(err, jetstream.ErrBucketNotFound) {
				return ingest.Head{}, nil
			}
			if err != nil {
				return ingest.Head{}, err
			}
			chains = c
		}
		h, _, err := ingest.LoadHead(ctx, chains, centre, gateway)
		heads[gateway] = h
		return h, err
	}

	var out []Day
	for d := from; !d.After(to); d = d.AddDays(1) {
		var rec dayRecord
		if _, err := getJSON(ctx, kv, dayKey(centre, d), &rec); err != nil {
			return nil, fmt.Errorf("ledger query: %w", err)
		}
		day := Day{Date: d, Seconds: rec.Seconds, Seats: rec.Seats, Sessions: rec.Sessions,
			Untrusted: rec.Untrusted, Invalid: rec.Invalid, Gateways: slices.Sorted(maps.Keys(rec.Folded))}
		for _, g := range day.Gateways {
			h, err := head(g)
			if err != nil {
				return nil, fmt.Errorf("ledger query: %w", err)
			}
			if !h.SuspectSince.IsZero() && !access.DateOf(h.SuspectSince.In(l.o.Location)).After(d) {
				day.Suspect = append(day.Suspect, g)
			}
		}
		day.Verified = day.Untrusted == 0 && day.Invalid == 0 && len(day.Suspect) == 0
		out = append(out, day)
	}
	return out, nil
}

// Folded returns the seq of gateway's last event folded into the ledger.
func (l *Ledger) Folded(ctx context.Context, centre, gateway string) (uint64, error) {
	kv, err := l.js.KeyValue(ctx, Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: bucket %s: %w", Bucket, err)
	}
	var c cursor
	if _, err := getJSON(ctx, kv, cursorKey(centre, gateway), &c); err != nil {
		return 0, fmt.Errorf("ledger: %w", err)
	}
	return c.Seq, nil
}

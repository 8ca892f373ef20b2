package ledger

import (
	"maps"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
)

// cursor is where the ledger stands in one gateway's chain (KV LEDGER, key
// cursor.{centre}.{gateway}).
type cursor struct {
	Seq  uint64                 `json:"seq"`            // last event folded
	Hash string                 `json:"hash"`           // its hash
	Open map[string]openSession `json:"open,omitempty"` // seat → its session
}

// openSession is a session that has begun and not yet ended.
type openSession struct {
	Since   time.Time `json:"since"`
	Trusted bool      `json:"trusted"` // the event that opened it had a trusted clock
}

// piece is the part of one session on one seat within one day.
type piece struct {
	Day       access.Date
	Seat      string
	Seconds   int64
	Untrusted bool // an event of the session had an untrusted clock
	Invalid   bool // the session could not be measured: no seconds
}

// fold applies e, the event after cur, to the open sessions and returns
// the new cursor and the pieces of the sessions e ended, in loc's days.
func fold(cur cursor, e store.Event, loc *time.Location) (cursor, []piece) {
	next := cursor{Seq: e.Seq, Hash: e.Hash, Open: maps.Clone(cur.Open)}
	if next.Open == nil {
		next.Open = map[string]openSession{}
	}
	var out []piece
	end := func(seat string) {
		o, had := next.Open[seat]
		delete(next.Open, seat)
		since, trusted := e.Since, e.ClockTrusted
		if had {
			trusted = trusted && o.Trusted
			if since.IsZero() {
				since = o.Since
			}
		}
		if seat == "" || since.IsZero() || e.Time.Before(since) {
			out = append(out, piece{Day: access.DateOf(e.Time.In(loc)), Seat: seat, Untrusted: !trusted, Invalid: true})
			return
		}
		out = append(out, split(seat, since, e.Time, !trusted, loc)...)
	}
	open := func(seat string) {
		next.Open[seat] = openSession{Since: e.Time, Trusted: e.ClockTrusted}
	}
	switch e.Kind {
	case access.OutcomeCheckin:
		open(e.Seat)
	case access.OutcomeMove:
		end(e.PrevSeat)
		open(e.Seat)
	case access.OutcomeCheckout, access.OutcomeAutoCheckout:
		end(e.Seat)
	}
	if len(next.Open) == 0 {
		next.Open = nil
	}
	return next, out
}

// split cuts the session from..to on seat at loc's midnights.
func split(seat string, from, to time.Time, untrusted bool, loc *time.Location) []piece {
	if !from.Before(to) {
		return []piece{{Day: access.DateOf(from.In(loc)), Seat: seat, Untrusted: untrusted}}
	}
	var out []piece
	for from.Before(to) {
		day := access.DateOf(from.In(loc))
		midnight := time.Date(day.Year, day.Month, day.Day+1, 0, 0, 0, 0, loc)
		end := to
		if midnight.Before(to) {
			end = midnight
		}
		out = append(out, piece{Day: day, Seat: seat, Seconds: int64(end.Sub(from) / time.Second), Untrusted: untrusted})
		from = end
	}
	return out
}

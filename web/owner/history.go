package owner

import (
	"fmt"
	"sync"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
)

// history keeps the recent event log in memory for the today page and
// the charts: it reads only the events appended since it last looked. On
// first use it finds where the window starts by bisecting the log on
// time, so a gateway with months of events does not read them all.
//
// Event times are almost in sequence order: taps use the store's clock,
// which never goes back, but an auto check-out carries the time the
// session should have ended, which may be earlier. slack covers that.
type history struct {
	mu     sync.Mutex
	loaded bool
	last   uint64        // the highest sequence number read
	events []store.Event // events with Time >= the window's start - slack, by Seq
}

const historySlack = 48 * time.Hour

// since returns the access events (no firmware reports) whose Time is at
// or after from, in log order. from must not go back between calls by
// more than historySlack (the dashboard asks for the last 30 days).
func (h *history) since(st Store, from time.Time) ([]store.Event, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	keep := from.Add(-historySlack)
	if !h.loaded {
		first, err := firstAtOrAfter(st, keep)
		if err != nil {
			return nil, err
		}
		h.last, h.loaded = first-1, true
	}
	for {
		page, err := st.Events(h.last, store.MaxEventsPage)
		if err != nil {
			return nil, err
		}
		for _, ev := range page {
			h.last = ev.Seq
			if ev.Kind == store.KindFirmware || ev.Time.Before(keep) {
				continue
			}
			ev.Hash, ev.Firmware = "", nil
			h.events = append(h.events, ev)
		}
		if len(page) < store.MaxEventsPage {
			break
		}
	}
	drop := 0
	for drop < len(h.events) && h.events[drop].Time.Before(keep) {
		drop++
	}
	h.events = h.events[drop:]
	var out []store.Event
	for _, ev := range h.events {
		if !ev.Time.Before(from) {
			out = append(out, ev)
		}
	}
	return out, nil
}

// firstAtOrAfter returns the sequence number of the first event whose
// time is at or after t, taking times as ordered by sequence number (see
// history); one more than the last event when there is none.
func firstAtOrAfter(st Store, t time.Time) (uint64, error) {
	last, err := st.LastSeq()
	if err != nil {
		return 0, err
	}
	lo, hi := uint64(1), last+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		page, err := st.Events(mid-1, 1) // the first event from mid on: pruned ones are gone
		if err != nil {
			return 0, fmt.Errorf("find the events of %s: %w", t.Format(time.DateOnly), err)
		}
		if len(page) == 0 || !page[0].Time.Before(t) {
			hi = mid
		} else {
			lo = page[0].Seq + 1
		}
	}
	return lo, nil
}

// endsSession reports whether an event ended a session, and at which seat.
func endsSession(ev store.Event) (seat string, ok bool) {
	if ev.Since.IsZero() {
		return "", false
	}
	switch ev.Kind {
	case access.OutcomeCheckout, access.OutcomeAutoCheckout:
		return ev.Seat, true
	case access.OutcomeMove:
		return ev.PrevSeat, true
	}
	return "", false
}

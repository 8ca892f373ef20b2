package owner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// hub tells the open streams that something changed. Each stream has a
// channel with room for one signal: a burst of events is one refresh,
// and Notify never waits for a slow browser.
type hub struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

func (h *hub) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

func (h *hub) notify() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default: // a refresh is already due
		}
	}
}

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// maxStreams bounds the live seat maps open at once.
const maxStreams = 32

// keepAlive is how many quiet refresh periods pass before a comment line
// is sent, so that idle connections are not dropped along the way.
const keepAlive = 10

// stream serves /events, a text/event-stream of the seat map:
//
//	event: seats        the whole map (JSON, see seatMap), sent at once,
//	data: {...}         after every Notify, and when a reader's health
//	                    changes (looked at every Options.Refresh)
//	event: expired      the session ended; the page goes to the login
//
// Nothing is sent when nothing changed but a comment now and then.
func (d *Dashboard) stream(w http.ResponseWriter, r *http.Request) {
	if d.hub.count() >= maxStreams {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "too many live seat maps open"})
		return
	}
	c, _ := r.Cookie(cookieName) // data has checked it
	token := c.Value
	l := languages.Pick(r)
	rc := http.NewResponseController(w)
	// The server's WriteTimeout is for pages; a stream lasts as long as
	// the page is open.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		d.log.Warn("owner dashboard: stream write deadline", "err", err)
	}
	changed, unsubscribe := d.hub.subscribe()
	defer unsubscribe()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return
	}
	var last []byte
	quiet := 0
	send := func() error {
		m, err := d.seatMap(l)
		if err != nil {
			d.log.Error("owner dashboard: seat map for the stream", "err", err)
			return nil // try again at the next signal
		}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if bytes.Equal(b, last) {
			if quiet++; quiet < keepAlive {
				return nil
			}
			quiet = 0
			if _, err := fmt.Fprint(w, ": still here\n\n"); err != nil {
				return err
			}
			return rc.Flush()
		}
		last, quiet = b, 0
		if _, err := fmt.Fprintf(w, "event: seats\ndata: %s\n\n", b); err != nil {
			return err
		}
		return rc.Flush()
	}
	if send() != nil {
		return
	}
	tick := time.NewTicker(d.o.Refresh)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-d.closed:
			return
		case <-changed:
		case <-tick.C:
			if _, ok := d.sessions.Lookup(token, false); !ok {
				fmt.Fprint(w, "event: expired\ndata: {}\n\n")
				_ = rc.Flush()
				return
			}
		}
		if send() != nil {
			return
		}
	}
}

// Package live is the server push of the owner's and HQ's dashboards: a
// hub that tells the open pages something changed, and the
// text/event-stream each page listens on.
package live

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Hub tells the open streams that something changed. Each stream has a
// channel with room for one signal: a burst of changes is one refresh,
// and Notify never waits for a slow browser.
type Hub struct {
	max  int
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

// NewHub returns a hub that admits at most max streams at once.
func NewHub(max int) *Hub { return &Hub{max: max, subs: map[chan struct{}]struct{}{}} }

// Subscribe adds a stream, unless the hub is full (ok false); leave
// removes it.
func (h *Hub) Subscribe() (changed <-chan struct{}, leave func(), ok bool) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) >= h.max {
		return nil, nil, false
	}
	h.subs[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}, true
}

// Notify signals every stream.
func (h *Hub) Notify() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default: // a refresh is due already
		}
	}
}

// Stream is an open text/event-stream.
type Stream struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	keepAlive int
	quiet     int
}

// Open starts the stream: it lifts the server's write deadline (which is
// for pages; a stream lasts as long as its page is open), writes the
// headers and asks the browser to reconnect after 2 s. A quiet stream
// sends a comment line every keepAlive calls of Quiet, so that idle
// connections are not dropped along the way. The error of lifting the
// deadline is returned with a working stream (log it); a stream that
// could not be started is nil.
func Open(w http.ResponseWriter, keepAlive int) (*Stream, error) {
	s := &Stream{w: w, rc: http.NewResponseController(w), keepAlive: keepAlive}
	var warn error
	if err := s.rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		warn = fmt.Errorf("cannot lift a stream's write deadline: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return nil, err
	}
	return s, warn
}

// Send writes one event; data must be one line (JSON is).
func (s *Stream) Send(event string, data []byte) error {
	s.quiet = 0
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", event, data); err != nil {
		return err
	}
	return s.rc.Flush()
}

// Quiet counts a refresh that had nothing new, and sends a comment line
// every keepAlive of them.
func (s *Stream) Quiet() error {
	if s.quiet++; s.quiet < s.keepAlive {
		return nil
	}
	s.quiet = 0
	if _, err := fmt.Fprint(s.w, ": still here\n\n"); err != nil {
		return err
	}
	return s.rc.Flush()
}

// Run calls push at once, then after every signal of changed and every
// tick of every, until ctx or closed ends or push fails. Before each
// push after the first it asks alive whether the session still holds;
// when it does not, it sends the event "expired" (the page goes to the
// login) and returns.
func (s *Stream) Run(ctx context.Context, closed, changed <-chan struct{}, every time.Duration, alive func() bool, push func() error) {
	if push() != nil {
		return
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-closed:
			return
		case <-changed:
		case <-tick.C:
		}
		if !alive() {
			_ = s.Send("expired", []byte("{}"))
			return
		}
		if push() != nil {
			return
		}
	}
}

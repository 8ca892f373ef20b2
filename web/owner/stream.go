package owner

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/pkfreelance/seatgate/web/live"
)

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
	changed, leave, ok := d.hub.Subscribe()
	if !ok {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "too many live seat maps open"})
		return
	}
	defer leave()
	c, _ := r.Cookie(cookieName) // data has checked it
	token := c.Value
	l := languages.Pick(r)
	s, err := live.Open(w, keepAlive)
	if s == nil {
		return
	}
	if err != nil {
		d.log.Warn("owner dashboard: stream", "err", err)
	}
	var last []byte
	push := func() error {
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
			return s.Quiet()
		}
		last = b
		return s.Send("seats", b)
	}
	alive := func() bool { _, ok := d.sessions.Lookup(token, false); return ok }
	s.Run(r.Context(), d.closed, changed, d.o.Refresh, alive, push)
}

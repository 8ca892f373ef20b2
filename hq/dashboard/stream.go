package dashboard

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/pkfreelance/seatgate/sync/wire"
	sse "github.com/pkfreelance/seatgate/web/live"
)

// maxStreams bounds the live pages open at once.
const maxStreams = 256

// keepAlive is how many quiet polls pass before a comment line is sent,
// so that idle connections are not dropped along the way.
const keepAlive = 15

// Stream topics: one per page.
const (
	TopicOverview = "overview"
	TopicCentre   = "centre" // with centre=ID
	TopicRollouts = "rollouts"
)

// stream serves /events?topic=…, a text/event-stream of a page's live
// parts:
//
//	event: update       {"element id": "its new HTML", …}, sent at once,
//	data: {...}         then whenever a part changed (looked at every
//	                    Options.PushEvery, and at once after Notify)
//	event: expired      the session ended; the page goes to the login
//
// Only what changed since the last event is sent; nothing is sent when
// nothing changed but a comment now and then.
func (d *Dashboard) stream(w http.ResponseWriter, r *http.Request) {
	topic, centre := r.URL.Query().Get("topic"), r.URL.Query().Get("centre")
	switch {
	case topic == TopicCentre && !wire.ValidID(centre):
		http.Error(w, fmt.Sprintf("centre %.40q: want a centre ID", centre), http.StatusBadRequest)
		return
	case topic != TopicOverview && topic != TopicCentre && topic != TopicRollouts:
		http.Error(w, fmt.Sprintf("topic %.40q: want overview, centre or rollouts", topic), http.StatusBadRequest)
		return
	}
	if !d.auth.valid(r) { // requireData has looked; this stream must never open without a session
		http.Error(w, "log in first: no valid dashboard session", http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodHead { // the page asking whether its session is still valid
		w.Header().Set("Content-Type", "text/event-stream")
		return
	}
	changed, leave, ok := d.hub.Subscribe()
	if !ok {
		w.Header().Set("Retry-After", "10")
		http.Error(w, "too many live pages open", http.StatusServiceUnavailable)
		return
	}
	defer leave()
	st, err := sse.Open(w, keepAlive)
	if st == nil {
		return
	}
	if err != nil {
		d.rlog.Log(slog.LevelWarn, "deadline", "dashboard: "+err.Error())
	}
	sent := map[string]string{}
	push := func() error {
		parts, err := d.parts(r, topic, centre)
		if err != nil {
			d.rlog.Log(slog.LevelError, "stream", "dashboard: cannot render a live page", "topic", topic, "err", err)
			return nil // try again at the next poll
		}
		diff := map[string]string{}
		for id, html := range parts {
			if sent[id] != html {
				diff[id] = html
				sent[id] = html
			}
		}
		if len(diff) == 0 {
			return st.Quiet()
		}
		b, err := json.Marshal(diff) // one line: newlines are escaped
		if err != nil {
			return err
		}
		return st.Send("update", b)
	}
	st.Run(r.Context(), d.closed, changed, d.o.PushEvery, func() bool { return d.auth.valid(r) }, push)
}

// parts renders the live parts of a page, by the id of the element they
// replace.
func (d *Dashboard) parts(r *http.Request, topic, centre string) (map[string]string, error) {
	ctx, now := r.Context(), d.o.Now()
	p := d.page(r, "", "")
	var names map[string]string // element id → template
	switch topic {
	case TopicOverview:
		p.Body = d.overview(ctx, now)
		names = map[string]string{"live": "overview.live"}
	case TopicCentre:
		v := d.centreLive(ctx, centre, now)
		d.centreLedger(ctx, &v, now)
		p.Body, p.Loc = v, v.Centre.Location()
		names = map[string]string{"usage": "centre.usage", "seats": "centre.seats", "gateways": "centre.gateways", "ledger": "centre.ledger"}
	case TopicRollouts:
		p.Body = d.rolloutsView(r)
		names = map[string]string{"rollouts": "rollouts.list"}
	}
	out := make(map[string]string, len(names))
	for id, name := range names {
		html, err := fragment(name, p)
		if err != nil {
			return nil, err
		}
		out[id] = html
	}
	return out, nil
}

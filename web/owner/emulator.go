package owner

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/web/api"
)

// maxPanelCards bounds the card list the emulator panel offers.
const maxPanelCards = 500

type panelReader struct{ ID, Seat string }

type panelCard struct{ UID, Who string }

// emulatorPanel is the tap form under the seat map of an emulated gateway.
type emulatorPanel struct {
	Readers []panelReader
	Cards   []panelCard
}

func (d *Dashboard) emulatorPanel(m seatMap) (emulatorPanel, error) {
	var p emulatorPanel
	for _, s := range m.Seats {
		if s.Reader != "" {
			p.Readers = append(p.Readers, panelReader{ID: s.Reader, Seat: s.Seat})
		}
	}
	cards, err := d.o.Store.Cards(maxPanelCards)
	if err != nil {
		return p, err
	}
	err = d.o.Store.View(func(snap access.Snapshot, _ []access.Session) error {
		for _, c := range cards {
			if c.Revoked {
				continue
			}
			who := c.MemberID
			if mem, ok := snap.Member(c.MemberID); ok {
				who = mem.Name
			}
			p.Cards = append(p.Cards, panelCard{UID: c.UID, Who: who})
		}
		return nil
	})
	slices.SortFunc(p.Cards, func(a, b panelCard) int { return cmp.Or(cmp.Compare(a.Who, b.Who), cmp.Compare(a.UID, b.UID)) })
	return p, err
}

// tapAnswer is the answer to POST /api/owner/tap.
type tapAnswer struct {
	Message string        `json:"message"` // what happened, in the viewer's language
	Result  api.TapResult `json:"result"`
}

// tap presents a card at an emulated reader. The seat map learns of the
// outcome the usual way, from the event the tap commits.
func (d *Dashboard) tap(w http.ResponseWriter, r *http.Request) {
	l := languages.Pick(r)
	var body struct {
		Reader string `json:"reader"`
		UID    string `json:"uid"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxForm))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "request body: " + err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), d.o.TapTimeout)
	defer cancel()
	res, err := d.o.Emulator.Tap(ctx, body.Reader, body.UID)
	if err != nil {
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, api.ErrUnknownReader):
			code = http.StatusNotFound
		case errors.Is(err, api.ErrBadRequest):
			code = http.StatusBadRequest
		case errors.Is(err, api.ErrConflict):
			code = http.StatusConflict
		case errors.Is(err, context.DeadlineExceeded):
			code = http.StatusGatewayTimeout
		default:
			d.log.Error("owner dashboard: emulated tap", "reader", body.Reader, "err", err)
		}
		writeJSON(w, code, map[string]string{"error": err.Error()})
		return
	}
	who := res.Member
	_ = d.o.Store.View(func(snap access.Snapshot, _ []access.Session) error {
		if m, ok := snap.Member(res.Member); ok {
			who = m.Name
		}
		return nil
	})
	who = cmp.Or(who, body.UID)
	msg := l.Tf("tap."+res.Outcome, res.Seat, who, l.Or("reason.", res.Reason), res.PrevSeat)
	writeJSON(w, http.StatusOK, tapAnswer{Message: msg, Result: res})
}

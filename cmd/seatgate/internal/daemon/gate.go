package daemon

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/device/desk"
	"github.com/pkfreelance/seatgate/device/scan"
	"github.com/pkfreelance/seatgate/web/metrics"
)

// gate is the tap path: a tap from the scanner is decided and committed by
// the store, and only then shown at the desk.
type gate struct {
	store   *store.Store
	wall    func() time.Time
	desks   map[string]*desk.Desk // by reader id
	log     *slog.Logger
	onEvent func(store.Event) // optional observer: the outbox, the owner dashboard
	metrics *metrics.Gateway  // nil: no metrics

	mu      sync.Mutex
	waiters map[waitKey][]chan tapOutcome
}

type waitKey struct{ reader, uid string }

// tapOutcome is what became of one tap.
type tapOutcome struct {
	Decision access.Decision
	Event    store.Event
	Err      error
}

func (g *gate) run(ctx context.Context, events <-chan scan.Event) {
	for {
		select {
		case <-ctx.Done():
			// Taps already read are decided before the store closes.
			for {
				select {
				case ev := <-events:
					g.handle(ev)
				default:
					return
				}
			}
		case ev := <-events:
			g.handle(ev)
		}
	}
}

func (g *gate) handle(ev scan.Event) {
	d := g.desks[ev.Reader]
	switch ev.Kind {
	case scan.Tap:
		uid := ev.UID.String()
		start := time.Now()
		dec, e, err := g.store.Tap(access.Tap{Reader: ev.Reader, UID: uid, At: ev.At}, g.wall())
		commit := time.Since(start)
		if err != nil {
			g.metrics.ObserveTap(metrics.OutcomeError, metrics.ReasonStore, 0, commit)
		} else {
			// Decision: from the card's read to the committed decision.
			g.metrics.ObserveTap(string(dec.Outcome), string(dec.Reason), time.Since(ev.At), commit)
		}
		if err != nil {
			// Nothing was committed: the desk must not show green.
			g.log.Error("tap not recorded", "reader", ev.Reader, "err", err)
			if d != nil {
				d.Show(desk.Refused)
			}
		} else {
			g.log.Info("tap", "reader", ev.Reader, "seat", e.Seat, "outcome", string(dec.Outcome),
				"reason", string(dec.Reason), "member", dec.Member, "seq", e.Seq)
			if d != nil {
				d.Show(patternFor(dec))
			}
			if g.onEvent != nil {
				g.onEvent(e)
			}
		}
		g.notify(waitKey{ev.Reader, uid}, tapOutcome{Decision: dec, Event: e, Err: err})
	case scan.Fault:
		g.log.Warn("reader fault", "reader", ev.Reader, "err", ev.Err)
		g.metrics.ReaderError(ev.Reader)
		if d != nil {
			d.Show(desk.ReaderFault)
		}
	case scan.Recovered:
		g.log.Info("reader recovered", "reader", ev.Reader)
		if d != nil {
			d.Show(desk.Idle)
		}
	case scan.Removed:
		g.log.Debug("card removed", "reader", ev.Reader, "uid", ev.UID.String())
	}
}

// patternFor chooses what the desk shows for a decision.
func patternFor(d access.Decision) desk.Pattern {
	switch d.Outcome {
	case access.OutcomeCheckin:
		if d.Warning != "" {
			return desk.PlanEnding
		}
		return desk.CheckedIn
	case access.OutcomeCheckout, access.OutcomeAutoCheckout:
		return desk.CheckedOut
	case access.OutcomeMove:
		if d.Warning != "" {
			return desk.PlanEnding
		}
		return desk.Moved
	}
	switch d.Reason {
	case access.ReasonUnknownCard:
		return desk.RefusedUnknown
	case access.ReasonPlanExpired:
		return desk.RefusedExpired
	}
	return desk.Refused
}

// await registers interest in the next tap of uid at reader.
func (g *gate) await(reader, uid string) (<-chan tapOutcome, func()) {
	ch := make(chan tapOutcome, 1)
	k := waitKey{reader, uid}
	g.mu.Lock()
	if g.waiters == nil {
		g.waiters = map[waitKey][]chan tapOutcome{}
	}
	g.waiters[k] = append(g.waiters[k], ch)
	g.mu.Unlock()
	cancel := func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		ws := g.waiters[k]
		for i, w := range ws {
			if w == ch {
				g.waiters[k] = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(g.waiters[k]) == 0 {
			delete(g.waiters, k)
		}
	}
	return ch, cancel
}

func (g *gate) notify(k waitKey, o tapOutcome) {
	g.mu.Lock()
	ws := g.waiters[k]
	delete(g.waiters, k)
	g.mu.Unlock()
	for _, w := range ws {
		w <- o
	}
}

// autoCheckout ends sessions that are due (window end, daily cut-off,
// maximum length) every interval.
func (g *gate) autoCheckout(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		evs, err := g.store.AutoCheckout(g.wall())
		if err != nil {
			g.log.Error("auto check-out", "err", err)
		}
		for _, e := range evs {
			g.log.Info("auto check-out", "seat", e.Seat, "member", e.Member, "reason", string(e.Reason), "seq", e.Seq)
			g.metrics.ObserveAutoCheckout(string(e.Reason))
			if g.onEvent != nil {
				g.onEvent(e)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

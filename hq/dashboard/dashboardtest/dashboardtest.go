// Package dashboardtest has in-memory fakes of what package dashboard
// reads: the fleet, the ledger, the rollouts and the registry. They behave
// as HQ's parts do where the dashboard can tell: the fleet lists only
// gateways heard from, sorted; the ledger answers one day per date of the
// range, an empty date verified; the registry calls its OnChange hooks
// after every change.
package dashboardtest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/fleet"
	"github.com/pkfreelance/seatgate/hq/ledger"
	"github.com/pkfreelance/seatgate/hq/registry"
	"github.com/pkfreelance/seatgate/hq/rollout"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// Fleet is a fake fleet tracker. Like *fleet.Tracker it has no change
// hook: the dashboard polls it.
type Fleet struct {
	mu       sync.Mutex
	gateways map[string]fleet.Gateway
}

// NewFleet returns an empty fleet.
func NewFleet() *Fleet { return &Fleet{gateways: map[string]fleet.Gateway{}} }

// Set records g's live state, replacing what was known.
func (f *Fleet) Set(g fleet.Gateway) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gateways[registry.Key(g.Centre, g.Gateway)] = g
}

// Online records an online gateway reporting seats at now, with its
// presence and a health report running firmware.
func (f *Fleet) Online(centre, gateway, firmware string, now time.Time, seats ...wire.SeatOccupancy) {
	f.Set(fleet.Gateway{
		Centre: centre, Gateway: gateway, State: fleet.StateOnline, LastSeen: now,
		Presence:  &fleet.Presence{Boot: 1, Online: true, Since: now, Firmware: firmware, Seen: now},
		Health:    &fleet.HealthReport{Health: wire.Health{V: 1, Time: now, Boot: 1, Firmware: firmware, ReadersOK: 1, ReadersTotal: 1, ClockTrusted: true}, Received: now},
		Occupancy: &fleet.OccupancyReport{Occupancy: wire.Occupancy{V: 1, Time: now, Seats: seats}, Received: now},
	})
}

// SetSeat changes one seat of a gateway's last occupancy report, adding
// the seat if it is new, and reports whether the gateway is known.
func (f *Fleet) SetSeat(centre, gateway string, seat wire.SeatOccupancy) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.gateways[registry.Key(centre, gateway)]
	if !ok {
		return false
	}
	o := &fleet.OccupancyReport{}
	if g.Occupancy != nil {
		*o = *g.Occupancy
		o.Seats = slices.Clone(o.Seats)
	}
	i := slices.IndexFunc(o.Seats, func(s wire.SeatOccupancy) bool { return s.Seat == seat.Seat })
	if i < 0 {
		o.Seats = append(o.Seats, seat)
	} else {
		o.Seats[i] = seat
	}
	g.Occupancy = o
	f.gateways[registry.Key(centre, gateway)] = g
	return true
}

// Gateways implements dashboard.Fleet.
func (f *Fleet) Gateways(centre string) []fleet.Gateway {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []fleet.Gateway{}
	for _, g := range f.gateways {
		if centre == "" || g.Centre == centre {
			c := g
			if g.Occupancy != nil {
				o := *g.Occupancy
				o.Seats = slices.Clone(o.Seats)
				c.Occupancy = &o
			}
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b fleet.Gateway) int {
		return strings.Compare(registry.Key(a.Centre, a.Gateway), registry.Key(b.Centre, b.Gateway))
	})
	return out
}

// Occupied is an occupied seat of zone, taken by member since since.
func Occupied(seat, zone, member string, since time.Time) wire.SeatOccupancy {
	return wire.SeatOccupancy{Seat: seat, Zone: zone, State: store.SeatOccupied, Member: member, Since: since}
}

// Free is a free seat of zone.
func Free(seat, zone string) wire.SeatOccupancy {
	return wire.SeatOccupancy{Seat: seat, Zone: zone, State: store.SeatFree}
}

// Ledger is a fake ledger.
type Ledger struct {
	mu      sync.Mutex
	days    map[string]ledger.Day // by "centre/date"
	err     error
	queries int
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{days: map[string]ledger.Day{}} }

// Put records centre's day (its Verified is kept as given).
func (l *Ledger) Put(centre string, d ledger.Day) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.days[centre+"/"+d.Date.String()] = d
}

// Fail makes every Query fail with err (nil: answer again).
func (l *Ledger) Fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.err = err
}

// Queries is how many times Query was called.
func (l *Ledger) Queries() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.queries
}

// Query implements dashboard.Ledger.
func (l *Ledger) Query(ctx context.Context, centre string, from, to access.Date) ([]ledger.Day, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queries++
	if l.err != nil {
		return nil, l.err
	}
	if !wire.ValidID(centre) || to.Before(from) || to.DaysSince(from) >= ledger.MaxQueryDays {
		return nil, errors.New("ledger query: bad centre or range")
	}
	var out []ledger.Day
	for d := from; !d.After(to); d = d.AddDays(1) {
		day, ok := l.days[centre+"/"+d.String()]
		if !ok {
			day = ledger.Day{Date: d, Verified: true}
		}
		out = append(out, day)
	}
	return out, nil
}

// Rollouts is a fake rollout store.
type Rollouts struct {
	mu   sync.Mutex
	list []rollout.Status
	err  error
}

// Set replaces the rollouts.
func (r *Rollouts) Set(list ...rollout.Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = slices.Clone(list)
}

// Fail makes List fail with err (nil: answer again).
func (r *Rollouts) Fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

// List implements dashboard.Rollouts: the latest started first.
func (r *Rollouts) List(ctx context.Context) ([]rollout.Status, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	out := slices.Clone(r.list)
	slices.SortStableFunc(out, func(a, b rollout.Status) int { return b.Started.Compare(a.Started) })
	return out, nil
}

// Registry is a fake gateway registry.
type Registry struct {
	mu       sync.Mutex
	gateways []registry.Gateway
	onChange []func()
}

// Enrol adds a gateway (with a note) and calls the OnChange hooks.
func (r *Registry) Enrol(centre, gateway, note string) {
	r.mu.Lock()
	r.gateways = append(r.gateways, registry.Gateway{Centre: centre, Gateway: gateway, Note: note, EnrolledAt: time.Unix(0, 0).UTC()})
	slices.SortFunc(r.gateways, func(a, b registry.Gateway) int {
		return strings.Compare(registry.Key(a.Centre, a.Gateway), registry.Key(b.Centre, b.Gateway))
	})
	hooks := slices.Clone(r.onChange)
	r.mu.Unlock()
	for _, f := range hooks {
		f()
	}
}

// List implements dashboard.Registry.
func (r *Registry) List(centre string) []registry.Gateway {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []registry.Gateway
	for _, g := range r.gateways {
		if centre == "" || g.Centre == centre {
			out = append(out, g)
		}
	}
	return out
}

// OnChange implements dashboard.ChangeNotifier.
func (r *Registry) OnChange(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onChange = append(r.onChange, f)
}

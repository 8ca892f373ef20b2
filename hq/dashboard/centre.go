package dashboard

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/fleet"
	"github.com/pkfreelance/seatgate/hq/ledger"
)

// LedgerDays is how many days a centre's page shows the ledger for,
// today included.
const LedgerDays = 30

// Seat states on a centre's page: store.SeatFree, store.SeatOccupied, or
// SeatStale when its gateway is offline (or never said so) and its last
// report may no longer hold.
const SeatStale = "stale"

// Seat is one seat on a centre's page.
type Seat struct {
	ID      string
	State   string // store.SeatFree, store.SeatOccupied or SeatStale
	Member  string // who sits there (occupied only)
	Since   time.Time
	Gateway string
}

// Zone is the seats of one zone, sorted by seat.
type Zone struct {
	Name  string
	Seats []Seat
}

// GatewayRow is one gateway on a centre's page.
type GatewayRow struct {
	ID       string
	Note     string
	State    string    // fleet.State*
	LastSeen time.Time // zero: never heard from
	Firmware string    // the version it runs ("" unknown)
	// Update is the firmware update in progress or last finished: from the
	// last health report, else from the last firmware event; nil when it
	// was never assigned one.
	Update *Update
	// Health is from its last health report (nil: none yet).
	Health *fleet.HealthReport
}

// Update is a gateway's firmware update state.
type Update struct {
	Phase   string // rollout.Phase*
	Version string
	Rollout string
	Done    int
	Total   int
	Detail  string
}

// CentreView is a centre's page.
type CentreView struct {
	Centre   Centre
	Listed   bool
	Enrolled bool // it has an enrolled gateway
	State    string
	Usage    Usage
	Zones    []Zone
	Gateways []GatewayRow
	// Days are the last LedgerDays days, the newest first; LedgerError
	// says why they are missing.
	Days        []ledger.Day
	LedgerError string
}

// centreLive builds the live part of a centre's page: seats, gateways and
// usage but for LedgerSeconds (centreLedger adds them).
func (d *Dashboard) centreLive(ctx context.Context, id string, now time.Time) CentreView {
	c, listed := d.centres.get().Lookup(id)
	if !listed {
		c = Centre{ID: id}
	}
	v := CentreView{Centre: c, Listed: listed, State: CentreOffline}
	enrolled := d.o.Registry.List(id)
	l := liveByCentre(enrolled, d.o.Fleet.Gateways(id))[id]
	if l == nil {
		return v
	}
	v.Enrolled = true
	notes := map[string]string{}
	for _, e := range enrolled {
		notes[e.Gateway] = e.Note
	}
	zones := map[string]*Zone{}
	for _, g := range l.gateways {
		if g.State == fleet.StateOnline {
			v.State = CentreOnline
		}
		v.Gateways = append(v.Gateways, gatewayRow(g, notes[g.Gateway]))
		if g.Occupancy == nil {
			continue
		}
		for _, s := range g.Occupancy.Seats {
			z := zones[s.Zone]
			if z == nil {
				z = &Zone{Name: s.Zone}
				zones[s.Zone] = z
			}
			seat := Seat{ID: s.Seat, State: s.State, Gateway: g.Gateway}
			switch {
			case !reporting(g):
				seat.State = SeatStale
			case s.State == store.SeatOccupied:
				seat.Member, seat.Since = s.Member, s.Since
			}
			z.Seats = append(z.Seats, seat)
		}
	}
	for _, z := range zones {
		slices.SortFunc(z.Seats, func(a, b Seat) int { return strings.Compare(a.ID, b.ID) })
		v.Zones = append(v.Zones, *z)
	}
	slices.SortFunc(v.Zones, func(a, b Zone) int { return strings.Compare(a.Name, b.Name) })
	v.Usage = liveUsage(l.gateways, now, midnightOf(now, c.Location()))
	return v
}

func gatewayRow(g fleet.Gateway, note string) GatewayRow {
	r := GatewayRow{ID: g.Gateway, Note: note, State: g.State, LastSeen: g.LastSeen, Health: g.Health}
	if g.Presence != nil {
		r.Firmware = g.Presence.Firmware
	}
	if r.Firmware == "" && g.Health != nil {
		r.Firmware = g.Health.Firmware
	}
	switch {
	case g.Health != nil && g.Health.Update != nil:
		u := g.Health.Update
		r.Update = &Update{Phase: u.Phase, Version: u.Version, Rollout: u.Rollout, Done: u.Done, Total: u.Total, Detail: u.Detail}
	case g.Firmware != nil:
		f := g.Firmware
		r.Update = &Update{Phase: f.Phase, Version: f.Version, Rollout: f.Rollout, Done: f.Done, Total: f.Total, Detail: f.Detail}
	}
	return r
}

// centreLedger fills in v's last LedgerDays days, the newest first, and
// today's ledger seat time.
func (d *Dashboard) centreLedger(ctx context.Context, v *CentreView, now time.Time) {
	to := access.DateOf(now.In(v.Centre.Location()))
	days, err := d.ledgerDays(ctx, v.Centre.ID, to.AddDays(-(LedgerDays - 1)), to)
	if err != nil {
		d.rlog.Log(slog.LevelWarn, "ledger", "dashboard: cannot read the ledger", "centre", v.Centre.ID, "err", err)
		v.LedgerError = "unavailable"
		return
	}
	v.Days = slices.Clone(days)
	slices.Reverse(v.Days)
	if len(v.Days) > 0 && v.Days[0].Date == to {
		v.Usage.LedgerSeconds = v.Days[0].Seconds
	}
}

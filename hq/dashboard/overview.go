package dashboard

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/fleet"
	"github.com/pkfreelance/seatgate/hq/registry"
)

// Usage is the use of some seats today: how many there are and are taken
// now, and seat time today against capacity.
type Usage struct {
	Seats    int // every seat the gateways last reported
	Occupied int // taken now, on gateways that are not offline
	// LedgerSeconds are today's seat-seconds of ended sessions, from the
	// ledger; OpenSeconds today's part of the sessions still open, from
	// the live occupancy (the ledger counts a session when it ends).
	LedgerSeconds int64
	OpenSeconds   int64
	// CapacitySeconds is Seats × the seconds since the centre's midnight.
	CapacitySeconds int64
}

// SeatSeconds is today's seat time: ended and open sessions.
func (u Usage) SeatSeconds() int64 { return u.LedgerSeconds + u.OpenSeconds }

// Utilisation is SeatSeconds over CapacitySeconds, 0 without capacity.
func (u Usage) Utilisation() float64 {
	if u.CapacitySeconds <= 0 {
		return 0
	}
	return float64(u.SeatSeconds()) / float64(u.CapacitySeconds)
}

// OccupiedShare is Occupied over Seats, 0 without seats.
func (u Usage) OccupiedShare() float64 {
	if u.Seats == 0 {
		return 0
	}
	return float64(u.Occupied) / float64(u.Seats)
}

func (u *Usage) add(o Usage) {
	u.Seats += o.Seats
	u.Occupied += o.Occupied
	u.LedgerSeconds += o.LedgerSeconds
	u.OpenSeconds += o.OpenSeconds
	u.CapacitySeconds += o.CapacitySeconds
}

// Centre states on the overview.
const (
	CentreOnline  = "online"  // at least one gateway online
	CentreOffline = "offline" // none online
)

// CentreRow is one centre on the overview.
type CentreRow struct {
	Centre         Centre // ID only when the centres file does not list it
	Listed         bool   // the centres file lists it
	State          string // CentreOnline or CentreOffline
	Gateways       int
	GatewaysOnline int
	Usage          Usage
	LedgerFailed   bool // today's ledger could not be read: LedgerSeconds is missing
}

// Group is the centres of one city or tier.
type Group struct {
	Name    string // the city, or the tier "1", "2", "3"; "" for the centres the file does not place
	Centres int
	Online  int
	Usage   Usage
}

// GatewayCounts counts gateways by state (fleet.State*).
type GatewayCounts struct {
	Online, Silent, Offline, Unknown int
}

// Total is every gateway.
func (g GatewayCounts) Total() int { return g.Online + g.Silent + g.Offline + g.Unknown }

// Overview is the national overview.
type Overview struct {
	Now            time.Time
	Centres        int
	CentresOnline  int
	CentresOffline int
	Gateways       GatewayCounts
	Usage          Usage
	ByCity         []Group // by name, the unplaced last
	ByTier         []Group // 1, 2, 3, the unplaced last
	Rows           []CentreRow
	LedgerFailed   int // centres whose ledger could not be read
}

// live is what the fleet says of one centre's enrolled gateways.
type live struct {
	gateways []fleet.Gateway // enrolled, in the registry's order; never heard from: StateUnknown
}

// liveByCentre joins the enrolled gateways with their live state, by
// centre. Gateways the fleet knows but the registry no longer lists are
// left out.
func liveByCentre(reg []registry.Gateway, fl []fleet.Gateway) map[string]*live {
	state := make(map[string]fleet.Gateway, len(fl))
	for _, g := range fl {
		state[registry.Key(g.Centre, g.Gateway)] = g
	}
	out := map[string]*live{}
	for _, e := range reg {
		g, ok := state[registry.Key(e.Centre, e.Gateway)]
		if !ok {
			g = fleet.Gateway{Centre: e.Centre, Gateway: e.Gateway, State: fleet.StateUnknown}
		}
		l := out[e.Centre]
		if l == nil {
			l = &live{}
			out[e.Centre] = l
		}
		l.gateways = append(l.gateways, g)
	}
	return out
}

// reporting reports whether g's occupancy counts as now: it is not
// offline (its last report may be hours old) and was heard from.
func reporting(g fleet.Gateway) bool {
	return g.State == fleet.StateOnline || g.State == fleet.StateSilent
}

// liveUsage is a centre's usage from its gateways, without the ledger:
// seats, occupied, open seconds since midnight and capacity.
func liveUsage(gws []fleet.Gateway, now, midnight time.Time) Usage {
	var u Usage
	for _, g := range gws {
		if g.Occupancy == nil {
			continue
		}
		for _, s := range g.Occupancy.Seats {
			u.Seats++
			if s.State != store.SeatOccupied || !reporting(g) {
				continue
			}
			u.Occupied++
			if !s.Since.IsZero() {
				from := s.Since
				if from.Before(midnight) {
					from = midnight
				}
				if now.After(from) {
					u.OpenSeconds += int64(now.Sub(from) / time.Second)
				}
			}
		}
	}
	if now.After(midnight) {
		u.CapacitySeconds = int64(u.Seats) * int64(now.Sub(midnight)/time.Second)
	}
	return u
}

// midnightOf is the start of now's day in loc.
func midnightOf(now time.Time, loc *time.Location) time.Time {
	t := now.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// overview builds the national overview at now.
func (d *Dashboard) overview(ctx context.Context, now time.Time) Overview {
	centres := d.centres.get()
	byCentre := liveByCentre(d.o.Registry.List(""), d.o.Fleet.Gateways(""))
	ids := make([]string, 0, len(byCentre))
	for id := range byCentre {
		ids = append(ids, id)
	}
	slices.Sort(ids)

	ov := Overview{Now: now, Rows: make([]CentreRow, len(ids))}
	var wg sync.WaitGroup
	sem := make(chan struct{}, ledgerParallel)
	for i, id := range ids {
		c, listed := centres.Lookup(id)
		if !listed {
			c = Centre{ID: id}
		}
		row := CentreRow{Centre: c, Listed: listed, State: CentreOffline}
		for _, g := range byCentre[id].gateways {
			row.Gateways++
			switch g.State {
			case fleet.StateOnline:
				row.GatewaysOnline++
				ov.Gateways.Online++
			case fleet.StateSilent:
				ov.Gateways.Silent++
			case fleet.StateOffline:
				ov.Gateways.Offline++
			default:
				ov.Gateways.Unknown++
			}
		}
		if row.GatewaysOnline > 0 {
			row.State = CentreOnline
		}
		loc := c.Location()
		row.Usage = liveUsage(byCentre[id].gateways, now, midnightOf(now, loc))
		ov.Rows[i] = row
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			secs, err := d.ledgerToday(ctx, id, access.DateOf(now.In(loc)))
			if err != nil {
				d.rlog.Log(slog.LevelWarn, "ledger", "dashboard: cannot read the ledger", "centre", id, "err", err)
				ov.Rows[i].LedgerFailed = true
				return
			}
			ov.Rows[i].Usage.LedgerSeconds = secs
		})
	}
	wg.Wait()

	cities, tiers := map[string]*Group{}, map[string]*Group{}
	for _, row := range ov.Rows {
		ov.Centres++
		if row.State == CentreOnline {
			ov.CentresOnline++
		} else {
			ov.CentresOffline++
		}
		if row.LedgerFailed {
			ov.LedgerFailed++
		}
		ov.Usage.add(row.Usage)
		tier := ""
		if row.Listed && row.Centre.Tier > 0 {
			tier = string(rune('0' + row.Centre.Tier))
		}
		city := ""
		if row.Listed {
			city = row.Centre.City
		}
		for _, g := range []*Group{groupOf(cities, city), groupOf(tiers, tier)} {
			g.Centres++
			if row.State == CentreOnline {
				g.Online++
			}
			g.Usage.add(row.Usage)
		}
	}
	ov.ByCity, ov.ByTier = sortedGroups(cities), sortedGroups(tiers)
	return ov
}

func groupOf(m map[string]*Group, name string) *Group {
	g := m[name]
	if g == nil {
		g = &Group{Name: name}
		m[name] = g
	}
	return g
}

// sortedGroups orders groups by name with the unplaced ("") last.
func sortedGroups(m map[string]*Group) []Group {
	out := make([]Group, 0, len(m))
	for _, g := range m {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Group) int {
		if (a.Name == "") != (b.Name == "") {
			if a.Name == "" {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}

// ledgerParallel bounds the ledger queries of one overview.
const ledgerParallel = 8

// ledgerToday returns centre's seat-seconds of ended sessions on day,
// from a copy at most ledgerTTL old.
func (d *Dashboard) ledgerToday(ctx context.Context, centre string, day access.Date) (int64, error) {
	days, err := d.ledgerDays(ctx, centre, day, day)
	if err != nil {
		return 0, err
	}
	var secs int64
	for _, x := range days {
		secs += x.Seconds
	}
	return secs, nil
}

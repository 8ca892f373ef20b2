package owner

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/web/api"
	"github.com/pkfreelance/seatgate/web/i18n"
)

// seatView is one desk on the live map, with its words already in the
// viewer's language: the page script only copies them into place.
type seatView struct {
	Seat   string `json:"seat"`
	Zone   string `json:"-"`
	Reader string `json:"-"`
	Class  string `json:"class"` // CSS classes: free|occupied, and fault
	Label  string `json:"label"` // the state in words
	Who    string `json:"who"`   // the member sitting there
	Since  string `json:"since"` // "since 09:14"
	Fault  string `json:"fault"` // the reader's error, when it is not working
}

type zoneView struct {
	Zone  string
	Seats []seatView
}

// seatMap is the live seat map. Its JSON form is what /events sends.
type seatMap struct {
	Zones    []zoneView `json:"-"`
	Seats    []seatView `json:"seats"`
	Occupied int        `json:"occupied"`
	Total    int        `json:"total"`
	Faults   int        `json:"faults"`
	Summary  string     `json:"summary"`
}

// readerState is what the map needs of a reader's health: the health
// report carries the scanner's statuses as `any`, so they are read back
// through their JSON form.
type readerState struct {
	ID    string `json:"id"`
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

func readersOf(rep api.HealthReport) []readerState {
	var out []readerState
	if b, err := json.Marshal(rep.Readers); err == nil {
		_ = json.Unmarshal(b, &out)
	}
	return out
}

// seatMap reads the seats, their occupants and their readers' health.
func (d *Dashboard) seatMap(l *i18n.Language) (seatMap, error) {
	seats, err := d.o.Store.Seats()
	if err != nil {
		return seatMap{}, err
	}
	readerOf, err := d.readersOfSeats(seats)
	if err != nil {
		return seatMap{}, err
	}
	var readers []readerState
	if d.o.Health != nil {
		readers = readersOf(d.o.Health.Health())
	}
	return buildSeatMap(l, seats, readerOf, readers, d.now()), nil
}

// readersOfSeats maps each seat to its reader.
func (d *Dashboard) readersOfSeats(seats []store.SeatState) (map[string]string, error) {
	readerOf := map[string]string{}
	err := d.o.Store.View(func(snap access.Snapshot, _ []access.Session) error {
		for _, s := range seats {
			if seat, ok := snap.Seat(s.Seat); ok {
				readerOf[s.Seat] = seat.Reader
			}
		}
		return nil
	})
	return readerOf, err
}

// buildSeatMap lays the seats out by zone (zones and seats in ID order).
func buildSeatMap(l *i18n.Language, seats []store.SeatState, readerOf map[string]string, readers []readerState, now time.Time) seatMap {
	health := map[string]readerState{}
	for _, r := range readers {
		health[r.ID] = r
	}
	m := seatMap{Total: len(seats), Seats: []seatView{}}
	byZone := map[string]*zoneView{}
	for _, s := range seats {
		v := seatView{Seat: s.Seat, Zone: s.Zone, Reader: readerOf[s.Seat], Class: "free", Label: l.T("seat.free")}
		if s.State == store.SeatOccupied {
			m.Occupied++
			v.Class, v.Label = "occupied", l.T("seat.occupied")
			v.Who = cmp.Or(s.MemberName, s.Member)
			if !s.Since.IsZero() {
				v.Since = l.Tf("seat.since", clock(l, s.Since, now))
			}
		}
		if r, ok := health[v.Reader]; ok && !r.OK {
			m.Faults++
			v.Class += " fault"
			v.Label = l.T("seat.fault")
			v.Fault = cmp.Or(r.Error, l.T("seat.fault"))
		}
		m.Seats = append(m.Seats, v)
		z := byZone[s.Zone]
		if z == nil {
			z = &zoneView{Zone: s.Zone}
			byZone[s.Zone] = z
		}
		z.Seats = append(z.Seats, v)
	}
	for _, z := range byZone {
		if z.Zone == "" {
			z.Zone = l.T("zone.none")
		}
		m.Zones = append(m.Zones, *z)
	}
	slices.SortFunc(m.Zones, func(a, b zoneView) int { return cmp.Compare(a.Zone, b.Zone) })
	m.Summary = l.Tf("seats.summary", m.Occupied, m.Total)
	if m.Faults > 0 {
		m.Summary += " · " + l.Tf("seats.faults", m.Faults)
	}
	return m
}

// clock writes a time as 15:04, with the date when it is not today.
func clock(l *i18n.Language, t, now time.Time) string {
	t = t.In(now.Location())
	if y, m, dd := t.Date(); y != now.Year() || m != now.Month() || dd != now.Day() {
		return l.Date(t) + " " + t.Format("15:04")
	}
	return t.Format("15:04")
}

package owner

import (
	"cmp"
	"html/template"
	"slices"
	"time"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/web/i18n"
)

// chartDays is how far back the charts look.
const chartDays = 30

// chart is one chart on the charts page.
type chart struct {
	Title string
	SVG   template.HTML
	Bars  []bar // the numbers drawn, for tests and the table under the chart
}

type chartsView struct {
	Charts []chart
}

// chartData computes the charts' numbers from the events and the seats
// now; it is a pure function of its arguments.
func chartData(l *i18n.Language, events []store.Event, seats []store.SeatState, now time.Time) []chart {
	spans := spansOf(events, seats, now)
	all := map[string]bool{}
	seatsOf := map[string]map[string]bool{}
	for _, s := range seats {
		all[s.Seat] = true
		z := cmp.Or(s.Zone, l.T("zone.none"))
		if seatsOf[z] == nil {
			seatsOf[z] = map[string]bool{}
		}
		seatsOf[z][s.Seat] = true
	}
	var zones []string
	for z := range seatsOf {
		zones = append(zones, z)
	}
	slices.Sort(zones)
	bars := func(bs []bucket) []bar {
		var out []bar
		for _, b := range bs {
			v, ok := utilisation(spans, b, now)
			out = append(out, bar{Label: b.Label, Title: b.Title, Value: v, Present: ok})
		}
		return out
	}
	mk := func(title string, bs []bucket, every int) chart {
		br := bars(bs)
		return chart{Title: title, SVG: barChart(title, br, every), Bars: br}
	}
	return []chart{
		mk(l.T("charts.hourly"), hourBuckets(now, all), 3),
		mk(l.Tf("charts.daily", chartDays), dayBuckets(now, chartDays, all), 5),
		mk(l.T("charts.zones.today"), zoneBuckets(zones, seatsOf, dayStart(now, 0), now), 1),
		mk(l.Tf("charts.zones.days", chartDays), zoneBuckets(zones, seatsOf, dayStart(now, 1-chartDays), now), 1),
	}
}

func (d *Dashboard) charts(l *i18n.Language) (chartsView, error) {
	now := d.now()
	from := dayStart(now, 1-chartDays)
	seats, err := d.o.Store.Seats()
	if err != nil {
		return chartsView{}, err
	}
	events, err := d.history.since(d.o.Store, from)
	if err != nil {
		return chartsView{}, err
	}
	return chartsView{Charts: chartData(l, events, seats, now)}, nil
}

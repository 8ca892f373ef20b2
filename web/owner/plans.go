package owner

import (
	"cmp"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/web/i18n"
)

// planDays is how far ahead the plans page looks.
const planDays = 7

type endingView struct {
	Name, ID, Plan string
	Until          string // the last valid day
	In             string // "today", "in 3 days"
	Soon           bool   // ends today or tomorrow
	Suspended      bool
}

type plansView struct {
	Heading string
	Members []endingView
}

func (d *Dashboard) plansEnding(l *i18n.Language) (plansView, error) {
	now := d.now()
	today := access.DateOf(now)
	ending, err := d.o.Store.PlansEnding(today, today.AddDays(planDays))
	if err != nil {
		return plansView{}, err
	}
	v := plansView{Heading: l.Tf("plans.heading", planDays)}
	for _, e := range ending {
		days := e.Member.ValidUntil.DaysSince(today)
		in := l.Tf("plans.in", days)
		switch days {
		case 0:
			in = l.T("plans.today")
		case 1:
			in = l.T("plans.tomorrow")
		}
		v.Members = append(v.Members, endingView{
			Name: e.Member.Name, ID: e.Member.ID, Plan: cmp.Or(e.PlanName, e.Member.PlanID),
			Until: l.Date(e.Member.ValidUntil.At(0, now.Location())), In: in, Soon: days <= 1,
			Suspended: e.Member.Status != access.StatusActive,
		})
	}
	return v, nil
}

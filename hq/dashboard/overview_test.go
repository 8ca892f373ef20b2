package dashboard_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/hq/dashboard"
	"github.com/pkfreelance/seatgate/hq/dashboard/dashboardtest"
	"github.com/pkfreelance/seatgate/hq/fleet"
	"github.com/pkfreelance/seatgate/hq/ledger"
	"github.com/pkfreelance/seatgate/sync/wire"
)

var today = access.DateOf(t0.In(karachi))

// TestOverviewNumbers works the overview out by hand at 10:00 in Karachi
// (capacity: 10 h = 36000 s a seat):
//
//	lhr-1  Lahore, 1   g1 online: A1 since 08:00 (7200 s), A2 since 22:00
//	                   yesterday (36000 s from midnight), A3, A4 free;
//	                   g2 offline: B1 "occupied" (not counted), B2;
//	                   ledger 18000 s          → online, 6 seats, 2 taken
//	lhr-2  Lahore, 2   g1 silent: C1 since 09:30 (1800 s), C2
//	                                           → offline, 2 seats, 1 taken
//	khi-1  Karachi, 1  g1 enrolled, never heard → offline, no seats
//	pop-up (unlisted)  g1 online: P1 free; ledger 3600 s
//	gone/g1            heard from but no longer enrolled: left out
func TestOverviewNumbers(t *testing.T) {
	e := newEnv(t, time.Hour)
	e.seed()
	e.ledger.Put("lhr-1", ledger.Day{Date: today, Seconds: 18000, Verified: true})
	e.ledger.Put("pop-up", ledger.Day{Date: today, Seconds: 3600, Verified: true})
	e.ledger.Put("gone", ledger.Day{Date: today, Seconds: 99999, Verified: true})

	ov := e.d.OverviewAt(t0)

	u := func(seats, occupied int, ledger, open int64) dashboard.Usage {
		return dashboard.Usage{Seats: seats, Occupied: occupied, LedgerSeconds: ledger, OpenSeconds: open, CapacitySeconds: int64(seats) * 36000}
	}
	if got, want := [3]int{ov.Centres, ov.CentresOnline, ov.CentresOffline}, [3]int{4, 2, 2}; got != want {
		t.Errorf("centres, online, offline: got %v, want %v", got, want)
	}
	if got, want := ov.Gateways, (dashboard.GatewayCounts{Online: 2, Silent: 1, Offline: 1, Unknown: 1}); got != want {
		t.Errorf("gateways: got %+v, want %+v", got, want)
	}
	if got, want := ov.Usage, u(9, 3, 21600, 45000); got != want {
		t.Errorf("national usage: got %+v, want %+v", got, want)
	}
	if got, want := ov.Usage.Utilisation(), 66600.0/324000; got != want {
		t.Errorf("utilisation: got %v, want %v", got, want)
	}
	wantCities := []dashboard.Group{
		{Name: "Karachi", Centres: 1, Online: 0, Usage: u(0, 0, 0, 0)},
		{Name: "Lahore", Centres: 2, Online: 1, Usage: u(8, 3, 18000, 45000)},
		{Name: "", Centres: 1, Online: 1, Usage: u(1, 0, 3600, 0)},
	}
	if !reflect.DeepEqual(ov.ByCity, wantCities) {
		t.Errorf("by city:\n got %+v\nwant %+v", ov.ByCity, wantCities)
	}
	wantTiers := []dashboard.Group{
		{Name: "1", Centres: 2, Online: 1, Usage: u(6, 2, 18000, 43200)},
		{Name: "2", Centres: 1, Online: 0, Usage: u(2, 1, 0, 1800)},
		{Name: "", Centres: 1, Online: 1, Usage: u(1, 0, 3600, 0)},
	}
	if !reflect.DeepEqual(ov.ByTier, wantTiers) {
		t.Errorf("by tier:\n got %+v\nwant %+v", ov.ByTier, wantTiers)
	}

	type row struct {
		id, city, state string
		listed          bool
		gateways, on    int
		usage           dashboard.Usage
	}
	var rows []row
	for _, r := range ov.Rows {
		rows = append(rows, row{r.Centre.ID, r.Centre.City, r.State, r.Listed, r.Gateways, r.GatewaysOnline, r.Usage})
	}
	wantRows := []row{
		{"khi-1", "Karachi", dashboard.CentreOffline, true, 1, 0, u(0, 0, 0, 0)},
		{"lhr-1", "Lahore", dashboard.CentreOnline, true, 2, 1, u(6, 2, 18000, 43200)},
		{"lhr-2", "Lahore", dashboard.CentreOffline, true, 1, 0, u(2, 1, 0, 1800)},
		{"pop-up", "", dashboard.CentreOnline, false, 1, 1, u(1, 0, 3600, 0)},
	}
	if !reflect.DeepEqual(rows, wantRows) {
		t.Errorf("rows:\n got %+v\nwant %+v", rows, wantRows)
	}
	if ov.LedgerFailed != 0 {
		t.Errorf("ledger failures: got %d, want 0", ov.LedgerFailed)
	}
}

// TestOverviewAtMidnight: just after midnight there is almost no
// capacity, and yesterday's open sessions count from midnight only.
func TestOverviewAtMidnight(t *testing.T) {
	e := newEnv(t, time.Hour)
	e.registry.Enrol("lhr-1", "g1", "")
	now := at(1, 0, 0).Add(90 * time.Second) // 00:01:30 the next day
	e.fleet.Online("lhr-1", "g1", "1.4.2", now, dashboardtest.Occupied("A1", "", "m-1", at(0, 20, 0)), dashboardtest.Free("A2", ""))
	ov := e.d.OverviewAt(now)
	want := dashboard.Usage{Seats: 2, Occupied: 1, OpenSeconds: 90, CapacitySeconds: 180}
	if ov.Usage != want {
		t.Errorf("got %+v, want %+v", ov.Usage, want)
	}
}

// TestOverviewLedgerFailure: a ledger that cannot be read leaves its
// seat-hours out and says so; the live numbers stay.
func TestOverviewLedgerFailure(t *testing.T) {
	e := newEnv(t, time.Hour)
	e.seed()
	e.ledger.Fail(errors.New("JetStream between leaders"))
	ov := e.d.OverviewAt(t0)
	if ov.LedgerFailed != 4 {
		t.Errorf("ledger failures: got %d, want 4", ov.LedgerFailed)
	}
	if ov.Usage.LedgerSeconds != 0 || ov.Usage.OpenSeconds != 45000 || ov.Usage.Occupied != 3 {
		t.Errorf("usage: got %+v, want the live part only", ov.Usage)
	}
}

// TestCentreView checks a centre's page: seats by zone with the offline
// gateway's seats stale, gateways with firmware and update state, and the
// ledger newest first with why a day is unverified.
func TestCentreView(t *testing.T) {
	e := newEnv(t, time.Hour)
	e.seed()
	g1 := e.fleet.Gateways("lhr-1")[0]
	g1.Health.OutboxDepth, g1.Health.OutboxOldest = 12, 95
	g1.Health.Update = &wire.UpdateHealth{Phase: "downloading", Version: "1.5.0", Rollout: "r-1", Done: 3, Total: 10}
	e.fleet.Set(g1)
	g2 := e.fleet.Gateways("lhr-1")[1]
	g2.Health = nil
	g2.Firmware = &fleet.FirmwareReport{}
	g2.Firmware.Phase, g2.Firmware.Version, g2.Firmware.Detail = "rolled_back", "1.5.0", "health check failed"
	e.fleet.Set(g2)
	e.ledger.Put("lhr-1", ledger.Day{Date: today.AddDays(-1), Seconds: 7200, Untrusted: 2, Suspect: []string{"g2"}})
	e.ledger.Put("lhr-1", ledger.Day{Date: today, Seconds: 5400, Verified: true})

	v := e.d.CentreAt("lhr-1", t0)

	if v.Centre.Name != "Gulberg Hub" || v.State != dashboard.CentreOnline || !v.Enrolled {
		t.Errorf("centre: got %+v %s enrolled %v", v.Centre, v.State, v.Enrolled)
	}
	var seats []string
	for _, z := range v.Zones {
		for _, s := range z.Seats {
			seats = append(seats, z.Name+"/"+s.ID+":"+s.State+":"+s.Member)
		}
	}
	wantSeats := []string{"first/B1:stale:", "first/B2:stale:", "ground/A1:occupied:m-7", "ground/A2:occupied:m-8", "ground/A3:free:", "ground/A4:free:"}
	if !reflect.DeepEqual(seats, wantSeats) {
		t.Errorf("seats:\n got %v\nwant %v", seats, wantSeats)
	}
	if len(v.Gateways) != 2 {
		t.Fatalf("gateways: got %d, want 2", len(v.Gateways))
	}
	gw := v.Gateways[0]
	if gw.ID != "g1" || gw.Note != "ground floor" || gw.Firmware != "1.4.2" || gw.State != fleet.StateOnline {
		t.Errorf("g1: got %+v", gw)
	}
	if got, want := *gw.Update, (dashboard.Update{Phase: "downloading", Version: "1.5.0", Rollout: "r-1", Done: 3, Total: 10}); got != want {
		t.Errorf("g1 update: got %+v, want %+v", got, want)
	}
	if gw.Health == nil || gw.Health.OutboxDepth != 12 || gw.Health.OutboxOldest != 95 {
		t.Errorf("g1 health: got %+v", gw.Health)
	}
	if u := v.Gateways[1].Update; u == nil || u.Phase != "rolled_back" || u.Detail != "health check failed" {
		t.Errorf("g2 update (from its firmware event, no health): got %+v", u)
	}
	if len(v.Days) != dashboard.LedgerDays {
		t.Fatalf("ledger: got %d days, want %d", len(v.Days), dashboard.LedgerDays)
	}
	if v.Days[0].Date != today || v.Days[dashboard.LedgerDays-1].Date != today.AddDays(-(dashboard.LedgerDays-1)) {
		t.Errorf("ledger: from %s to %s, want newest (%s) first", v.Days[0].Date, v.Days[len(v.Days)-1].Date, today)
	}
	if d := v.Days[1]; d.Verified || d.Untrusted != 2 || d.Suspect[0] != "g2" {
		t.Errorf("yesterday: got %+v, want unverified with 2 untrusted pieces and g2 suspect", d)
	}
	if got, want := v.Usage, (dashboard.Usage{Seats: 6, Occupied: 2, LedgerSeconds: 5400, OpenSeconds: 43200, CapacitySeconds: 216000}); got != want {
		t.Errorf("usage: got %+v, want %+v", got, want)
	}
}

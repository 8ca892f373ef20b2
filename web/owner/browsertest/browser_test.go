package browsertest_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/web/api"
	"github.com/pkfreelance/seatgate/web/owner"
)

// liveWithin is how soon a tap must show on an open seat map (issue 5:
// "within a second of a tap … no page reload").
const liveWithin = time.Second

const password = "chai-and-biscuits"

const membershipJSON = `{
  "centre": "lhr-01", "revision": 1, "generated_at": "2026-01-01T09:00:00+05:00",
  "plans": [{"id": "open", "name": "Open access", "grace_days": 0, "price_pkr": 4000}],
  "members": [
    {"id": "m-001", "name": "Ayesha Khan", "status": "active", "plan": "open",
     "valid_from": "2026-01-01", "valid_until": "2099-12-31", "seats": {"kind": "any"},
     "cards": [{"uid": "04A1B2C3D4E5F6"}]},
    {"id": "m-002", "name": "Bilal Ahmed", "status": "active", "plan": "open",
     "valid_from": "2026-01-01", "valid_until": "2099-12-31", "seats": {"kind": "any"},
     "cards": [{"uid": "11111111"}]}%s
  ]
}`

// regulars came every day of the last two weeks, so that the charts
// have something to show.
var regulars = []string{"Sana Mir", "Usman Ali", "Zara Sheikh", "Hamza Qureshi", "Mahnoor Baig", "Farhan Javed"}

func membership() string {
	var b strings.Builder
	for i, name := range regulars {
		fmt.Fprintf(&b, `,
    {"id": "r-%d", "name": %q, "status": "active", "plan": "open", "valid_from": "2020-01-01",
     "valid_until": "2099-12-31", "seats": {"kind": "any"}, "cards": [{"uid": "AA0000%02d"}]}`, i, name, i)
	}
	return fmt.Sprintf(membershipJSON, b.String())
}

// seedHistory taps the regulars in and out on each of the last 14 days,
// in time order (the store's clock never goes back).
func seedHistory(t *testing.T, st *store.Store, seats []access.Seat) {
	type tap struct {
		at           time.Time
		reader, card string
	}
	loc := st.Policy().Location
	today := time.Now().In(loc)
	var taps []tap
	for day := 14; day >= 1; day-- {
		y, m, d := today.AddDate(0, 0, -day).Date()
		for i := range regulars {
			if (day+i)%4 == 0 {
				continue // a day off
			}
			in := time.Date(y, m, d, 9+i%3, 15*i, 0, 0, loc)
			out := in.Add(time.Duration(4+i%4) * time.Hour)
			card := fmt.Sprintf("AA0000%02d", i)
			taps = append(taps, tap{in, seats[i].Reader, card}, tap{out, seats[i].Reader, card})
		}
	}
	slices.SortStableFunc(taps, func(a, b tap) int { return a.at.Compare(b.at) })
	for _, tp := range taps {
		d, _, err := st.Tap(access.Tap{Reader: tp.reader, UID: tp.card}, tp.at)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed() {
			t.Fatalf("seeding: %s at %s at %v: refused, %s", tp.card, tp.reader, tp.at, d.Reason)
		}
	}
}

// chromiumPath finds the browser. A missing browser fails the test in CI
// and skips it, saying why, elsewhere.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium not found: install the Debian package chromium (./test.sh does)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// artifactsDir is where screenshots go: $ARTIFACTS_DIR, else
// testdata-artifacts/ at the root of the module (ignored by git).
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dir = filepath.Join(d, "testdata-artifacts")
				break
			}
			if filepath.Dir(d) == d {
				t.Fatalf("no go.mod above %s", wd)
			}
		}
	}
	dir = filepath.Join(dir, "owner-dashboard")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// emulator taps cards straight into the store, as the gateway's tap path
// does, and tells the dashboard. Only Tap is emulated.
type emulator struct {
	st     *store.Store
	notify func()
}

var errNotHere = fmt.Errorf("%w: not emulated in this test", api.ErrBadRequest)

func (e *emulator) Tap(_ context.Context, reader, uid string) (api.TapResult, error) {
	if !strings.HasPrefix(reader, "desk-") {
		return api.TapResult{}, fmt.Errorf("%w: %q", api.ErrUnknownReader, reader)
	}
	d, ev, err := e.st.Tap(access.Tap{Reader: reader, UID: uid}, time.Now())
	if err != nil {
		return api.TapResult{}, err
	}
	e.notify()
	return api.TapResult{Outcome: string(d.Outcome), Reason: string(d.Reason), Seat: ev.Seat, PrevSeat: d.PrevSeat,
		Member: d.Member, Seq: ev.Seq}, nil
}
func (e *emulator) PlaceCard(string, string) error        { return errNotHere }
func (e *emulator) RemoveCard(string, string) error       { return errNotHere }
func (e *emulator) Reader(string) (api.ReaderView, error) { return api.ReaderView{}, errNotHere }
func (e *emulator) SetClock(time.Time) error              { return errNotHere }
func (e *emulator) InjectFault(string, string, int) error { return errNotHere }

// health has every reader working.
type health struct{ seats []access.Seat }

func (h health) Health() api.HealthReport {
	type reader struct {
		ID string `json:"id"`
		OK bool   `json:"ok"`
	}
	var rs []reader
	for _, s := range h.seats {
		rs = append(rs, reader{ID: s.Reader, OK: true})
	}
	return api.HealthReport{Status: "ok", Centre: "lhr-01", Gateway: "gw-1", Version: "test", Now: time.Now(),
		ClockTrusted: true, Database: "ok", Readers: rs}
}

// gateway serves the dashboard and the JSON API as the gateway does.
func gateway(t *testing.T) string {
	st, err := store.Open(filepath.Join(t.TempDir(), "seatgate.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var seats []access.Seat
	for i, zone := range []string{"A", "A", "A", "A", "B", "B", "B", "B"} {
		id := fmt.Sprintf("%s%d", zone, i%4+1)
		seats = append(seats, access.Seat{ID: id, Zone: zone, Reader: "desk-" + strings.ToLower(id)})
	}
	if err := st.SetSeats(seats); err != nil {
		t.Fatal(err)
	}
	m, err := store.ParseMembership(strings.NewReader(membership()))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceMembership(m); err != nil {
		t.Fatal(err)
	}
	seedHistory(t, st, seats)
	dir := t.TempDir()
	if err := owner.SetPassword(dir, password); err != nil {
		t.Fatal(err)
	}
	emu := &emulator{st: st}
	h := health{seats: seats}
	dash, err := owner.New(owner.Options{Store: st, Health: h, Emulator: emu, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	emu.notify = dash.Notify
	apiHandler := api.New(api.Options{Store: st, Health: h, Emulator: emu})
	mux := http.NewServeMux()
	mux.Handle("/healthz", apiHandler)
	mux.Handle("/api/v1/", apiHandler)
	mux.Handle("/", dash.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(dash.Close) // first: ends the streams that srv.Close waits for
	return srv.URL
}

// seatIs is a predicate: seat's tile shows class and who, and the page
// was not reloaded since mark was set.
func seatIs(seat, class, who string) string {
	return fmt.Sprintf(`(() => { const el = document.querySelector('[data-seat=%q]');
		return window.__mark === 42 && el !== null && el.classList.contains(%q) &&
			el.querySelector('.who').textContent === %q; })()`, seat, class, who)
}

func TestDashboardInChromium(t *testing.T) {
	path := chromiumPath(t)
	shots := artifactsDir(t)
	base := gateway(t)

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(412, 915), chromedp.Flag("lang", "en-GB"))...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil { // starts the browser, with no timeout of its own
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(browser, 2*time.Minute)
	defer cancel()
	screenshot := func(name string) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			screenshot("failed.png")
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return v
	}
	// waitLive polls the page for pred (a DOM check, never a reload)
	// for at most liveWithin after start.
	waitLive := func(what, pred string, start time.Time) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](pred,
			chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(liveWithin-time.Since(start))))
		if err != nil {
			screenshot("failed.png")
			t.Fatalf("%s: not on the page %v after the tap (%v)", what, liveWithin, err)
		}
		t.Logf("%s: on the page %v after the tap", what, time.Since(start).Round(time.Millisecond))
	}

	phone := chromedp.EmulateViewport(412, 915, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	// Log in, on a phone.
	do("open the dashboard", phone, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#password")))
	if loc := eval(`location.pathname`); loc != "/login" {
		t.Fatalf("without a session: at %s, want /login", loc)
	}
	screenshot("01-login.png")
	do("log in", chromedp.SendKeys(chromedp.CSS("#password"), password), chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#seatmap")), chromedp.WaitVisible(chromedp.CSS("#live.on")))
	if got := eval(`document.querySelector('[data-seat="A1"]').className`); got != "seat free" {
		t.Fatalf("A1 before any tap: class %q, want seat free", got)
	}
	eval(`(window.__mark = 42, "")`) // gone if the page reloads
	screenshot("02-seat-map.png")

	// Tap through the emulator panel: A1 changes without a reload.
	do("fill the tap form", chromedp.SetValue(chromedp.CSS("#emu-reader"), "desk-a1"),
		chromedp.SendKeys(chromedp.CSS("#emu-uid"), "04A1B2C3D4E5F6"))
	start := time.Now()
	do("tap", chromedp.Click(chromedp.CSS("#emu-tap")))
	waitLive("Ayesha at A1", seatIs("A1", "occupied", "Ayesha Khan"), start)
	do("the tap's answer", chromedp.Poll[chromedp.Void](`document.getElementById("emu-result").textContent.includes("checked in at A1")`,
		chromedp.WithPollingTimeout(10*time.Second)))

	// Tap through the gateway's JSON API (as a script or seatctl would):
	// B1 changes on the open page.
	start = time.Now()
	res, err := http.Post(base+"/api/v1/emulator/readers/desk-b1/tap", "application/json", bytes.NewBufferString(`{"uid":"11111111"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("POST /api/v1/emulator/readers/desk-b1/tap: got %d", res.StatusCode)
	}
	waitLive("Bilal at B1", seatIs("B1", "occupied", "Bilal Ahmed"), start)
	if got := eval(`document.getElementById("summary").textContent`); got != "2 of 8 seats occupied" {
		t.Errorf("summary: got %q, want 2 of 8 seats occupied", got)
	}
	screenshot("03-seat-map-after-taps.png")

	// Ayesha leaves: A1 is free again.
	start = time.Now()
	do("tap again", chromedp.Click(chromedp.CSS("#emu-tap")))
	waitLive("A1 free", seatIs("A1", "free", ""), start)

	// Charts.
	do("open the charts", chromedp.Click(chromedp.CSS(`a[href="/charts"]`)), chromedp.WaitVisible(chromedp.CSS("svg.chart")))
	if n := eval(`String(document.querySelectorAll("svg.chart").length)`); n != "4" {
		t.Errorf("charts: got %s, want 4", n)
	}
	// The last 30 days show the regulars' two weeks.
	if n := eval(`String([...document.querySelectorAll("svg.chart")[1].querySelectorAll("g.bar")].filter(g => g.dataset.value > 0).length)`); n != "14" && n != "15" {
		t.Errorf("days with seats used in the 30-day chart: got %s, want 14 (15 with today)", n)
	}
	screenshot("04-charts-phone.png")
	do("widen the window", chromedp.EmulateViewport(1280, 900))
	screenshot("05-charts-desktop.png")

	// Urdu, right to left.
	do("switch to Urdu", phone, chromedp.Navigate(base+"/lang/ur?back=/"),
		chromedp.WaitVisible(chromedp.CSS("#live.on")))
	if dir := eval(`document.documentElement.dir`); dir != "rtl" {
		t.Errorf("Urdu page: dir %q, want rtl", dir)
	}
	if h1 := eval(`document.querySelector("h1").textContent`); h1 != "نشستوں کا نقشہ" {
		t.Errorf("Urdu title: got %q", h1)
	}
	screenshot("06-seat-map-urdu.png")

	// Logging out ends the live map's access too.
	do("log out", chromedp.Click(chromedp.CSS(".logout button")), chromedp.WaitVisible(chromedp.CSS("#password")))
	if code := eval(`fetch("/api/owner/seats").then(r => String(r.status))`); code != "401" {
		t.Errorf("seat map after logging out: got %s, want 401", code)
	}
}

package browsertest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/hq/dashboard"
	"github.com/pkfreelance/seatgate/hq/dashboard/dashboardtest"
	"github.com/pkfreelance/seatgate/hq/ledger"
	"github.com/pkfreelance/seatgate/hq/rollout"
	"github.com/pkfreelance/seatgate/sync/wire"
)

const (
	user     = "ayesha"
	password = "a long dashboard password"
)

const centres = `centres:
  - id: lhr-1
    name: Gulberg Hub
    city: Lahore
    tier: 1
  - id: khi-1
    name: Clifton
    city: Karachi
    tier: 2
`

// chromiumPath finds the browser. A missing browser fails the test in CI
// and skips it, saying why, elsewhere.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium not found: install the Debian package chromium"
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
	dir = filepath.Join(dir, "hq-dashboard")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// hq is seathq's listener as far as the browser can tell: the dashboard
// at / beside a stand-in for the JSON API, on fakes.
type hq struct {
	url   string
	fleet *dashboardtest.Fleet
}

func startHQ(t *testing.T) hq {
	now := time.Now()
	loc, _ := time.LoadLocation(dashboard.DefaultTimezone)
	today := access.DateOf(now.In(loc))

	reg := &dashboardtest.Registry{}
	reg.Enrol("lhr-1", "g1", "ground floor")
	reg.Enrol("lhr-1", "g2", "first floor")
	reg.Enrol("khi-1", "g1", "")
	fl := dashboardtest.NewFleet()
	fl.Online("lhr-1", "g1", "1.4.2", now,
		dashboardtest.Occupied("A1", "ground", "m-7", now.Add(-2*time.Hour)),
		dashboardtest.Free("A2", "ground"), dashboardtest.Free("A3", "ground"), dashboardtest.Free("A4", "ground"),
		dashboardtest.Occupied("A5", "ground", "m-8", now.Add(-40*time.Minute)), dashboardtest.Free("A6", "ground"))
	fl.Online("lhr-1", "g2", "1.5.0", now,
		dashboardtest.Free("B1", "first"), dashboardtest.Occupied("B2", "first", "m-9", now.Add(-3*time.Hour)),
		dashboardtest.Free("B3", "first"), dashboardtest.Free("B4", "first"))
	fl.Online("khi-1", "g1", "1.4.2", now, dashboardtest.Free("K1", ""), dashboardtest.Free("K2", ""))
	g2 := fl.Gateways("lhr-1")[1] // downloading an update, with a backlog
	g2.Health.OutboxDepth, g2.Health.OutboxOldest = 37, 540
	g2.Health.Update = &wire.UpdateHealth{Phase: rollout.PhaseDownloading, Version: "1.5.1", Rollout: "r-1-5-1", Done: 12, Total: 40}
	fl.Set(g2)

	lg := dashboardtest.NewLedger()
	for i := range 30 {
		d := ledger.Day{Date: today.AddDays(-i), Seconds: int64(20+i%7) * 3600, Sessions: int64(8 + i%5), Verified: i != 3}
		if i == 3 {
			d.Untrusted, d.Suspect = 2, []string{"g2"}
		}
		lg.Put("lhr-1", d)
	}
	ro := &dashboardtest.Rollouts{}
	ro.Set(rollout.Status{
		Spec:  rollout.Spec{ID: "r-1-5-0", Version: "1.5.0", Channel: "stable", Percentages: []int{5, 25, 100}},
		State: rollout.StatePaused, Reason: "1 of 2 canaries failed", Cohort: 0,
		Counts:   rollout.Counts{Eligible: 3, Assigned: 2, Succeeded: 1, Failed: 1, Pending: 1},
		Failures: map[string]rollout.Failure{"khi-1/g1": {Phase: rollout.PhaseRolledBack, Detail: "trial boot did not report", At: now.Add(-time.Hour)}},
		Started:  now.Add(-2 * time.Hour), Updated: now.Add(-time.Hour),
	})

	dir := t.TempDir()
	if err := dashboard.SetPassword(dir, user, password); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, dashboard.CentresFile), []byte(centres), 0o600); err != nil {
		t.Fatal(err)
	}
	dash, err := dashboard.New(dashboard.Options{Fleet: fl, Ledger: lg, Rollouts: ro, Registry: reg,
		SecretsDir: dir, CentresFile: filepath.Join(dir, dashboard.CentresFile), PushEvery: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "the API", http.StatusUnauthorized) })
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("GET /healthz", api)
	mux.Handle("/", dash.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(dash.Close) // first: ends the streams srv.Close waits for
	return hq{url: srv.URL, fleet: fl}
}

func TestDashboardInChromium(t *testing.T) {
	path := chromiumPath(t)
	shots := artifactsDir(t)
	h := startHQ(t)

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
	waitFor := func(what, pred string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](pred,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
		if err != nil {
			screenshot("failed.png")
			t.Fatalf("%s: not on the page (%v)", what, err)
		}
	}
	seat := func(id string) string {
		return eval(fmt.Sprintf(`document.querySelector('[data-seat=%q]').dataset.state`, id))
	}

	phone := chromedp.EmulateViewport(412, 915, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)

	// Without a session: the login page.
	do("open the dashboard", phone, chromedp.Navigate(h.url+"/centres/lhr-1"), chromedp.WaitVisible(chromedp.CSS(`input[name="password"]`)))
	if loc := eval(`location.pathname`); loc != "/login" {
		t.Fatalf("without a session: at %s, want /login", loc)
	}
	screenshot("01-login.png")

	// A wrong password first, then the right one: back to the page asked for.
	do("a wrong password", chromedp.SendKeys(chromedp.CSS(`input[name="user"]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "not the password"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(".error")))
	do("log in", chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-seat="A1"]`)))
	if loc := eval(`location.pathname`); loc != "/centres/lhr-1" {
		t.Errorf("after login: at %s, want /centres/lhr-1", loc)
	}

	// The overview shows the centre.
	do("open the overview", chromedp.Click(chromedp.CSS(`nav a[href="/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-centre="lhr-1"]`)), chromedp.WaitVisible(chromedp.CSS("#live-state.on")))
	if got := eval(`document.querySelector('tr[data-centre="lhr-1"] a').textContent`); got != "Gulberg Hub" {
		t.Errorf("overview: centre lhr-1 shows as %q, want Gulberg Hub", got)
	}
	if got := eval(`document.querySelector('[data-v="occupied"]').textContent + "/" + document.querySelector('[data-v="seats"]').textContent`); got != "3/12" {
		t.Errorf("overview: occupied/seats %s, want 3/12", got)
	}
	screenshot("02-overview-phone.png")

	// The centre's page, then a seat taken at the gateway: pushed live.
	do("open the centre", chromedp.Click(chromedp.CSS(`tr[data-centre="lhr-1"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-seat="A3"]`)), chromedp.WaitVisible(chromedp.CSS("#live-state.on")))
	if got := seat("A3"); got != "free" {
		t.Fatalf("A3 before: %s, want free", got)
	}
	if got := eval(`String(document.querySelectorAll("#ledger tbody tr").length)`); got != "30" {
		t.Errorf("ledger: %s days, want 30", got)
	}
	if got := eval(`document.querySelector('#ledger tr[data-verified="false"] .why').textContent`); got == "" {
		t.Errorf("ledger: the unverified day says no why")
	}
	if got := eval(`document.querySelector('#gateways tr[data-gateway="g2"]').textContent.replace(/\s+/g, " ")`); !strings.Contains(got, "downloading 1.5.1 (12/40)") || !strings.Contains(got, "37 events, oldest 9 min") {
		t.Errorf("gateway g2: %q, want its update (downloading 1.5.1, 12/40) and outbox (37 events, oldest 9 min)", got)
	}
	eval(`(window.__mark = 42, "")`) // gone if the page reloads
	screenshot("03-centre-phone.png")

	if !h.fleet.SetSeat("lhr-1", "g1", dashboardtest.Occupied("A3", "ground", "m-42", time.Now())) {
		t.Fatal("no gateway lhr-1/g1 in the fake fleet")
	}
	waitFor("A3 occupied by m-42, without a reload", `window.__mark === 42 &&
		document.querySelector('[data-seat="A3"]').dataset.state === "occupied" &&
		document.querySelector('[data-seat="A3"] small').textContent === "m-42"`)
	if got := eval(`document.querySelector('#usage [data-v="occupied"]').textContent`); got != "4" {
		t.Errorf("centre occupied after the change: %s, want 4", got)
	}
	screenshot("04-centre-after-change.png")
	do("widen the window", chromedp.EmulateViewport(1280, 900))
	screenshot("05-centre-desktop.png")

	// Rollouts.
	do("open the rollouts", phone, chromedp.Click(chromedp.CSS(`nav a[href="/rollouts"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-rollout="r-1-5-0"]`)))
	if got := eval(`document.querySelector('[data-rollout="r-1-5-0"] [data-v="failed"]').textContent`); got != "1" {
		t.Errorf("rollout failed count: %s, want 1", got)
	}
	screenshot("06-rollouts-phone.png")

	// Urdu, right to left.
	do("switch to Urdu", chromedp.Navigate(h.url+"/lang/ur?back=/"), chromedp.WaitVisible(chromedp.CSS(`tr[data-centre="lhr-1"]`)))
	if dir := eval(`document.documentElement.dir`); dir != "rtl" {
		t.Errorf("Urdu page: dir %q, want rtl", dir)
	}
	if h1 := eval(`document.querySelector("h1").textContent`); h1 != "قومی جائزہ" {
		t.Errorf("Urdu title: got %q", h1)
	}
	screenshot("07-overview-urdu.png")
	do("the centre in Urdu", chromedp.Navigate(h.url+"/centres/lhr-1"), chromedp.WaitVisible(chromedp.CSS(`[data-seat="A3"]`)))
	screenshot("08-centre-urdu.png")

	// Logging out ends the stream's access too.
	do("log out", chromedp.Click(chromedp.CSS(".logout button")), chromedp.WaitVisible(chromedp.CSS(`input[name="password"]`)))
	if code := eval(`fetch("/events?topic=overview", {method: "HEAD"}).then(r => String(r.status))`); code != "401" {
		t.Errorf("the stream after logging out: got %s, want 401", code)
	}
}

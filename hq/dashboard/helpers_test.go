package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pkfreelance/seatgate/hq/dashboard"
	"github.com/pkfreelance/seatgate/hq/dashboard/dashboardtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The fakes are what the dashboard reads.
var (
	_ dashboard.Fleet          = (*dashboardtest.Fleet)(nil)
	_ dashboard.Ledger         = (*dashboardtest.Ledger)(nil)
	_ dashboard.Rollouts       = (*dashboardtest.Rollouts)(nil)
	_ dashboard.Registry       = (*dashboardtest.Registry)(nil)
	_ dashboard.ChangeNotifier = (*dashboardtest.Registry)(nil)
)

// t0 is 10:00 in Karachi, ten hours after its midnight.
var t0 = time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)

// karachi is the centres' zone.
var karachi = func() *time.Location {
	l, err := time.LoadLocation("Asia/Karachi")
	if err != nil {
		panic(err)
	}
	return l
}()

// at is hh:mm on t0's day in Karachi, or on the day before for a
// negative day.
func at(day, hh, mm int) time.Time {
	return time.Date(2026, 11, 26+day, hh, mm, 0, 0, karachi)
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// The operator account every env has.
const (
	user     = "ayesha"
	password = "correct horse battery"
)

// env is a dashboard on fakes, served over HTTP.
type env struct {
	t        *testing.T
	clock    *clock
	fleet    *dashboardtest.Fleet
	ledger   *dashboardtest.Ledger
	rollouts *dashboardtest.Rollouts
	registry *dashboardtest.Registry
	dir      string
	d        *dashboard.Dashboard
	srv      *httptest.Server
}

// centresYAML places three of the four centres of seed.
const centresYAML = `centres:
  - id: lhr-1
    name: Gulberg Hub
    city: Lahore
    tier: 1
  - id: lhr-2
    name: Johar Town
    city: Lahore
    tier: 2
  - id: khi-1
    name: Clifton
    city: Karachi
    tier: 1
    timezone: Asia/Karachi
`

func newEnv(t *testing.T, push time.Duration) *env {
	t.Helper()
	e := &env{
		t: t, clock: &clock{t: t0}, fleet: dashboardtest.NewFleet(), ledger: dashboardtest.NewLedger(),
		rollouts: &dashboardtest.Rollouts{}, registry: &dashboardtest.Registry{}, dir: t.TempDir(),
	}
	if err := dashboard.WriteCheapUsers(e.dir, map[string]string{user: password}); err != nil {
		t.Fatal(err)
	}
	centres := filepath.Join(e.dir, dashboard.CentresFile)
	if err := os.WriteFile(centres, []byte(centresYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := dashboard.New(dashboard.Options{
		Fleet: e.fleet, Ledger: e.ledger, Rollouts: e.rollouts, Registry: e.registry,
		SecretsDir: e.dir, CentresFile: centres, Now: e.clock.Now, PushEvery: push,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.d = d
	e.srv = httptest.NewServer(d.Handler())
	t.Cleanup(func() {
		d.Close()
		e.srv.Close()
	})
	return e
}

// client is a browser: it keeps cookies and does not follow redirects.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// post sends a form as a browser on the dashboard's own page does.
func (e *env) post(c *http.Client, path string, form url.Values) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func (e *env) login(c *http.Client, user, pw string) *http.Response {
	e.t.Helper()
	return e.post(c, "/login", url.Values{"user": {user}, "password": {pw}, "next": {"/"}})
}

// loggedIn is a client with a session.
func (e *env) loggedIn() *http.Client {
	e.t.Helper()
	c := e.client()
	if resp := e.login(c, user, password); resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login: got %s, want 303", resp.Status)
	}
	return c
}

// get fetches path and returns the response with its body read.
func (e *env) get(c *http.Client, path string) (*http.Response, string) {
	e.t.Helper()
	resp, err := c.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, string(b)
}

// seed gives the fakes four centres (see TestOverviewNumbers).
func (e *env) seed() {
	e.registry.Enrol("lhr-1", "g1", "ground floor")
	e.registry.Enrol("lhr-1", "g2", "first floor")
	e.registry.Enrol("lhr-2", "g1", "")
	e.registry.Enrol("khi-1", "g1", "")
	e.registry.Enrol("pop-up", "g1", "")

	now := e.clock.Now()
	e.fleet.Online("lhr-1", "g1", "1.4.2", now,
		dashboardtest.Occupied("A1", "ground", "m-7", at(0, 8, 0)),
		dashboardtest.Occupied("A2", "ground", "m-8", at(-1, 22, 0)),
		dashboardtest.Free("A3", "ground"),
		dashboardtest.Free("A4", "ground"))
	e.fleet.Online("lhr-1", "g2", "1.4.1", now.Add(-2*time.Hour),
		dashboardtest.Occupied("B1", "first", "m-9", at(0, 7, 0)),
		dashboardtest.Free("B2", "first"))
	g2 := e.fleet.Gateways("lhr-1")[1]
	g2.State, g2.Presence.Online = "offline", false
	e.fleet.Set(g2)
	e.fleet.Online("lhr-2", "g1", "1.4.2", now.Add(-5*time.Minute),
		dashboardtest.Occupied("C1", "", "m-10", at(0, 9, 30)),
		dashboardtest.Free("C2", ""))
	g := e.fleet.Gateways("lhr-2")[0]
	g.State = "silent"
	e.fleet.Set(g)
	e.fleet.Online("pop-up", "g1", "1.3.0", now, dashboardtest.Free("P1", "hall"))
	e.fleet.Online("gone", "g1", "1.0.0", now, dashboardtest.Occupied("X1", "", "m-99", at(0, 1, 0)))
}

// event is one server-sent event.
type event struct {
	Name string
	Data string
}

// parts decodes an update event's data.
func (ev event) parts(t *testing.T) map[string]string {
	t.Helper()
	m := map[string]string{}
	if err := json.Unmarshal([]byte(ev.Data), &m); err != nil {
		t.Fatalf("event %s: data %q: %v", ev.Name, ev.Data, err)
	}
	return m
}

// stream opens path as an event stream with c's cookies and returns its
// events; it is closed at the end of the test.
func (e *env) stream(c *http.Client, path string) (<-chan event, *http.Response) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	out := make(chan event, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 1<<16), 1<<22)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Name != "" || ev.Data != "" {
					out <- ev
				}
				ev = event{}
			case strings.HasPrefix(line, "event: "):
				ev.Name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.Data += strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	e.t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		for range out { // let the reader finish
		}
		<-done
	})
	return out, resp
}

// waitFor reads events until one satisfies ok, failing after a generous
// deadline (a hung stream, not a slow one).
func waitFor(t *testing.T, events <-chan event, what string, ok func(event) bool) event {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev, open := <-events:
			if !open {
				t.Fatalf("stream ended before %s", what)
			}
			if ok(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no event with %s", what)
		}
	}
}

package dashboard_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/hq/dashboard"
	"github.com/pkfreelance/seatgate/hq/rollout"
)

// secrets are strings of the seeded data that no answer without a
// session may contain.
var secrets = []string{"lhr-1", "Gulberg", "m-7", "m-8", "pop-up", "1.4.2", "r-canary"}

// TestNoDataWithoutSession asks every route with no session, with a
// forged cookie and with an expired one: pages send the browser to the
// login page, the stream answers 401, and no answer holds any data.
func TestNoDataWithoutSession(t *testing.T) {
	e := newEnv(t, time.Hour)
	e.seed()
	e.rollouts.Set(rollout.Status{Spec: rollout.Spec{ID: "r-canary", Version: "1.4.2"}, State: rollout.StateRunning})

	expired := e.loggedIn()
	e.clock.Advance(dashboard.SessionMax)
	forged := e.client()
	u, _ := url.Parse(e.srv.URL)
	forged.Jar.SetCookies(u, []*http.Cookie{{Name: "seathq_session", Value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}})

	routes := []struct {
		method, path string
		want         int
	}{
		{"GET", "/", http.StatusSeeOther},
		{"HEAD", "/", http.StatusSeeOther},
		{"GET", "/centres/lhr-1", http.StatusSeeOther},
		{"GET", "/centres/no-such", http.StatusSeeOther},
		{"GET", "/centres/BAD%20ID", http.StatusSeeOther},
		{"GET", "/rollouts", http.StatusSeeOther},
		{"GET", "/events?topic=overview", http.StatusUnauthorized},
		{"GET", "/events?topic=centre&centre=lhr-1", http.StatusUnauthorized},
		{"GET", "/events?topic=rollouts", http.StatusUnauthorized},
		{"HEAD", "/events?topic=overview", http.StatusUnauthorized},
		{"GET", "/events", http.StatusUnauthorized},
		{"GET", "/centres", http.StatusNotFound},
		{"GET", "/api/v1/occupancy", http.StatusNotFound},
		{"GET", "/healthz", http.StatusNotFound},
		{"POST", "/", http.StatusNotFound},
		{"GET", "/static/", http.StatusNotFound},
	}
	for name, c := range map[string]*http.Client{"none": e.client(), "forged": forged, "expired": expired} {
		c.Timeout = 10 * time.Second // a stream that opens never ends
		for _, r := range routes {
			req, err := http.NewRequest(r.method, e.srv.URL+r.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Errorf("%s session: %s %s: %v", name, r.method, r.path, err)
				continue
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Errorf("%s session: %s %s: %s, then %v (a stream?)", name, r.method, r.path, resp.Status, err)
			}
			if resp.StatusCode != r.want {
				t.Errorf("%s session: %s %s: got %s, want %d", name, r.method, r.path, resp.Status, r.want)
			}
			if resp.StatusCode == http.StatusSeeOther && !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
				t.Errorf("%s session: %s %s: redirected to %q, want the login page", name, r.method, r.path, resp.Header.Get("Location"))
			}
			for _, s := range secrets {
				if strings.Contains(string(body), s) && !strings.Contains(r.path, s) { // a redirect names the page asked for
					t.Errorf("%s session: %s %s: the answer holds %q", name, r.method, r.path, s)
				}
			}
		}
	}
}

// TestOpenRoutes: the login page, the language switch and the static
// files need no session and say nothing of the fleet.
func TestOpenRoutes(t *testing.T) {
	e := newEnv(t, time.Hour)
	e.seed()
	c := e.client()
	for _, r := range []struct{ path, contentType string }{
		{"/login", "text/html; charset=utf-8"},
		{"/static/dashboard.js", "text/javascript; charset=utf-8"},
		{"/static/dashboard.css", "text/css; charset=utf-8"},
	} {
		resp, body := e.get(c, r.path)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != r.contentType {
			t.Errorf("%s: got %s %q, want 200 %q", r.path, resp.Status, resp.Header.Get("Content-Type"), r.contentType)
		}
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("%s holds %q", r.path, s)
			}
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: Content-Security-Policy %q", r.path, csp)
		}
	}
	resp, _ := e.get(c, "/lang/ur?back=/login")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("language switch: got %s to %q, want 303 to /login", resp.Status, resp.Header.Get("Location"))
	}
	if resp, _ := e.get(c, "/lang/fr"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown language: got %s, want 404", resp.Status)
	}
}

// TestPagesWithSession renders every page in both languages: it is there,
// in the language's direction, with the data, and without a missing
// label.
func TestPagesWithSession(t *testing.T) {
	e := newEnv(t, time.Hour)
	e.seed()
	e.rollouts.Set(rollout.Status{
		Spec: rollout.Spec{ID: "r-canary", Version: "1.5.0", Channel: "stable", Percentages: []int{5, 25, 100}}, State: rollout.StatePaused,
		Reason: "1 of 1 canaries failed", Cohort: 0, Counts: rollout.Counts{Eligible: 4, Assigned: 1, Failed: 1},
		Failures: map[string]rollout.Failure{"lhr-1/g1": {Phase: "rolled_back", Detail: "trial boot did not report", At: t0}},
	})
	c := e.loggedIn()
	u, _ := url.Parse(e.srv.URL)
	for _, lang := range []struct{ code, dir, overview string }{{"en", "ltr", "National overview"}, {"ur", "rtl", "قومی جائزہ"}} {
		c.Jar.SetCookies(u, []*http.Cookie{{Name: "seathq_lang", Value: lang.code}})
		for _, p := range []struct{ path, want string }{
			{"/", lang.overview},
			{"/", `data-centre="lhr-1"`},
			{"/centres/lhr-1", `data-seat="A1"`},
			{"/centres/lhr-1", "m-7"},
			{"/centres/khi-1", "Clifton"},
			{"/centres/pop-up", `data-seat="P1"`},
			{"/rollouts", `data-rollout="r-canary"`},
			{"/rollouts", "trial boot did not report"},
		} {
			resp, body := e.get(c, p.path)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s %s: got %s, want 200", lang.code, p.path, resp.Status)
				continue
			}
			if !strings.Contains(body, p.want) {
				t.Errorf("%s %s: no %q", lang.code, p.path, p.want)
			}
			if !strings.Contains(body, `dir="`+lang.dir+`"`) {
				t.Errorf("%s %s: not dir=%s", lang.code, p.path, lang.dir)
			}
			if strings.Contains(body, "⟦") {
				t.Errorf("%s %s: a label is missing: %s", lang.code, p.path, body[strings.Index(body, "⟦"):][:40])
			}
		}
	}
	for _, path := range []string{"/centres/gone", "/centres/nowhere", "/centres/Not-An-ID"} {
		if resp, _ := e.get(c, path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: got %s, want 404", path, resp.Status)
		}
	}
}

// TestLabels: both languages have the same keys, with the same
// placeholders.
func TestLabels(t *testing.T) {
	for _, p := range dashboard.LabelProblems() {
		t.Error(p)
	}
}

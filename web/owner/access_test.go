package owner_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// seedDay gives the test centre a day: people sitting, a move, a refused
// tap of a known member and one of an unknown card.
func seedDay(f *fixture) {
	f.tap("desk-a1", ayeshaCard, at("2026-11-26 09:00"))
	f.tap("desk-b1", bilalCard, at("2026-11-26 09:10"))
	f.tap("desk-a2", bilalCard, at("2026-11-26 10:00"))        // moves B1 → A2
	f.tap("desk-b1", sanaCard, at("2026-11-26 10:30"))         // zone B not allowed
	f.tap("desk-b1", "DEADBEEF", at("2026-11-26 11:00"))       // unknown card
	f.tap("desk-b1", usmanCard, at("2026-11-26 11:30"))        // suspended
	f.tap("desk-a1", "04A1B2C3D4E5F6", at("2026-11-26 11:45")) // Ayesha leaves
	f.tap("desk-a1", sanaCard, at("2026-11-26 11:50"))
}

// Without a session, no route shows anything about members: pages send
// to the login, data answers 401, and the few public routes hold no
// member data.
func TestNothingIsRevealedWithoutASession(t *testing.T) {
	f := newFixture(t)
	seedDay(f)
	tap := `{"reader":"desk-a1","uid":"` + ayeshaCard + `"}`
	tests := []struct {
		name     string
		rq       request
		code     int
		location string
	}{
		{"seat map", request{path: "/"}, 303, "/login?next=%2F"},
		{"today", request{path: "/today"}, 303, "/login?next=%2Ftoday"},
		{"charts", request{path: "/charts"}, 303, "/login?next=%2Fcharts"},
		{"plans", request{path: "/plans"}, 303, "/login?next=%2Fplans"},
		{"health", request{path: "/health"}, 303, "/login?next=%2Fhealth"},
		{"page with a query", request{path: "/today?x=1"}, 303, "/login?next=%2Ftoday%3Fx%3D1"},
		{"stream", request{path: "/events"}, 401, ""},
		{"seats JSON", request{path: "/api/owner/seats"}, 401, ""},
		{"tap", request{method: "POST", path: "/api/owner/tap", json: tap}, 401, ""},
		{"log out", request{method: "POST", path: "/logout", form: url.Values{}}, 401, ""},
		{"forged cookie", request{path: "/api/owner/seats", cookie: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, 401, ""},
		{"forged cookie, page", request{path: "/", cookie: "x"}, 303, "/login?next=%2F"},
		{"login page", request{path: "/login"}, 200, ""},
		{"wrong password", request{method: "POST", path: "/login", form: url.Values{"password": {"Ayesha Khan"}}}, 401, ""},
		{"language switch", request{path: "/lang/ur?back=/"}, 303, "/"},
		{"language switch to elsewhere", request{path: "/lang/ur?back=https://evil.example/"}, 303, "/"},
		{"stylesheet", request{path: "/static/owner.css"}, 200, ""},
		{"script", request{path: "/static/owner.js"}, 200, ""},
		{"no such asset", request{path: "/static/secrets.json"}, 404, ""},
		{"no such page", request{path: "/members"}, 404, ""},
		{"the JSON API is not served here", request{path: "/api/v1/seats"}, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.do(tt.rq)
			if a.code != tt.code {
				t.Errorf("got %d, want %d", a.code, tt.code)
			}
			if got := a.header.Get("Location"); got != tt.location {
				t.Errorf("Location: got %q, want %q", got, tt.location)
			}
			if tt.code == 401 && tt.rq.path != "/login" && !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
				t.Errorf("401 Content-Type: got %q, want JSON", a.header.Get("Content-Type"))
			}
			for _, s := range secrets {
				if strings.Contains(a.body, s) {
					t.Errorf("the answer reveals %q:\n%s", s, a.body)
				}
			}
		})
	}
	// The same routes with a session do show members: the check above
	// can fail.
	tok := f.login()
	for _, path := range []string{"/", "/today", "/plans", "/api/owner/seats"} {
		if a := f.do(request{path: path, cookie: tok}); a.code != 200 || !strings.Contains(a.body, "Sana Mir") {
			t.Errorf("%s with a session: got %d, want 200 naming Sana Mir:\n%s", path, a.code, a.body)
		}
	}
	seats, _ := f.st.Seats()
	if seats[0].MemberName != "Sana Mir" {
		t.Errorf("A1: got %q, want Sana Mir: the unauthenticated tap changed something", seats[0].MemberName)
	}
}

func TestRequireSession(t *testing.T) {
	f := newFixture(t)
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("Ayesha Khan")) })
	f.h = f.dash.RequireSession(inner)
	if a := f.do(request{path: "/api/v1/seats"}); a.code != 401 || strings.Contains(a.body, "Ayesha") {
		t.Errorf("without a session: got %d %q, want 401 without the name", a.code, a.body)
	}
	f.h = f.dash.Handler()
	tok := f.login()
	f.h = f.dash.RequireSession(inner)
	if a := f.do(request{path: "/api/v1/seats", cookie: tok}); a.code != 200 || a.body != "Ayesha Khan" {
		t.Errorf("with a session: got %d %q, want 200 and the inner handler's answer", a.code, a.body)
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	a := f.do(request{path: "/login"})
	for k, want := range map[string]string{
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
	} {
		if got := a.header.Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "http") {
		t.Errorf("CSP: got %q, want scripts from this gateway only", csp)
	}
}

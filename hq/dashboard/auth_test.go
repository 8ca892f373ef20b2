package dashboard_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/hq/dashboard"
)

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "seathq_session" {
			return c
		}
	}
	return nil
}

func TestLogin(t *testing.T) {
	tests := []struct {
		name       string
		user, pw   string
		wantStatus int
		wantCookie bool
	}{
		{"right password", user, password, http.StatusSeeOther, true},
		{"wrong password", user, password + "!", http.StatusUnauthorized, false},
		{"unknown user", "bilal", password, http.StatusUnauthorized, false},
		{"empty", "", "", http.StatusUnauthorized, false},
		{"password too long", user, strings.Repeat("x", dashboard.MaxPasswordLen+1), http.StatusUnauthorized, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, time.Hour)
			resp := e.login(e.client(), tt.user, tt.pw)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("got %s, want %d", resp.Status, tt.wantStatus)
			}
			c := sessionCookie(resp)
			if got := c != nil && c.Value != ""; got != tt.wantCookie {
				t.Errorf("session cookie set: got %v, want %v", got, tt.wantCookie)
			}
		})
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	e := newEnv(t, time.Hour)
	for _, tlsOn := range []bool{false, true} {
		form := url.Values{"user": {user}, "password": {password}, "next": {"/rollouts"}}
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tlsOn {
			req.TLS = &tls.ConnectionState{}
		}
		rec := httptest.NewRecorder()
		e.d.Handler().ServeHTTP(rec, req)
		resp := rec.Result()
		c := sessionCookie(resp)
		if resp.StatusCode != http.StatusSeeOther || c == nil {
			t.Fatalf("TLS %v: got %s and cookie %v, want 303 and a cookie", tlsOn, resp.Status, c)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure != tlsOn {
			t.Errorf("TLS %v: cookie %s: want HttpOnly, SameSite=Strict, Path=/, Secure only on TLS", tlsOn, c.String())
		}
		if loc := resp.Header.Get("Location"); loc != "/rollouts" {
			t.Errorf("redirect: got %q, want /rollouts", loc)
		}
	}
}

// TestLoginNext: the page to come back to must be on this server.
func TestLoginNext(t *testing.T) {
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", ""} {
		e := newEnv(t, time.Hour)
		resp := e.post(e.client(), "/login", url.Values{"user": {user}, "password": {password}, "next": {next}})
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("next %q: redirected to %q, want /", next, loc)
		}
	}
}

// TestLoginRateLimit: after FreeFailures wrong passwords the address waits
// FirstLock, answered 429 with Retry-After even with the right password;
// the next failure after the wait doubles it; a success clears it.
func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t, time.Hour)
	c := e.client()
	for i := 1; i < dashboard.FreeFailures; i++ {
		if resp := e.login(c, user, "wrong password!"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: got %s, want 401", i, resp.Status)
		}
	}
	resp := e.login(c, user, "wrong password!")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "30" {
		t.Fatalf("failure %d: got %s, Retry-After %q; want 429, 30", dashboard.FreeFailures, resp.Status, resp.Header.Get("Retry-After"))
	}
	resp = e.login(c, user, password)
	if resp.StatusCode != http.StatusTooManyRequests || sessionCookie(resp) != nil {
		t.Fatalf("right password while locked: got %s, want 429 and no session", resp.Status)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "30" {
		t.Errorf("Retry-After while locked: got %q, want 30 (the clock has not moved)", ra)
	}

	e.clock.Advance(dashboard.FirstLock)
	resp = e.login(c, user, "wrong password!")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "60" {
		t.Fatalf("failure after the lock: got %s, Retry-After %q; want 429, 60", resp.Status, resp.Header.Get("Retry-After"))
	}
	e.clock.Advance(time.Minute)
	if resp := e.login(c, user, password); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("right password after the lock: got %s, want 303", resp.Status)
	}
	if resp := e.login(c, user, "wrong password!"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a failure after a success: got %s, want 401 (the count was cleared)", resp.Status)
	}
}

// TestLoginRateLimitPerAddress: one address locked out does not lock
// out another.
func TestLoginRateLimitPerAddress(t *testing.T) {
	e := newEnv(t, time.Hour)
	h := e.d.Handler()
	try := func(addr, pw string) int {
		form := url.Values{"user": {user}, "password": {pw}}
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for range dashboard.FreeFailures {
		try("192.0.2.1:1000", "wrong password!")
	}
	if got := try("192.0.2.1:1001", password); got != http.StatusTooManyRequests {
		t.Errorf("locked address, another port: got %d, want 429", got)
	}
	if got := try("192.0.2.2:1000", password); got != http.StatusSeeOther {
		t.Errorf("another address: got %d, want 303", got)
	}
}

func TestNoAccounts(t *testing.T) {
	e := newEnv(t, time.Hour)
	if err := dashboard.WriteCheapUsers(e.dir, nil); err != nil {
		t.Fatal(err)
	}
	if resp := e.login(e.client(), user, password); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("got %s, want 503", resp.Status)
	}
}

// TestSessionExpiry: a session ends SessionIdle after the last page, and
// SessionMax after login however busy.
func TestSessionExpiry(t *testing.T) {
	e := newEnv(t, time.Hour)
	c := e.loggedIn()
	step := dashboard.SessionIdle - time.Minute
	var busy time.Duration
	for busy+step < dashboard.SessionMax {
		e.clock.Advance(step)
		busy += step
		if resp, _ := e.get(c, "/"); resp.StatusCode != http.StatusOK {
			t.Fatalf("%v after login, a page every %v: got %s, want 200", busy, step, resp.Status)
		}
	}
	e.clock.Advance(dashboard.SessionMax - busy)
	if resp, _ := e.get(c, "/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("%v after login: got %s, want 303 to the login", dashboard.SessionMax, resp.Status)
	}

	c = e.loggedIn()
	e.clock.Advance(dashboard.SessionIdle - time.Second)
	if resp, _ := e.get(c, "/events?topic=nothing"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a stream request just before the idle limit: got %s, want 400 (session valid)", resp.Status)
	}
	e.clock.Advance(time.Second)
	if resp, _ := e.get(c, "/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("%v idle (a stream request does not count): got %s, want 303", dashboard.SessionIdle, resp.Status)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, time.Hour)
	c := e.loggedIn()
	u, _ := url.Parse(e.srv.URL)
	stolen := c.Jar.Cookies(u)
	resp := e.post(c, "/logout", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("logout: got %s to %q, want 303 to /login", resp.Status, resp.Header.Get("Location"))
	}
	if resp, _ := e.get(c, "/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: got %s, want 303", resp.Status)
	}
	replay := e.client()
	replay.Jar.SetCookies(u, stolen)
	if resp, _ := e.get(replay, "/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the old cookie after logout: got %s, want 303", resp.Status)
	}
}

// TestCrossOriginPost: a form posted from another site is refused and
// changes nothing.
func TestCrossOriginPost(t *testing.T) {
	e := newEnv(t, time.Hour)
	c := e.loggedIn()
	for _, h := range []struct{ name, value string }{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
		for _, path := range []string{"/logout", "/login"} {
			form := url.Values{"user": {user}, "password": {password}}
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set(h.name, h.value)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with %s: %s: got %s, want 403", path, h.name, h.value, resp.Status)
			}
		}
	}
	if resp, _ := e.get(c, "/"); resp.StatusCode != http.StatusOK {
		t.Errorf("after a cross-site logout: got %s, want 200 (still logged in)", resp.Status)
	}
}

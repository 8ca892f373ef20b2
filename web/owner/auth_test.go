package owner_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/web/owner"
)

func TestSetPassword(t *testing.T) {
	dir := t.TempDir()
	if err := owner.SetPassword(dir, "short"); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Errorf("a 5-character password: got %v, want too short", err)
	}
	if err := owner.SetPassword(dir, "کوئٹہ۱۲۳"); err == nil {
		t.Errorf("an 8-character Urdu password (more than 10 bytes): got nil, want too short")
	}
	if _, err := os.Stat(filepath.Join(dir, owner.PasswordFile)); !os.IsNotExist(err) {
		t.Fatalf("a refused password left a file: %v", err)
	}
	if err := owner.SetPassword(dir, password); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, owner.PasswordFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode: got %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	first := string(b)
	if !strings.HasPrefix(first, "$argon2id$v=19$m=65536,t=2,p=2$") || strings.Count(first, "$") != 5 {
		t.Errorf("stored hash: got %q, want $argon2id$v=19$m=65536,t=2,p=2$salt$hash", first)
	}
	if strings.Contains(first, password) {
		t.Error("the password is stored in the clear")
	}
	if err := owner.SetPassword(dir, password); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	if string(b) == first {
		t.Error("setting the same password again gave the same hash: the salt is not random")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %d files, want only %s (no temporary left)", len(entries), owner.PasswordFile)
	}
}

func TestLogin(t *testing.T) {
	f := newFixture(t)
	noPassword := newFixture(t)
	os.Remove(filepath.Join(noPassword.dir, owner.PasswordFile))
	tests := []struct {
		name     string
		f        *fixture
		form     url.Values
		code     int
		location string
		says     string
	}{
		{"right password", f, url.Values{"password": {password}}, 303, "/", ""},
		{"right password, back to the page asked for", f, url.Values{"password": {password}, "next": {"/charts"}}, 303, "/charts", ""},
		{"next to another site is ignored", f, url.Values{"password": {password}, "next": {"//evil.example/x"}}, 303, "/", ""},
		{"next with a backslash is ignored", f, url.Values{"password": {password}, "next": {"/\\evil.example"}}, 303, "/", ""},
		{"wrong password", f, url.Values{"password": {"chai-and-biscuitz"}}, 401, "", "Wrong password"},
		{"empty password", f, url.Values{"password": {""}}, 401, "", "Wrong password"},
		{"no password set", noPassword, url.Values{"password": {password}}, 503, "", "seatgate passwd"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A different client each time: the lock is per client.
			a := tt.f.do(request{method: "POST", path: "/login", form: tt.form, remote: fmt.Sprintf("10.0.0.%d:1", i)})
			if a.code != tt.code {
				t.Fatalf("got %d, want %d\n%s", a.code, tt.code, a.body)
			}
			if got := a.header.Get("Location"); got != tt.location {
				t.Errorf("Location: got %q, want %q", got, tt.location)
			}
			if !strings.Contains(a.body, tt.says) {
				t.Errorf("body does not say %q:\n%s", tt.says, a.body)
			}
			cookies := (&http.Response{Header: a.header}).Cookies()
			if tt.code != 303 {
				if len(cookies) != 0 {
					t.Errorf("a failed log-in set cookies %v", cookies)
				}
				return
			}
			c := sessionCookie(t, a.header)
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Path != "/" || len(c.Value) < 43 {
				t.Errorf("session cookie: got %+v, want HttpOnly, SameSite=Strict, not Secure over http, Path /, 32 random bytes", c)
			}
		})
	}
}

func TestLoginCookieIsSecureOverTLS(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewTLSServer(f.h)
	defer srv.Close()
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.PostForm(srv.URL+"/login", url.Values{"password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 303 {
		t.Fatalf("got %d, want 303", res.StatusCode)
	}
	if ck := sessionCookie(t, res.Header); !ck.Secure {
		t.Errorf("cookie over TLS: got %+v, want Secure", ck)
	}
}

func TestLoginRateLimit(t *testing.T) {
	f := newFixture(t)
	attempt := func(pw, client string) answer {
		t.Helper()
		return f.do(request{method: "POST", path: "/login", form: url.Values{"password": {pw}}, remote: client + ":5555"})
	}
	const attacker, owner = "192.168.1.66", "192.168.1.20"
	for i := 1; i <= 4; i++ {
		if a := attempt("guess", attacker); a.code != 401 {
			t.Fatalf("wrong password %d: got %d, want 401", i, a.code)
		}
	}
	a := attempt("guess", attacker)
	if a.code != http.StatusTooManyRequests || a.header.Get("Retry-After") != "30" {
		t.Fatalf("5th wrong password: got %d Retry-After %q, want 429 Retry-After 30", a.code, a.header.Get("Retry-After"))
	}
	if a := attempt(password, attacker); a.code != http.StatusTooManyRequests {
		t.Errorf("right password while locked: got %d, want 429 (not even checked)", a.code)
	}
	if a := attempt(password, owner); a.code != 303 {
		t.Errorf("another client: got %d, want 303 (the lock is per client)", a.code)
	}
	f.clock.Add(29 * time.Second)
	if a := attempt(password, attacker); a.code != 429 || a.header.Get("Retry-After") != "1" {
		t.Errorf("1 s before the lock ends: got %d Retry-After %q, want 429 Retry-After 1", a.code, a.header.Get("Retry-After"))
	}
	f.clock.Add(time.Second)
	if a := attempt("guess", attacker); a.code != 429 || a.header.Get("Retry-After") != "60" {
		t.Errorf("6th wrong password: got %d Retry-After %q, want 429 with the lock doubled to 60", a.code, a.header.Get("Retry-After"))
	}
	f.clock.Add(time.Minute)
	if a := attempt(password, attacker); a.code != 303 {
		t.Fatalf("right password after the lock: got %d, want 303", a.code)
	}
	if a := attempt("guess", attacker); a.code != 401 {
		t.Errorf("wrong password after a success: got %d, want 401 (count cleared)", a.code)
	}
}

func TestSessionExpiry(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		f := newFixture(t)
		tok := f.login()
		f.clock.Add(12*time.Hour - time.Second)
		if a := f.do(request{path: "/", cookie: tok}); a.code != 200 {
			t.Fatalf("after 12 h less a second idle: got %d, want 200", a.code)
		}
		f.clock.Add(12 * time.Hour)
		a := f.do(request{path: "/today", cookie: tok})
		if a.code != 303 || a.header.Get("Location") != "/login?next=%2Ftoday" {
			t.Errorf("after 12 h idle: got %d to %q, want 303 to /login?next=%%2Ftoday", a.code, a.header.Get("Location"))
		}
	})
	t.Run("absolute", func(t *testing.T) {
		f := newFixture(t)
		tok := f.login()
		for h := 11; h < 7*24; h += 11 {
			f.clock.Add(11 * time.Hour)
			if a := f.do(request{path: "/", cookie: tok}); a.code != 200 {
				t.Fatalf("busy session after %d h: got %d, want 200", h, a.code)
			}
		}
		f.clock.Add(11 * time.Hour) // 176 h: past 7 days
		if a := f.do(request{path: "/", cookie: tok}); a.code != 303 {
			t.Errorf("busy session after 7 days: got %d, want 303 to the login", a.code)
		}
		if a := f.do(request{path: "/api/owner/seats", cookie: tok}); a.code != 401 {
			t.Errorf("data after 7 days: got %d, want 401", a.code)
		}
	})
	t.Run("the live stream does not keep it alive", func(t *testing.T) {
		f := newFixture(t)
		tok := f.login()
		srv := httptest.NewServer(f.h)
		defer srv.Close()
		defer f.dash.Close()
		s := openStream(t, srv.URL, tok)
		s.next(t) // the first map
		f.clock.Add(12 * time.Hour)
		if ev := s.nextEvent(t); ev.name != "expired" {
			t.Errorf("stream after 12 h: got event %q, want expired", ev.name)
		}
	})
}

func TestLogout(t *testing.T) {
	f := newFixture(t)
	tok := f.login()
	page := f.do(request{path: "/", cookie: tok})
	csrf := csrfOf(t, page.body)
	if a := f.do(request{method: "POST", path: "/logout", cookie: tok, form: url.Values{}}); a.code != 403 {
		t.Errorf("log out without the CSRF token: got %d, want 403", a.code)
	}
	if a := f.do(request{method: "POST", path: "/logout", cookie: tok, form: url.Values{"csrf": {"x" + csrf[1:]}}}); a.code != 403 {
		t.Errorf("log out with a wrong CSRF token: got %d, want 403", a.code)
	}
	a := f.do(request{method: "POST", path: "/logout", cookie: tok, form: url.Values{"csrf": {csrf}}})
	if a.code != 303 || a.header.Get("Location") != "/login" {
		t.Fatalf("log out: got %d to %q, want 303 to /login", a.code, a.header.Get("Location"))
	}
	if c := sessionCookie(t, a.header); c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("log out cookie: got %+v, want it deleted", c)
	}
	if a := f.do(request{path: "/", cookie: tok}); a.code != 303 {
		t.Errorf("the old cookie after log-out: got %d, want 303 to the login", a.code)
	}
}

func TestCrossOriginRequestsAreRefused(t *testing.T) {
	f := newFixture(t)
	tok := f.login()
	csrf := csrfOf(t, f.do(request{path: "/", cookie: tok}).body)
	evil := map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
	tests := []struct {
		name string
		rq   request
		code int
	}{
		{"log-in from another site", request{method: "POST", path: "/login", form: url.Values{"password": {password}}, header: evil}, 403},
		{"tap from another site, right token", request{method: "POST", path: "/api/owner/tap", cookie: tok,
			json: `{"reader":"desk-a1","uid":"` + ayeshaCard + `"}`, header: map[string]string{"Origin": "http://evil.example", "X-CSRF-Token": csrf}}, 403},
		{"tap without the token", request{method: "POST", path: "/api/owner/tap", cookie: tok,
			json: `{"reader":"desk-a1","uid":"` + ayeshaCard + `"}`}, 403},
		{"tap with the token", request{method: "POST", path: "/api/owner/tap", cookie: tok,
			json: `{"reader":"desk-a1","uid":"` + ayeshaCard + `"}`, header: map[string]string{"X-CSRF-Token": csrf}}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a := f.do(tt.rq); a.code != tt.code {
				t.Errorf("got %d, want %d\n%s", a.code, tt.code, a.body)
			}
		})
	}
	seats, _ := f.st.Seats()
	if seats[0].State != "occupied" {
		t.Errorf("after the one accepted tap: A1 is %s, want occupied", seats[0].State)
	}
}

package owner_test

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/web/api"
	"github.com/pkfreelance/seatgate/web/owner"
)

var karachi = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Karachi")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at parses "2006-01-02 15:04" in Karachi. 26 November 2026 is a Thursday.
func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, karachi)
	if err != nil {
		panic(err)
	}
	return t
}

const password = "chai-and-biscuits"

// Members of the test centre. Only the test's data mentions these names,
// so finding one in an answer means the answer revealed a member.
const (
	ayeshaCard = "04A1B2C3D4E5F6"
	bilalCard  = "11111111"
	sanaCard   = "22222222"
	usmanCard  = "33333333"
)

var secrets = []string{"Ayesha", "Khan", "Bilal", "Sana", "Usman", "m-001", "m-002", "m-003", ayeshaCard, bilalCard, sanaCard}

const membershipJSON = `{
  "centre": "lhr-01", "revision": 1, "generated_at": "2026-11-01T09:00:00+05:00",
  "plans": [
    {"id": "open", "name": "Open access", "grace_days": 0, "price_pkr": 4000},
    {"id": "day", "name": "Day shift", "windows": [{"start": "09:00", "end": "18:00"}], "grace_days": 0, "price_pkr": 3500}
  ],
  "members": [
    {"id": "m-001", "name": "Ayesha Khan", "status": "active", "plan": "open",
     "valid_from": "2026-10-01", "valid_until": "2026-11-30", "seats": {"kind": "any"},
     "cards": [{"uid": "04A1B2C3D4E5F6"}]},
    {"id": "m-002", "name": "Bilal Ahmed", "status": "active", "plan": "open",
     "valid_from": "2026-10-01", "valid_until": "2026-12-31", "seats": {"kind": "any"},
     "cards": [{"uid": "11111111"}]},
    {"id": "m-003", "name": "Sana Mir", "status": "active", "plan": "day",
     "valid_from": "2026-10-01", "valid_until": "2026-11-27", "seats": {"kind": "zones", "zones": ["A"]},
     "cards": [{"uid": "22222222"}]},
    {"id": "m-004", "name": "Usman Ali", "status": "suspended", "plan": "open",
     "valid_from": "2026-10-01", "valid_until": "2026-11-28", "seats": {"kind": "any"},
     "cards": [{"uid": "33333333"}]},
    {"id": "m-005", "name": "Zara Sheikh", "status": "active", "plan": "open",
     "valid_from": "2026-10-01", "valid_until": "2026-11-20", "seats": {"kind": "any"},
     "cards": [{"uid": "44444444"}]}
  ]
}`

var testSeats = []access.Seat{
	{ID: "A1", Zone: "A", Reader: "desk-a1"},
	{ID: "A2", Zone: "A", Reader: "desk-a2"},
	{ID: "B1", Zone: "B", Reader: "desk-b1"},
}

// newStore opens a store with the test seats and membership.
func newStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "seatgate.db"), store.Options{
		Policy: access.Policy{DailyCutoff: access.Clock(3, 0), MaxSession: 16 * time.Hour, WarnDays: 5, Location: karachi},
		NoSync: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.SetSeats(testSeats); err != nil {
		t.Fatal(err)
	}
	m, err := store.ParseMembership(strings.NewReader(membershipJSON))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceMembership(m); err != nil {
		t.Fatal(err)
	}
	return st
}

// clock is the test's clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// health is a gateway's health with readers that can be made to fail.
type health struct {
	mu     sync.Mutex
	broken map[string]string // reader → error
}

type readerStatus struct {
	ID    string `json:"id"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

func (h *health) Break(reader, err string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.broken == nil {
		h.broken = map[string]string{}
	}
	h.broken[reader] = err
}

func (h *health) Health() api.HealthReport {
	h.mu.Lock()
	defer h.mu.Unlock()
	var readers []readerStatus
	for _, s := range testSeats {
		e, bad := h.broken[s.Reader]
		readers = append(readers, readerStatus{ID: s.Reader, OK: !bad, Error: e})
	}
	return api.HealthReport{Status: "ok", Centre: "lhr-01", Gateway: "gw-1", Version: "1.4.2",
		Now: at("2026-11-26 12:00"), ClockTrusted: true, Database: "ok", Readers: readers,
		Outbox: store.OutboxState{Depth: 3, OldestUndelivered: at("2026-11-26 11:40")},
		HQ:     map[string]any{"link": map[string]any{"connected": false, "last_error": "dial tcp: connection refused"}}}
}

// emulator taps cards straight into the store, as the gateway's tap path
// does, and tells the dashboard.
type emulator struct {
	st     *store.Store
	now    func() time.Time
	notify func()
}

func (e *emulator) Tap(_ context.Context, reader, uid string) (api.TapResult, error) {
	if !strings.HasPrefix(reader, "desk-") {
		return api.TapResult{}, fmt.Errorf("%w: %q", api.ErrUnknownReader, reader)
	}
	if _, err := access.CanonicalUID(uid); err != nil {
		return api.TapResult{}, fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	}
	d, ev, err := e.st.Tap(access.Tap{Reader: reader, UID: uid}, e.now())
	if err != nil {
		return api.TapResult{}, err
	}
	e.notify()
	return api.TapResult{Outcome: string(d.Outcome), Reason: string(d.Reason), Seat: ev.Seat, PrevSeat: d.PrevSeat,
		Member: d.Member, Seq: ev.Seq}, nil
}

// fixture is a dashboard over a real store, with a clock, a health and
// an emulator the test controls.
type fixture struct {
	t      *testing.T
	st     *store.Store
	dir    string
	clock  *clock
	health *health
	dash   *owner.Dashboard
	h      http.Handler
}

func newFixture(t *testing.T, tweak ...func(*owner.Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, st: newStore(t), dir: t.TempDir(), clock: &clock{t: at("2026-11-26 12:00")}, health: &health{}}
	writeCheapPassword(t, f.dir, password)
	emu := &emulator{st: f.st, now: f.clock.Now}
	o := owner.Options{Store: f.st, Health: f.health, Emulator: emu, DataDir: f.dir, Now: f.clock.Now,
		Refresh: 10 * time.Millisecond}
	for _, tw := range tweak {
		tw(&o)
	}
	d, err := owner.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	emu.notify = d.Notify
	f.dash, f.h = d, d.Handler()
	return f
}

// tap taps a card at a reader at the given time and notifies the dashboard.
func (f *fixture) tap(reader, uid string, when time.Time) store.Event {
	f.t.Helper()
	_, ev, err := f.st.Tap(access.Tap{Reader: reader, UID: uid}, when)
	if err != nil {
		f.t.Fatal(err)
	}
	f.dash.Notify()
	return ev
}

// request is one request to the handler, from a client address.
type request struct {
	method, path string
	form         url.Values // a form body
	json         string     // a JSON body
	cookie       string     // the session token
	header       map[string]string
	remote       string
}

type answer struct {
	code   int
	header http.Header
	body   string
}

func (f *fixture) do(rq request) answer {
	f.t.Helper()
	var body io.Reader
	req := httptest.NewRequest(cmp.Or(rq.method, "GET"), rq.path, nil)
	switch {
	case rq.form != nil:
		body = strings.NewReader(rq.form.Encode())
		req = httptest.NewRequest(rq.method, rq.path, body)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case rq.json != "":
		req = httptest.NewRequest(rq.method, rq.path, strings.NewReader(rq.json))
		req.Header.Set("Content-Type", "application/json")
	}
	req.RemoteAddr = cmp.Or(rq.remote, "192.168.1.20:40000")
	if rq.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "seatgate_owner", Value: rq.cookie})
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return answer{code: w.Code, header: w.Header(), body: w.Body.String()}
}

// login logs in and returns the session token.
func (f *fixture) login() string {
	f.t.Helper()
	a := f.do(request{method: "POST", path: "/login", form: url.Values{"password": {password}}})
	if a.code != http.StatusSeeOther {
		f.t.Fatalf("log in: got %d, want 303\n%s", a.code, a.body)
	}
	return sessionCookie(f.t, a.header).Value
}

func sessionCookie(t *testing.T, h http.Header) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "seatgate_owner" {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", h["Set-Cookie"])
	return nil
}

// csrfOf reads the CSRF token from a page.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	const marker = `name="csrf-token" content="`
	i := strings.Index(page, marker)
	if i < 0 {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	rest := page[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}

// withSlowRefresh leaves Notify as the only thing that refreshes a stream.
func withSlowRefresh(o *owner.Options) { o.Refresh = time.Hour }

// writeCheapPassword stores password hashed with Argon2id at its lowest
// cost the dashboard accepts (8 MiB, one pass), so that tests log in
// quickly under the race detector. SetPassword's own cost is tested in
// TestSetPassword.
func writeCheapPassword(t *testing.T, dir, pw string) {
	t.Helper()
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(pw), salt, 1, 8*1024, 1, 32)
	b64 := base64.RawStdEncoding
	phc := fmt.Sprintf("$argon2id$v=19$m=8192,t=1,p=1$%s$%s\n", b64.EncodeToString(salt), b64.EncodeToString(key))
	if err := os.WriteFile(filepath.Join(dir, owner.PasswordFile), []byte(phc), 0o600); err != nil {
		t.Fatal(err)
	}
}

package owner_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/pkfreelance/seatgate/web/owner"
)

// Every page renders in both languages, with every label found and the
// right direction.
func TestPagesRenderInBothLanguages(t *testing.T) {
	f := newFixture(t, func(o *owner.Options) {
		o.Firmware = func() owner.FirmwareState {
			return owner.FirmwareState{Phase: "downloading", Version: "1.5.0", Done: 3, Total: 12}
		}
	})
	seedDay(f)
	tok := f.login()
	for _, lang := range []struct{ code, dir, says string }{{"en", "ltr", "Seat map"}, {"ur", "rtl", "نشستوں کا نقشہ"}} {
		for _, path := range []string{"/", "/today", "/charts", "/plans", "/health", "/login"} {
			t.Run(lang.code+path, func(t *testing.T) {
				a := f.do(request{path: path, cookie: tok, header: map[string]string{"Cookie": "seatgate_lang=" + lang.code + "; seatgate_owner=" + tok}})
				if path == "/login" {
					a = f.do(request{path: path, header: map[string]string{"Cookie": "seatgate_lang=" + lang.code}})
				}
				if a.code != 200 {
					t.Fatalf("got %d, want 200\n%s", a.code, a.body)
				}
				if !strings.Contains(a.body, `<html lang="`+lang.code+`" dir="`+lang.dir+`">`) {
					t.Errorf("no <html lang=%q dir=%q>", lang.code, lang.dir)
				}
				if i := strings.Index(a.body, "⟦"); i >= 0 {
					t.Errorf("a label is missing: %s", a.body[i:min(i+60, len(a.body))])
				}
				if path == "/" && !strings.Contains(a.body, lang.says) {
					t.Errorf("the seat map does not say %q", lang.says)
				}
				// Labels in attributes are plain text (an attribute named
				// on… would be escaped as JavaScript).
				if path == "/" && lang.code == "en" && !strings.Contains(a.body, `data-label-on="Live"`) {
					t.Errorf("the live indicator's label is not plain text")
				}
				for _, u := range regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(a.body, -1) {
					if strings.Contains(u[1], "//") {
						t.Errorf("the page loads %s from elsewhere: it must work offline", u[1])
					}
				}
			})
		}
	}
}

func TestTodayPage(t *testing.T) {
	f := newFixture(t)
	seedDay(f)
	body := f.do(request{path: "/today", cookie: f.login()}).body
	for _, want := range []string{
		`<b id="stat-occupied">2 / 3</b>`, // Sana at A1, Bilal at A2
		`<b id="stat-checkins">3</b>`,     // Ayesha, Bilal, Sana
		`<b id="stat-refused">3</b>`,
		"unknown card", "member suspended", "seat not allowed by the plan",
		"DEADBEEF", "Usman Ali", "Sana Mir",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("today page does not show %q", want)
		}
	}
	// Newest first: Usman (11:30), then the unknown card (11:00), then Sana (10:30).
	if u, d, s := strings.Index(body, "Usman Ali"), strings.Index(body, "DEADBEEF"), strings.Index(body, "<td>Sana Mir"); !(u < d && d < s) {
		t.Errorf("refused taps not newest first: Usman at %d, DEADBEEF at %d, Sana at %d", u, d, s)
	}
}

func TestPlansPage(t *testing.T) {
	f := newFixture(t)
	body := f.do(request{path: "/plans", cookie: f.login()}).body
	// Today is 26 November: Sana's plan ends on the 27th, Usman's
	// (suspended) on the 28th, Ayesha's on the 30th; Bilal's in December
	// and Zara's has already ended.
	s, u, a := strings.Index(body, "Sana Mir"), strings.Index(body, "Usman Ali"), strings.Index(body, "Ayesha Khan")
	if s < 0 || u < 0 || a < 0 || !(s < u && u < a) {
		t.Errorf("want Sana, Usman, Ayesha in that order: at %d, %d, %d", s, u, a)
	}
	for _, absent := range []string{"Bilal", "Zara"} {
		if strings.Contains(body, absent) {
			t.Errorf("the plans page lists %s", absent)
		}
	}
	for _, want := range []string{"tomorrow", "in 2 days", "in 4 days", "suspended", "Day shift", "27 Nov"} {
		if !strings.Contains(body, want) {
			t.Errorf("the plans page does not say %q", want)
		}
	}
}

func TestHealthPage(t *testing.T) {
	f := newFixture(t, func(o *owner.Options) {
		o.Firmware = func() owner.FirmwareState {
			return owner.FirmwareState{Phase: "downloading", Version: "1.5.0", Done: 3, Total: 12}
		}
	})
	f.health.Break("desk-a2", "no answer on spi0.1")
	body := f.do(request{path: "/health", cookie: f.login()}).body
	for _, want := range []string{
		"Everything works", "disconnected", "connection refused", // HQ link
		"Events not yet at HQ", "<dd>3 · oldest 20 min old</dd>", // outbox: 3, oldest 11:40 at 12:00
		"1.4.2", "downloading", "1.5.0", "25%", // firmware
		"Readers (2/3)", "no answer on spi0.1", "<td>A2</td>",
		"trusted",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the health page does not show %q", want)
		}
	}
}

func TestChartsPage(t *testing.T) {
	f := newFixture(t)
	seedDay(f)
	body := f.do(request{path: "/charts", cookie: f.login()}).body
	svgs := regexp.MustCompile(`(?s)<svg class="chart".*?</svg>`).FindAllString(body, -1)
	if len(svgs) != 4 {
		t.Fatalf("got %d charts, want 4 (by hour, by day, by zone today and over 30 days)", len(svgs))
	}
	for i, s := range svgs {
		dec := xml.NewDecoder(strings.NewReader(s))
		for {
			if _, err := dec.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("chart %d is not well-formed XML: %v", i, err)
			}
		}
	}
	// 09:00–10:00: Ayesha at A1 all hour, Bilal at B1 from 09:10: 110 of 180 seat-minutes.
	if !strings.Contains(svgs[0], `data-label="09" data-value="61"`) {
		t.Errorf("the hourly chart has no bar 09 at 61%%:\n%s", svgs[0])
	}
}

func TestSeatsJSON(t *testing.T) {
	f := newFixture(t)
	seedDay(f)
	f.health.Break("desk-b1", "antenna")
	a := f.do(request{path: "/api/owner/seats", cookie: f.login()})
	var m streamMap
	if err := json.Unmarshal([]byte(a.body), &m); err != nil {
		t.Fatal(err)
	}
	want := []streamSeat{
		{Seat: "A1", Class: "occupied", Label: "Occupied", Who: "Sana Mir", Since: "since 11:50"},
		{Seat: "A2", Class: "occupied", Label: "Occupied", Who: "Bilal Ahmed", Since: "since 10:00"},
		{Seat: "B1", Class: "free fault", Label: "Reader fault", Fault: "antenna"},
	}
	if len(m.Seats) != len(want) {
		t.Fatalf("got %d seats, want %d", len(m.Seats), len(want))
	}
	for i := range want {
		if m.Seats[i] != want[i] {
			t.Errorf("seat %d: got %+v, want %+v", i, m.Seats[i], want[i])
		}
	}
}

func TestEmulatorTap(t *testing.T) {
	f := newFixture(t)
	tok := f.login()
	page := f.do(request{path: "/", cookie: tok}).body
	csrf := csrfOf(t, page)
	if !strings.Contains(page, `id="tapform"`) || !strings.Contains(page, `<option value="04A1B2C3D4E5F6">Ayesha Khan</option>`) {
		t.Fatalf("the seat map has no emulator panel offering Ayesha's card")
	}
	tests := []struct {
		name, body string
		code       int
		says       string
	}{
		{"check-in", `{"reader":"desk-a1","uid":"04a1b2c3d4e5f6"}`, 200, "Ayesha Khan checked in at A1."},
		{"move", `{"reader":"desk-a2","uid":"04A1B2C3D4E5F6"}`, 200, "Ayesha Khan moved from A1 to A2."},
		{"refused", `{"reader":"desk-b1","uid":"DEADBEEF"}`, 200, "Refused at B1: unknown card."},
		{"unknown reader", `{"reader":"door","uid":"DEADBEEF"}`, 404, "no such emulated reader"},
		{"bad card", `{"reader":"desk-a1","uid":"xyz"}`, 400, "bad request"},
		{"unknown field", `{"reader":"desk-a1","card":"DEADBEEF"}`, 400, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.do(request{method: "POST", path: "/api/owner/tap", cookie: tok, json: tt.body, header: map[string]string{"X-CSRF-Token": csrf}})
			if a.code != tt.code || !strings.Contains(a.body, tt.says) {
				t.Errorf("got %d %s, want %d saying %q", a.code, a.body, tt.code, tt.says)
			}
		})
	}
	t.Run("no emulator, no panel", func(t *testing.T) {
		g := newFixture(t, func(o *owner.Options) { o.Emulator = nil })
		tok := g.login()
		if page := g.do(request{path: "/", cookie: tok}).body; strings.Contains(page, "tapform") {
			t.Error("the seat map of a gateway without emulated readers shows the tap form")
		}
		a := g.do(request{method: "POST", path: "/api/owner/tap", cookie: tok, json: `{}`, header: map[string]string{"X-CSRF-Token": csrf}})
		if a.code != 404 && a.code != 405 {
			t.Errorf("tap without an emulator: got %d, want 404", a.code)
		}
	})
}

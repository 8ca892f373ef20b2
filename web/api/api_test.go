package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/web/api"
)

type fakeStore struct {
	after, limit int
	err          error
}

func (f *fakeStore) Seats() ([]store.SeatState, error) {
	return []store.SeatState{
		{Seat: "A-01", Zone: "A", State: store.SeatOccupied, Member: "m-1", MemberName: "Ayesha",
			Since: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)},
		{Seat: "A-02", Zone: "A", State: store.SeatFree},
	}, f.err
}

func (f *fakeStore) Events(after uint64, limit int) ([]store.Event, error) {
	f.after, f.limit = int(after), limit
	return []store.Event{{Seq: after + 1, Kind: access.OutcomeCheckin, Seat: "A-01", ClockTrusted: true}}, f.err
}

type fakeHealth struct{ status string }

func (f fakeHealth) Health() api.HealthReport { return api.HealthReport{Status: f.status} }

type fakeEmu struct{ err error }

func (f fakeEmu) Tap(ctx context.Context, reader, uid string) (api.TapResult, error) {
	if f.err != nil {
		return api.TapResult{}, f.err
	}
	return api.TapResult{Outcome: "checkin", Seat: "A-01", Seq: 7}, nil
}
func (f fakeEmu) PlaceCard(reader, uid string) error  { return f.err }
func (f fakeEmu) RemoveCard(reader, uid string) error { return f.err }
func (f fakeEmu) Reader(reader string) (api.ReaderView, error) {
	return api.ReaderView{Reader: reader}, f.err
}
func (f fakeEmu) SetClock(now time.Time) error { return f.err }
func (f fakeEmu) InjectFault(reader, fault string, count int) error {
	if fault == "melted" {
		return fmt.Errorf("%w: unknown fault", api.ErrBadRequest)
	}
	return f.err
}

func do(t *testing.T, h http.Handler, method, path, body string) (int, map[string]any, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var m map[string]any
	json.Unmarshal(rec.Body.Bytes(), &m)
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return rec.Code, m, rec.Body.String()
}

func TestRoutesAndErrors(t *testing.T) {
	st := &fakeStore{}
	h := api.New(api.Options{Store: st, Health: fakeHealth{"ok"}, Emulator: fakeEmu{}})
	tests := []struct {
		method, path, body string
		code               int
		contains           string
	}{
		{"GET", "/healthz", "", 200, `"status": "ok"`},
		{"GET", "/api/v1/seats", "", 200, `"since": null`},
		{"GET", "/api/v1/events", "", 200, `"seq": 1`},
		{"GET", "/api/v1/events?after=41&limit=5", "", 200, `"seq": 42`},
		{"GET", "/api/v1/events?after=-1", "", 400, "after"},
		{"GET", "/api/v1/events?limit=0", "", 400, "limit"},
		{"GET", "/api/v1/events?limit=1001", "", 400, "limit"},
		{"POST", "/api/v1/seats", "", 405, ""},
		{"GET", "/api/v2/seats", "", 404, "no such endpoint"},
		{"POST", "/api/v1/emulator/readers/desk-1/tap", `{"uid":"04A1B2C3"}`, 200, `"outcome": "checkin"`},
		{"POST", "/api/v1/emulator/readers/desk-1/tap", `{"uid":`, 400, "request body"},
		{"POST", "/api/v1/emulator/readers/desk-1/tap", `{"uid":"04A1B2C3","x":1}`, 400, "unknown field"},
		{"POST", "/api/v1/emulator/readers/desk-1/tap", `{"uid":"` + strings.Repeat("A", 70000) + `"}`, 400, "request body"},
		{"POST", "/api/v1/emulator/clock", `{"now":"2026-11-27T23:00:00+05:00"}`, 200, "2026-11-27T23:00:00+05:00"},
		{"POST", "/api/v1/emulator/clock", `{"now":"tomorrow"}`, 400, "RFC 3339"},
		{"POST", "/api/v1/emulator/readers/desk-1/fault", `{"fault":"missing"}`, 200, `"reader": "desk-1"`},
		{"POST", "/api/v1/emulator/readers/desk-1/fault", `{"fault":"melted"}`, 400, "unknown fault"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			code, _, body := do(t, h, tt.method, tt.path, tt.body)
			if code != tt.code {
				t.Fatalf("code = %d, want %d (%s)", code, tt.code, body)
			}
			if !strings.Contains(body, tt.contains) {
				t.Errorf("body %s does not contain %q", body, tt.contains)
			}
		})
	}
	if st.after != 41 || st.limit != 5 {
		t.Errorf("events paging passed after=%d limit=%d, want 41 and 5", st.after, st.limit)
	}
}

func TestEmulatorErrorCodes(t *testing.T) {
	tests := []struct {
		err  error
		code int
	}{
		{fmt.Errorf("x: %w", api.ErrUnknownReader), 404},
		{api.ErrClockDisabled, 404},
		{fmt.Errorf("x: %w", api.ErrBadRequest), 400},
		{fmt.Errorf("x: %w", api.ErrConflict), 409},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), 504},
		{errors.New("disk full"), 500},
	}
	for _, tt := range tests {
		h := api.New(api.Options{Store: &fakeStore{}, Health: fakeHealth{"ok"}, Emulator: fakeEmu{err: tt.err}})
		code, m, _ := do(t, h, "POST", "/api/v1/emulator/readers/r/tap", `{"uid":"04A1B2C3"}`)
		if code != tt.code || m["error"] == nil {
			t.Errorf("%v: code %d body %v, want %d with an error", tt.err, code, m, tt.code)
		}
	}
}

func TestNoEmulatorNoEndpoints(t *testing.T) {
	h := api.New(api.Options{Store: &fakeStore{}, Health: fakeHealth{"ok"}})
	if code, _, _ := do(t, h, "POST", "/api/v1/emulator/readers/r/tap", `{"uid":"04A1B2C3"}`); code != 404 {
		t.Errorf("emulator endpoint without emulated readers: %d, want 404", code)
	}
}

func TestHealthFailingIs503(t *testing.T) {
	h := api.New(api.Options{Store: &fakeStore{}, Health: fakeHealth{"failing"}})
	if code, _, _ := do(t, h, "GET", "/healthz", ""); code != 503 {
		t.Errorf("failing health: %d, want 503", code)
	}
	h = api.New(api.Options{Store: &fakeStore{err: errors.New("db gone")}, Health: fakeHealth{"ok"}})
	if code, m, _ := do(t, h, "GET", "/api/v1/seats", ""); code != 500 || m["error"] == nil {
		t.Errorf("store error: %d %v, want 500 with an error", code, m)
	}
}

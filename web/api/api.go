package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/pkfreelance/seatgate/access/store"
)

// Store is what the API reads from the gateway's database.
type Store interface {
	Seats() ([]store.SeatState, error)
	Events(after uint64, limit int) ([]store.Event, error)
}

// Health reports the gateway's health for /healthz.
type Health interface {
	Health() HealthReport
}

// HealthReport is the body of /healthz. Status is "ok" or "degraded" (a
// reader is faulty or the clock is untrusted; desks still answer) with code
// 200, or "failing" (the database cannot be used) with code 503.
type HealthReport struct {
	Status       string    `json:"status"`
	Centre       string    `json:"centre"`
	Gateway      string    `json:"gateway"`
	Version      string    `json:"version"`
	Now          time.Time `json:"now"`
	ClockTrusted bool      `json:"clock_trusted"`
	Database     string    `json:"database"`
	LastSeq      uint64    `json:"last_seq"`
	Readers      any       `json:"readers"`
	Outbox       any       `json:"outbox,omitempty"` // events not yet acknowledged by HQ
	HQ           any       `json:"hq,omitempty"`     // the link to HQ, when configured
}

// Emulator drives emulated readers. Errors are matched with errors.Is
// against ErrUnknownReader, ErrBadRequest, ErrConflict and
// context.DeadlineExceeded.
type Emulator interface {
	Tap(ctx context.Context, reader, uid string) (TapResult, error)
	PlaceCard(reader, uid string) error
	RemoveCard(reader, uid string) error
	Reader(reader string) (ReaderView, error)
	SetClock(now time.Time) error
	InjectFault(reader, fault string, count int) error
}

// Errors an Emulator returns.
var (
	ErrUnknownReader = errors.New("no such emulated reader")
	ErrBadRequest    = errors.New("bad request")
	ErrConflict      = errors.New("conflict")
	ErrClockDisabled = errors.New("emulated clock not enabled in the config (emulator.clock)")
)

// TapResult is the answer to an emulated tap.
type TapResult struct {
	Outcome  string `json:"outcome"`
	Reason   string `json:"reason,omitempty"`
	Warning  string `json:"warning,omitempty"`
	Seat     string `json:"seat"`
	PrevSeat string `json:"prev_seat,omitempty"`
	Member   string `json:"member,omitempty"`
	Seq      uint64 `json:"seq"`
}

// ReaderView is what an emulated desk shows now.
type ReaderView struct {
	Reader  string   `json:"reader"`
	Seat    string   `json:"seat"`
	Green   bool     `json:"green"`
	Red     bool     `json:"red"`
	Buzzer  bool     `json:"buzzer"`
	Relay   bool     `json:"relay"`
	Pattern string   `json:"pattern"`
	Cards   []string `json:"cards"`
	OK      bool     `json:"ok"`
	Error   string   `json:"error,omitempty"`
}

// Options wire the handler. Emulator may be nil (no emulated readers).
type Options struct {
	Store    Store
	Health   Health
	Emulator Emulator
	Logger   *slog.Logger
	// TapTimeout bounds an emulated tap (default 3 s).
	TapTimeout time.Duration
}

// maxBody bounds request bodies: they are a few hundred bytes at most.
const maxBody = 64 << 10

// New returns the API handler.
func New(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.TapTimeout <= 0 {
		o.TapTimeout = 3 * time.Second
	}
	h := &handler{o: o}
	mux := http.NewServeMux()
	route := func(method, path string, f http.HandlerFunc) {
		mux.HandleFunc(method+" "+path, f)
		// Any other method on a known path: 405 with a JSON body.
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", method)
			writeErr(w, http.StatusMethodNotAllowed, fmt.Errorf("%s %s: method not allowed, use %s", r.Method, r.URL.Path, method))
		})
	}
	route("GET", "/healthz", h.healthz)
	route("GET", "/api/v1/seats", h.seats)
	route("GET", "/api/v1/events", h.events)
	if o.Emulator != nil {
		route("POST", "/api/v1/emulator/readers/{reader}/tap", h.tap)
		route("POST", "/api/v1/emulator/readers/{reader}/cards", h.placeCard)
		route("DELETE", "/api/v1/emulator/readers/{reader}/cards/{uid}", h.removeCard)
		route("GET", "/api/v1/emulator/readers/{reader}", h.reader)
		route("POST", "/api/v1/emulator/readers/{reader}/fault", h.fault)
		route("POST", "/api/v1/emulator/clock", h.clock)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, fmt.Errorf("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return mux
}

type handler struct{ o Options }

func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	rep := h.o.Health.Health()
	code := http.StatusOK
	if rep.Status == "failing" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, rep)
}

func (h *handler) seats(w http.ResponseWriter, r *http.Request) {
	seats, err := h.o.Store.Seats()
	if err != nil {
		h.serverErr(w, "list seats", err)
		return
	}
	out := make([]seatJSON, 0, len(seats))
	for _, s := range seats {
		j := seatJSON{Seat: s.Seat, Zone: s.Zone, State: s.State, Member: s.Member, MemberName: s.MemberName}
		if !s.Since.IsZero() {
			t := s.Since
			j.Since = &t
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, out)
}

type seatJSON struct {
	Seat       string     `json:"seat"`
	Zone       string     `json:"zone"`
	State      string     `json:"state"`
	Member     string     `json:"member"`
	MemberName string     `json:"member_name,omitempty"`
	Since      *time.Time `json:"since"`
}

// maxEvents caps one page of the event log.
const maxEvents = 1000

func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, limit := uint64(0), 100
	if s := q.Get("after"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("after: %q is not a sequence number", s))
			return
		}
		after = v
	}
	if s := q.Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > maxEvents {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("limit: %q must be 1..%d", s, maxEvents))
			return
		}
		limit = v
	}
	evs, err := h.o.Store.Events(after, limit)
	if err != nil {
		h.serverErr(w, "read events", err)
		return
	}
	if evs == nil {
		evs = []store.Event{}
	}
	writeJSON(w, http.StatusOK, evs)
}

type uidBody struct {
	UID string `json:"uid"`
}

func (h *handler) tap(w http.ResponseWriter, r *http.Request) {
	var b uidBody
	if !decode(w, r, &b) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.o.TapTimeout)
	defer cancel()
	res, err := h.o.Emulator.Tap(ctx, r.PathValue("reader"), b.UID)
	if err != nil {
		h.emuErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *handler) placeCard(w http.ResponseWriter, r *http.Request) {
	var b uidBody
	if !decode(w, r, &b) {
		return
	}
	if err := h.o.Emulator.PlaceCard(r.PathValue("reader"), b.UID); err != nil {
		h.emuErr(w, err)
		return
	}
	h.reader(w, r)
}

func (h *handler) removeCard(w http.ResponseWriter, r *http.Request) {
	if err := h.o.Emulator.RemoveCard(r.PathValue("reader"), r.PathValue("uid")); err != nil {
		h.emuErr(w, err)
		return
	}
	h.reader(w, r)
}

func (h *handler) reader(w http.ResponseWriter, r *http.Request) {
	v, err := h.o.Emulator.Reader(r.PathValue("reader"))
	if err != nil {
		h.emuErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (h *handler) fault(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Fault string `json:"fault"`
		Count int    `json:"count"`
	}
	if !decode(w, r, &b) {
		return
	}
	if err := h.o.Emulator.InjectFault(r.PathValue("reader"), b.Fault, b.Count); err != nil {
		h.emuErr(w, err)
		return
	}
	h.reader(w, r)
}

func (h *handler) clock(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Now string `json:"now"`
	}
	if !decode(w, r, &b) {
		return
	}
	t, err := time.Parse(time.RFC3339, b.Now)
	if err != nil {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("now: %q is not RFC 3339 (e.g. 2026-11-26T09:00:00+05:00)", b.Now))
		return
	}
	if err := h.o.Emulator.SetClock(t); err != nil {
		h.emuErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"now": t.Format(time.RFC3339)})
}

func (h *handler) emuErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrUnknownReader), errors.Is(err, ErrClockDisabled):
		writeErr(w, http.StatusNotFound, err)
	case errors.Is(err, ErrBadRequest):
		writeErr(w, http.StatusBadRequest, err)
	case errors.Is(err, ErrConflict):
		writeErr(w, http.StatusConflict, err)
	case errors.Is(err, context.DeadlineExceeded):
		writeErr(w, http.StatusGatewayTimeout, fmt.Errorf("the desk did not answer in time: %w", err))
	default:
		h.serverErr(w, "emulator", err)
	}
}

func (h *handler) serverErr(w http.ResponseWriter, what string, err error) {
	h.o.Logger.Error("api: "+what, "err", err)
	writeErr(w, http.StatusInternalServerError, fmt.Errorf("%s: %w", what, err))
}

// decode reads a small strict JSON body; on failure it answers 400.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("request body: %w", err))
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeErr(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

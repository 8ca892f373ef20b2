// Package httpapi is seathq's HTTP API: memberships (single changes and bulk
// CSV imports), occupancy per centre and national, the seat-hours ledger with
// its verification status, the gateways (enrolment, live state, chain health,
// certificates) and HQ's public keys. seatctl is its client; docs/hq-api.md
// describes it.
//
// Every /api/ route needs "Authorization: Bearer TOKEN" (the token in HQ's
// secrets directory); only /healthz is open. Request bodies are bounded and
// decoded strictly; a refused request changes nothing.
package httpapi

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/hq/authority"
	hqfirmware "github.com/pkfreelance/seatgate/hq/firmware"
	"github.com/pkfreelance/seatgate/hq/fleet"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/ledger"
	hqmetrics "github.com/pkfreelance/seatgate/hq/metrics"
	"github.com/pkfreelance/seatgate/hq/pki"
	"github.com/pkfreelance/seatgate/hq/registry"
	"github.com/pkfreelance/seatgate/hq/rollout"
	"github.com/pkfreelance/seatgate/sync/journal"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// Limits on request bodies.
const (
	MaxJSONBody = 1 << 20
	MaxCSVBody  = 32 << 20
)

// Deps are the parts of HQ the API serves from.
type Deps struct {
	Token     string // the bearer token; required
	HQKey     ed25519.PrivateKey
	CA        *pki.CA
	NC        *nats.Conn
	Chains    jetstream.KeyValue // ingest's CHAINS bucket
	Authority *authority.Authority
	Registry  *registry.Registry
	Fleet     *fleet.Tracker
	Ledger    *ledger.Ledger
	Ingester  *ingest.Ingester
	Firmware  *hqfirmware.Store
	Rollouts  *rollout.Store
	// Metrics, when set, counts every request by route and serves GET
	// /metrics (behind the token, like the rest: Prometheus sends it).
	Metrics *hqmetrics.HQ
	Logger  *slog.Logger
	// ServiceUser is HQ's own user on the brokers (default "seathq").
	ServiceUser string
	// CertValidity of the gateway certificates issued (default 2 years).
	CertValidity time.Duration
}

type api struct {
	Deps
	token [32]byte
}

// Handler returns the API's handler.
func Handler(d Deps) (http.Handler, error) {
	if len(d.Token) < 16 {
		return nil, errors.New("httpapi: a token of at least 16 characters is required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.ServiceUser == "" {
		d.ServiceUser = "seathq"
	}
	if d.CertValidity == 0 {
		d.CertValidity = 2 * 365 * 24 * time.Hour
	}
	a := &api{Deps: d, token: sha256.Sum256([]byte(d.Token))}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	auth := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		mux.Handle(pattern, d.Metrics.Instrument(pattern, a.authenticated(h)))
	}
	if d.Metrics != nil {
		metricsHandler := d.Metrics.Handler()
		auth("GET /metrics", func(w http.ResponseWriter, r *http.Request) error { metricsHandler.ServeHTTP(w, r); return nil })
	}
	auth("GET /api/v1/keys", a.keys)
	auth("GET /api/v1/stats", a.stats)
	auth("GET /api/v1/occupancy", a.national)
	auth("GET /api/v1/centres/{centre}/occupancy", a.centreOccupancy)
	auth("GET /api/v1/centres/{centre}/membership", a.membership)
	auth("POST /api/v1/centres/{centre}/changes", a.change)
	auth("POST /api/v1/centres/{centre}/import", a.importCSV)
	auth("GET /api/v1/centres/{centre}/ledger", a.ledger)
	auth("GET /api/v1/gateways", a.gateways)
	auth("POST /api/v1/gateways", a.enrol)
	auth("GET /api/v1/gateways/{centre}/{gateway}", a.gateway)
	auth("DELETE /api/v1/gateways/{centre}/{gateway}", a.remove)
	auth("POST /api/v1/gateways/{centre}/{gateway}/certificate", a.certificate)
	auth("GET /api/v1/nats-authorization", a.natsAuthorization)
	auth("GET /api/v1/mosquitto-acl", a.mosquittoACL)
	if d.Firmware != nil {
		fw := hqfirmware.APIHandler(d.Firmware)
		for _, p := range []string{"POST /api/v1/firmware/roots", "GET /api/v1/firmware/releases",
			"POST /api/v1/firmware/releases", "DELETE /api/v1/firmware/releases/{version}"} {
			auth(p, func(w http.ResponseWriter, r *http.Request) error { fw.ServeHTTP(w, r); return nil })
		}
	}
	auth("POST /api/v1/rollouts", a.startRollout)
	auth("GET /api/v1/rollouts", a.rollouts)
	auth("GET /api/v1/rollouts/{id}", a.rolloutStatus)
	auth("POST /api/v1/rollouts/{id}/{action}", a.rolloutAction)
	return mux, nil
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
}

// httpError is an error with its status.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func (a *api) authenticated(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], a.token[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="seathq"`)
			writeJSON(w, http.StatusUnauthorized, Error{"missing or wrong API token"})
			return
		}
		if err := h(w, r); err != nil {
			a.fail(w, r, err)
		}
	})
}

// fail maps err to a status: the errors of the parts that describe a
// request's fault keep their message; anything else is logged and answered
// with a generic 500.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	var mbe *http.MaxBytesError
	status := http.StatusInternalServerError
	switch {
	case errors.As(err, &he):
		status = he.status
	case errors.As(err, &mbe):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, authority.ErrInvalid), errors.Is(err, registry.ErrInvalid), errors.Is(err, wire.ErrTopic),
		errors.Is(err, rollout.ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, authority.ErrNotFound), errors.Is(err, registry.ErrNotFound), errors.Is(err, rollout.ErrNotFound),
		errors.Is(err, hqfirmware.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, rollout.ErrConflict), errors.Is(err, hqfirmware.ErrConflict):
		status = http.StatusConflict
	case errors.Is(err, authority.ErrCardTaken), errors.Is(err, authority.ErrPlanInUse), errors.Is(err, registry.ErrExists):
		status = http.StatusConflict
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout), errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, nats.ErrNoResponders), errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrDisconnected):
		status = http.StatusServiceUnavailable // JetStream between leaders, or NATS reconnecting: nothing was written
	}
	msg := err.Error()
	if status >= 500 {
		a.Logger.Error("api: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		switch status {
		case http.StatusInternalServerError:
			msg = "internal error (see seathq's log)"
		case http.StatusServiceUnavailable:
			msg = "HQ's storage is not available right now (cluster electing a leader, or NATS reconnecting); try again"
			w.Header().Set("Retry-After", "1")
		}
	}
	writeJSON(w, status, Error{msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// decode reads one JSON value strictly (no unknown key, nothing after it).
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badRequest("request body: %v", err)
	}
	if dec.More() {
		return badRequest("request body: more than one JSON value")
	}
	return nil
}

func centreOf(r *http.Request) (string, error) {
	c := r.PathValue("centre")
	if !wire.ValidID(c) {
		return "", badRequest("centre %q: IDs are 1 to 32 characters of a-z, 0-9 and '-'", c)
	}
	return c, nil
}

// Health is /healthz's body.
type Health struct {
	OK   bool `json:"ok"`
	NATS bool `json:"nats_connected"`
}

func (a *api) healthz(w http.ResponseWriter, r *http.Request) {
	h := Health{NATS: a.NC != nil && a.NC.IsConnected()}
	h.OK = h.NATS
	status := http.StatusOK
	if !h.OK {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
}

// Keys is what gateways pin: HQ's signing key and the CA.
type Keys struct {
	HQKey string `json:"hq_key"` // base64, for a gateway's hq.hq_key
	KeyID string `json:"key_id"`
	CAPEM string `json:"ca_pem"`
}

func (a *api) keys(w http.ResponseWriter, r *http.Request) error {
	pub := a.HQKey.Public().(ed25519.PublicKey)
	writeJSON(w, http.StatusOK, Keys{HQKey: base64.StdEncoding.EncodeToString(pub), KeyID: wire.KeyID(pub), CAPEM: string(a.CA.CertPEM())})
	return nil
}

// Stats are the counters of HQ's parts.
type Stats struct {
	Ingest    ingest.Stats    `json:"ingest"`
	Ledger    ledger.Stats    `json:"ledger"`
	Authority authority.Stats `json:"authority"`
	Fleet     fleet.Stats     `json:"fleet"`
}

func (a *api) stats(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, Stats{a.Ingester.Stats(), a.Ledger.Stats(), a.Authority.Stats(), a.Fleet.Stats()})
	return nil
}

// National is the national occupancy.
type National struct {
	Seats          int                     `json:"seats"`
	Occupied       int                     `json:"occupied"`
	Centres        int                     `json:"centres"`
	CentresOnline  int                     `json:"centres_online"` // with at least one gateway online
	Gateways       int                     `json:"gateways"`
	GatewaysOnline int                     `json:"gateways_online"`
	ByCentre       []fleet.CentreOccupancy `json:"by_centre"`
}

func (a *api) national(w http.ResponseWriter, r *http.Request) error {
	var n National
	n.ByCentre = a.Fleet.Occupancy(false)
	for _, c := range n.ByCentre {
		n.Seats += c.Seats
		n.Occupied += c.Occupied
		n.Centres++
		n.Gateways += c.Gateways
		n.GatewaysOnline += c.GatewaysOnline
		if c.GatewaysOnline > 0 {
			n.CentresOnline++
		}
	}
	writeJSON(w, http.StatusOK, n)
	return nil
}

func (a *api) centreOccupancy(w http.ResponseWriter, r *http.Request) error {
	centre, err := centreOf(r)
	if err != nil {
		return err
	}
	for _, c := range a.Fleet.Occupancy(true) {
		if c.Centre == centre {
			writeJSON(w, http.StatusOK, c)
			return nil
		}
	}
	return &httpError{http.StatusNotFound, fmt.Sprintf("no gateway of centre %q has reported", centre)}
}

// membership answers the centre's current membership as a snapshot file;
// with ?sig=1 it answers that file's detached signature instead (the pair
// 'seatgate members import' takes at an offline centre). The same revision
// always gives the same bytes.
func (a *api) membership(w http.ResponseWriter, r *http.Request) error {
	centre, err := centreOf(r)
	if err != nil {
		return err
	}
	m, err := a.Authority.Snapshot(r.Context(), centre)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	w.Header().Set("Seathq-Revision", strconv.FormatInt(m.Revision, 10))
	if r.URL.Query().Get("sig") != "" {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(journal.SignSnapshotFile(a.HQKey, data))
		return nil
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(data)
	return nil
}

// Change is the body of POST .../changes: one journal change, as in a
// journal entry without v, centre, rev, time and sig.
//
//	{"op": "member_put", "member": {...}}   {"op": "card_revoke", "id": "04A1B2C3"}
type Change struct {
	Op     wire.Op         `json:"op"`
	Member json.RawMessage `json:"member,omitempty"`
	Card   json.RawMessage `json:"card,omitempty"`
	Plan   json.RawMessage `json:"plan,omitempty"`
	ID     string          `json:"id,omitempty"`
}

// Revision is the answer to a change: the centre's revision after it.
type Revision struct {
	Revision int64 `json:"revision"`
}

func (a *api) change(w http.ResponseWriter, r *http.Request) error {
	centre, err := centreOf(r)
	if err != nil {
		return err
	}
	var c Change
	if err := decode(w, r, &c); err != nil {
		return err
	}
	// The journal entry's own decoder reads the records strictly.
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	var e wire.JournalEntry
	if err := e.UnmarshalJSON(raw); err != nil {
		return badRequest("change: %v", err)
	}
	ctx := r.Context()
	var rev int64
	switch e.Op {
	case wire.OpMemberPut:
		if e.Member == nil {
			return badRequest("member_put needs a member")
		}
		rev, err = a.Authority.PutMember(ctx, centre, *e.Member)
	case wire.OpCardPut:
		if e.Card == nil {
			return badRequest("card_put needs a card")
		}
		rev, err = a.Authority.PutCard(ctx, centre, *e.Card)
	case wire.OpPlanPut:
		if e.Plan == nil {
			return badRequest("plan_put needs a plan")
		}
		rev, err = a.Authority.PutPlan(ctx, centre, *e.Plan)
	case wire.OpMemberDelete:
		rev, err = a.Authority.DeleteMember(ctx, centre, e.ID)
	case wire.OpCardRevoke:
		rev, err = a.Authority.RevokeCard(ctx, centre, e.ID)
	case wire.OpPlanDelete:
		rev, err = a.Authority.DeletePlan(ctx, centre, e.ID)
	case wire.OpSuspend:
		rev, err = a.Authority.Suspend(ctx, centre, e.ID)
	case wire.OpResume:
		rev, err = a.Authority.Resume(ctx, centre, e.ID)
	default:
		return badRequest("op %q: want one of %v", e.Op, wire.Ops())
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, Revision{rev})
	return nil
}

func (a *api) ledger(w http.ResponseWriter, r *http.Request) error {
	centre, err := centreOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	from, err := access.ParseDate(q.Get("from"))
	if err != nil {
		return badRequest("from: %v", err)
	}
	to, err := access.ParseDate(q.Get("to"))
	if err != nil {
		return badRequest("to: %v", err)
	}
	if span := to.DaysSince(from); span < 0 || span >= ledger.MaxQueryDays {
		return badRequest("from %s to %s: want from ≤ to, at most %d days", from, to, ledger.MaxQueryDays)
	}
	days, err := a.Ledger.Query(r.Context(), centre, from, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, days)
	return nil
}

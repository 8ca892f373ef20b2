package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/fleet"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/metrics"
	"github.com/pkfreelance/seatgate/hq/rollout"
	"github.com/pkfreelance/seatgate/sync/wire"
)

func TestIngestCountersFollowStats(t *testing.T) {
	st := ingest.Stats{Batches: 20, Stored: 10, Events: 480, Duplicates: 3, Gaps: 1, Forks: 1, Resets: 0,
		Rejected: map[ingest.Reason]uint64{ingest.ReasonBadSignature: 2, ingest.ReasonUnknownGateway: 1, "from_the_future": 1},
		Errors:   1, Acks: 14, AckErrors: 2}
	m := metrics.New(metrics.Sources{Ingest: func() ingest.Stats { return st }})
	got := scrape(t, m.Handler())
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"seathq_ingest_batches_total", []string{"result", "stored"}, 10},
		{"seathq_ingest_batches_total", []string{"result", "duplicate"}, 3},
		{"seathq_ingest_batches_total", []string{"result", "gap"}, 1},
		{"seathq_ingest_batches_total", []string{"result", "fork"}, 1},
		{"seathq_ingest_batches_total", []string{"result", "reset"}, 0},
		{"seathq_ingest_batches_total", []string{"result", "rejected"}, 4},
		{"seathq_ingest_batches_total", []string{"result", "error"}, 1},
		{"seathq_ingest_events_stored_total", nil, 480},
		{"seathq_ingest_acks_total", nil, 14},
		{"seathq_ingest_ack_errors_total", nil, 2},
		{"seathq_ingest_rejected_total", []string{"reason", "bad_signature"}, 2},
		{"seathq_ingest_rejected_total", []string{"reason", "unknown_gateway"}, 1},
		{"seathq_ingest_rejected_total", []string{"reason", "malformed"}, 0},
		{"seathq_ingest_rejected_total", []string{"reason", "broken_chain"}, 0},
		{"seathq_ingest_rejected_total", []string{"reason", "from_the_future"}, 1},
	} {
		if v := got.value(t, tt.name, tt.labels...); v != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, v, tt.want)
		}
	}
	// Every batch counts once in exactly one result.
	var sum float64
	for _, s := range got["seathq_ingest_batches_total"].GetMetric() {
		sum += s.GetCounter().GetValue()
	}
	if sum != float64(st.Batches) {
		t.Errorf("batches by result sum to %v, want Stats.Batches %d", sum, st.Batches)
	}

	st.Stored, st.Events = 11, 500
	got = scrape(t, m.Handler())
	if v := got.value(t, "seathq_ingest_events_stored_total"); v != 500 {
		t.Errorf("after more events: seathq_ingest_events_stored_total = %v, want 500", v)
	}
}

func TestFleetCountersFollowStats(t *testing.T) {
	st := fleet.Stats{Received: 900, Applied: 880, Errors: 2, Dropped: 7,
		Rejected: map[fleet.Reason]uint64{fleet.ReasonStale: 11}}
	got := scrape(t, metrics.New(metrics.Sources{Fleet: func() fleet.Stats { return st }}).Handler())
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"seathq_fleet_messages_received_total", nil, 900},
		{"seathq_fleet_messages_dropped_total", nil, 7},
		{"seathq_fleet_errors_total", nil, 2},
		{"seathq_fleet_messages_rejected_total", []string{"reason", "stale"}, 11},
		{"seathq_fleet_messages_rejected_total", []string{"reason", "bad_signature"}, 0},
	} {
		if v := got.value(t, tt.name, tt.labels...); v != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, v, tt.want)
		}
	}
}

// gatewayAt builds a fleet.Gateway as the Tracker reports it.
func gatewayAt(name, st string, seats, occupied int, h *wire.Health, received time.Time) fleet.Gateway {
	g := fleet.Gateway{Centre: "lhr-01", Gateway: name, State: st}
	if seats > 0 {
		o := &fleet.OccupancyReport{Received: received}
		for i := range seats {
			s := wire.SeatOccupancy{Seat: "s", Zone: "a", State: store.SeatFree}
			if i < occupied {
				s.State, s.Member = store.SeatOccupied, "m-1"
			}
			o.Seats = append(o.Seats, s)
		}
		g.Occupancy = o
	}
	if h != nil {
		g.Health = &fleet.HealthReport{Health: *h, Received: received}
	}
	return g
}

func TestFleetStateOccupancyAndHealth(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	gws := []fleet.Gateway{
		gatewayAt("gw-1", fleet.StateOnline, 24, 10, &wire.Health{ReadersOK: 24, ReadersTotal: 24,
			Update: &wire.UpdateHealth{Phase: "downloading", Done: 3, Total: 9}}, now.Add(-10*time.Second)),
		gatewayAt("gw-2", fleet.StateOnline, 12, 12, &wire.Health{ReadersOK: 11, ReadersTotal: 12,
			OutboxDepth: 4, OutboxOldest: 20}, now.Add(-10*time.Second)),
		// Offline for an hour with 300 events waiting for 2 minutes then:
		// they have waited an hour and 2 minutes now.
		gatewayAt("gw-3", fleet.StateOffline, 8, 3, &wire.Health{ReadersOK: 8, ReadersTotal: 8,
			OutboxDepth: 300, OutboxOldest: 120, Update: &wire.UpdateHealth{Phase: "committed"}}, now.Add(-time.Hour)),
		gatewayAt("gw-4", fleet.StateSilent, 0, 0, nil, time.Time{}),
		gatewayAt("gw-5", fleet.StateUnknown, 0, 0, nil, time.Time{}),
		gatewayAt("gw-6", fleet.StateOnline, 0, 0, &wire.Health{Update: &wire.UpdateHealth{Phase: "no_such_phase"}}, now),
	}
	var asked []string
	m := metrics.New(metrics.Sources{
		Gateways: func(centre string) []fleet.Gateway { asked = append(asked, centre); return gws },
		Now:      func() time.Time { return now },
	})
	got := scrape(t, m.Handler())
	if len(asked) != 1 || asked[0] != "" {
		t.Errorf("Gateways called with %q, want once with \"\" (every centre)", asked)
	}
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"seathq_gateways", []string{"state", "online"}, 3},
		{"seathq_gateways", []string{"state", "silent"}, 1},
		{"seathq_gateways", []string{"state", "offline"}, 1},
		{"seathq_gateways", []string{"state", "unknown"}, 1},
		{"seathq_seats", nil, 44},
		{"seathq_seats_occupied", nil, 25},
		{"seathq_gateway_outbox_depth", nil, 304},
		{"seathq_gateway_outbox_oldest_age_seconds", nil, 3720},
		{"seathq_gateway_readers", nil, 44},
		{"seathq_gateway_readers_ok", nil, 43},
		{"seathq_gateway_update_phase", []string{"phase", "downloading"}, 1},
		{"seathq_gateway_update_phase", []string{"phase", "committed"}, 1},
		{"seathq_gateway_update_phase", []string{"phase", "idle"}, 1}, // gw-2: a health report, no update
		{"seathq_gateway_update_phase", []string{"phase", "trial"}, 0},
	} {
		if v := got.value(t, tt.name, tt.labels...); v != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, v, tt.want)
		}
	}
	if _, ok := got.metric("seathq_gateway_update_phase", "phase", "no_such_phase"); ok {
		t.Error("a phase outside the state machine became a label value")
	}
}

func TestRolloutsByState(t *testing.T) {
	list := []rollout.Status{{State: rollout.StateRunning}, {State: rollout.StateCompleted},
		{State: rollout.StateCompleted}, {State: rollout.StateAborted}}
	m := metrics.New(metrics.Sources{Rollouts: func(ctx context.Context) ([]rollout.Status, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("Rollouts called without a deadline")
		}
		return list, nil
	}})
	got := scrape(t, m.Handler())
	for state, want := range map[string]float64{"running": 1, "paused": 0, "completed": 2, "aborted": 1} {
		if v := got.value(t, "seathq_rollouts", "state", state); v != want {
			t.Errorf("seathq_rollouts{state=%q} = %v, want %v", state, v, want)
		}
	}
}

func TestSlowRolloutsGiveUpAndServeTheRest(t *testing.T) {
	var log logBuffer
	m := metrics.New(metrics.Sources{
		Version: "2.0.0",
		Rollouts: func(ctx context.Context) ([]rollout.Status, error) {
			<-ctx.Done() // JetStream unreachable: only the deadline ends it
			return nil, ctx.Err()
		},
		RolloutsTimeout: time.Millisecond,
		Ingest:          func() ingest.Stats { return ingest.Stats{Stored: 5} },
		Logger:          log.logger(),
	})
	got := scrape(t, m.Handler())
	if _, ok := got["seathq_rollouts"]; ok {
		t.Error("seathq_rollouts exported although listing failed")
	}
	if v := got.value(t, "seathq_ingest_batches_total", "result", "stored"); v != 5 {
		t.Errorf("seathq_ingest_batches_total{result=stored} = %v, want 5 (served despite the failure)", v)
	}
	if !strings.Contains(log.String(), "list rollouts") || !strings.Contains(log.String(), context.DeadlineExceeded.Error()) {
		t.Errorf("log %q: want the rollouts' error", log.String())
	}
}

func TestMissingSourcesLeaveTheirMetricsOut(t *testing.T) {
	got := scrape(t, metrics.New(metrics.Sources{Version: "2.0.0"}).Handler())
	for name := range got {
		if strings.HasPrefix(name, "seathq_") && name != "seathq_build_info" {
			t.Errorf("%s exported without its source", name)
		}
	}
	if v := got.value(t, "seathq_build_info", "version", "2.0.0"); v != 1 {
		t.Errorf("seathq_build_info{version=2.0.0} = %v, want 1", v)
	}
}

func TestInstrumentCountsRequestsByRouteAndCode(t *testing.T) {
	m := metrics.New(metrics.Sources{})
	mux := http.NewServeMux()
	route := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, m.Instrument(pattern, h)) }
	route("GET /api/v1/gateways/{centre}/{gateway}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("gateway") == "nope" {
			http.Error(w, "no such gateway", http.StatusNotFound)
			return
		}
		w.Write([]byte("{}"))
	})
	route("GET /api/v1/events", func(w http.ResponseWriter, r *http.Request) {
		// Server push needs the flusher through the middleware.
		f, ok := w.(http.Flusher)
		if !ok {
			http.Error(w, "no flusher", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("data: 1\n\n"))
		f.Flush()
	})
	// Served in this goroutine: a real server counts a request after its
	// client may already have read the response.
	for _, path := range []string{"/api/v1/gateways/lhr-01/gw-1", "/api/v1/gateways/khi-02/gw-1",
		"/api/v1/gateways/lhr-01/nope", "/api/v1/events"} {
		mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	got := scrape(t, m.Handler())
	for _, tt := range []struct {
		route, code string
		want        float64
	}{
		{"GET /api/v1/gateways/{centre}/{gateway}", "200", 2},
		{"GET /api/v1/gateways/{centre}/{gateway}", "404", 1},
		{"GET /api/v1/events", "200", 1},
	} {
		if v := got.value(t, "seathq_api_requests_total", "route", tt.route, "code", tt.code); v != tt.want {
			t.Errorf("seathq_api_requests_total{route=%q,code=%q} = %v, want %v", tt.route, tt.code, v, tt.want)
		}
	}
	if n := len(got["seathq_api_requests_total"].GetMetric()); n != 3 {
		t.Errorf("%d request series, want 3: a request's own path must never be a label", n)
	}
	h, ok := got.metric("seathq_api_request_duration_seconds", "route", "GET /api/v1/gateways/{centre}/{gateway}")
	if !ok || h.GetHistogram().GetSampleCount() != 3 {
		t.Errorf("duration of the gateway route: %v, want 3 samples", h)
	}
}

func TestNilHQInstrumentsNothing(t *testing.T) {
	var m *metrics.HQ
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	rec := httptest.NewRecorder()
	m.Instrument("GET /x", h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	if rec.Code != http.StatusTeapot {
		t.Errorf("status through a nil HQ's Instrument: %d, want %d", rec.Code, http.StatusTeapot)
	}
}

// TestEveryMetricIsDocumented holds doc.go's list to what is exported.
func TestEveryMetricIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, name := range regexp.MustCompile(`seathq_[a-z_]+`).FindAllString(string(doc), -1) {
		documented[name] = true
	}
	m := metrics.New(metrics.Sources{
		Ingest:   func() ingest.Stats { return ingest.Stats{} },
		Fleet:    func() fleet.Stats { return fleet.Stats{} },
		Gateways: func(string) []fleet.Gateway { return nil },
		Rollouts: func(context.Context) ([]rollout.Status, error) { return nil, nil },
	})
	m.Instrument("GET /", http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	for name := range scrape(t, m.Handler()) {
		if strings.HasPrefix(name, "seathq_") && !documented[name] {
			t.Errorf("%s is exported but not in doc.go's list", name)
		}
		delete(documented, name)
	}
	for name := range documented {
		t.Errorf("doc.go lists %s, which is not exported", name)
	}
}

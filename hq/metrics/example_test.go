package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/pkfreelance/seatgate/hq/fleet"
	"github.com/pkfreelance/seatgate/hq/metrics"
)

// seathq builds the metrics with its parts' methods as sources, wraps each
// API route with Instrument under its pattern, and serves Handler.
func Example() {
	gateways := []fleet.Gateway{{Centre: "lhr-01", Gateway: "gw-1", State: fleet.StateOnline},
		{Centre: "khi-02", Gateway: "gw-1", State: fleet.StateOffline}}
	m := metrics.New(metrics.Sources{
		Version:  "2.0.0",
		Gateways: func(string) []fleet.Gateway { return gateways }, // tracker.Gateways
	})
	mux := http.NewServeMux()
	route := func(pattern string, h http.Handler) { mux.Handle(pattern, m.Instrument(pattern, h)) }
	route("GET /api/v1/gateways", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	mux.Handle("GET /metrics", m.Handler())

	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/v1/gateways", nil))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for line := range strings.SplitSeq(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "seathq_gateways") || strings.HasPrefix(line, "seathq_api_requests_total") {
			fmt.Println(line)
		}
	}
	// Output:
	// seathq_api_requests_total{code="200",route="GET /api/v1/gateways"} 1
	// seathq_gateways{state="offline"} 1
	// seathq_gateways{state="online"} 1
	// seathq_gateways{state="silent"} 0
	// seathq_gateways{state="unknown"} 0
}

package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/pkfreelance/seatgate/web/metrics"
)

// The daemon builds the metrics once with functions that read its parts,
// observes taps and faults as they happen, and serves Handler.
func Example() {
	m := metrics.New(metrics.Sources{
		Version:     "1.4.2",
		ReaderIDs:   []string{"desk-a01", "desk-a02"},
		Readers:     func() (ok, total int) { return 1, 2 },
		HQConnected: func() bool { return true },
	})
	m.ObserveTap("deny", "plan_expired", 800*time.Microsecond, 600*time.Microsecond)
	m.ReaderError("desk-a02")

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for line := range strings.SplitSeq(rec.Body.String(), "\n") {
		for _, name := range []string{"seatgate_taps_total", "seatgate_reader", "seatgate_hq_connected", "seatgate_tap_decision_seconds_count"} {
			if strings.HasPrefix(line, name) {
				fmt.Println(line)
			}
		}
	}
	// Output:
	// seatgate_hq_connected 1
	// seatgate_reader_errors_total{reader="desk-a01"} 0
	// seatgate_reader_errors_total{reader="desk-a02"} 1
	// seatgate_readers 2
	// seatgate_readers_ok 1
	// seatgate_tap_decision_seconds_count 1
	// seatgate_taps_total{outcome="deny",reason="plan_expired"} 1
}

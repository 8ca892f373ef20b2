package rollout_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/hq/rollout"
)

// BenchmarkStep steps a rollout half-way through a fleet of 10,000
// gateways in 3,000 centres, and reports the size of its record.
func BenchmarkStep(b *testing.B) {
	const n = 10000
	fleet := make([]rollout.GatewayView, n)
	sp := spec("r-1")
	sp.Percentages = []int{50, 100}
	st, err := rollout.NewStatus(sp, t0)
	if err != nil {
		b.Fatal(err)
	}
	for i := range fleet {
		r := rollout.GatewayRef{Centre: fmt.Sprintf("centre-%04d", i/3), Gateway: fmt.Sprintf("gw-%d", i%3)}
		fleet[i] = rollout.GatewayView{Ref: r, Online: i%10 != 0, Version: "1.0.0", Channel: "stable"}
	}
	st, _ = rollout.Step(st, fleet, t0)
	for i := range fleet {
		if _, ok := st.Assigned[fleet[i].Ref.String()]; ok && i%2 == 0 {
			fleet[i].Rollout, fleet[i].Phase, fleet[i].LastReport = "r-1", rollout.PhaseDownloading, t0
		}
	}
	data, err := json.Marshal(st)
	if err != nil {
		b.Fatal(err)
	}
	now := t0.Add(time.Minute)
	for b.Loop() {
		rollout.Step(st, fleet, now)
	}
	b.ReportMetric(float64(len(data)), "record-bytes")
	b.ReportMetric(float64(len(st.Assigned)), "assigned")
}

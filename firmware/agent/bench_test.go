package agent_test

import (
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/agent"
	"github.com/pkfreelance/seatgate/firmware/fetch"
)

// BenchmarkAssignmentToSwitch measures an update on loopback from the
// assignment to the moment the gateway stops for the switch: manifest
// verified, 20 MiB fetched over TLS in 256 KiB Range requests, each chunk
// checked, written, fsynced and recorded in the bitmap, the whole artifact
// hashed again. (The trial adds the configured dwell time, 5 min by
// default, and a restart; see the end-to-end test for the whole path.)
func BenchmarkAssignmentToSwitch(b *testing.B) {
	const size = 20 << 20
	b.SetBytes(size)
	for b.Loop() {
		b.StopTimer()
		h := newHarness(b)
		art := h.build("1.1.0", size, nil, nil)
		c := h.config("1.0.0", false)
		c.Fetch = fetch.Options{Client: h.srv.Client()}
		a := h.run(c)
		url := h.srv.Publish(art)
		b.StartTimer()
		a.Assign(agent.Assignment{Rollout: "r-1", Manifest: art.Signed, URLs: []string{url}})
		select {
		case code := <-h.exits:
			if code != agent.ExitUpdate {
				b.Fatalf("exit %d", code)
			}
		case <-time.After(2 * time.Minute):
			b.Fatal("no switch")
		}
	}
}

package dashboard_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/hq/dashboard"
	"github.com/pkfreelance/seatgate/hq/dashboard/dashboardtest"
	"github.com/pkfreelance/seatgate/hq/rollout"
)

// hasSeat reports whether an update's seats part shows seat in state.
func hasSeat(t *testing.T, ev event, seat, state string) bool {
	return ev.Name == "update" && strings.Contains(ev.parts(t)["seats"], `data-seat="`+seat+`" data-state="`+state+`"`)
}

// TestStreamPushesSeatChange: a seat taken at a gateway reaches an open
// centre page by the stream's poll, and only the parts that changed are
// sent.
func TestStreamPushesSeatChange(t *testing.T) {
	e := newEnv(t, 10*time.Millisecond)
	e.seed()
	events, resp := e.stream(e.loggedIn(), "/events?topic=centre&centre=lhr-1")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("got %s %q, want 200 text/event-stream", resp.Status, resp.Header.Get("Content-Type"))
	}
	first := waitFor(t, events, "the first update", func(ev event) bool { return ev.Name == "update" })
	for _, id := range []string{"usage", "seats", "gateways", "ledger"} {
		if _, ok := first.parts(t)[id]; !ok {
			t.Errorf("first update: no part %q", id)
		}
	}
	if !hasSeat(t, first, "A3", "free") {
		t.Fatalf("first update: A3 is not free: %s", first.parts(t)["seats"])
	}

	e.fleet.SetSeat("lhr-1", "g1", dashboardtest.Occupied("A3", "ground", "m-42", t0))
	ev := waitFor(t, events, "A3 occupied", func(ev event) bool { return hasSeat(t, ev, "A3", "occupied") })
	parts := ev.parts(t)
	if !strings.Contains(parts["seats"], "m-42") {
		t.Errorf("seats: no m-42 in %s", parts["seats"])
	}
	if _, ok := parts["gateways"]; ok {
		t.Errorf("the gateways part was sent again though it did not change")
	}
	if !strings.Contains(parts["usage"], `<span data-v="occupied">3</span>`) {
		t.Errorf("usage: want 3 occupied in %s", parts["usage"])
	}
}

// TestStreamNotify: with a poll an hour away, Notify and a registry change
// push at once.
func TestStreamNotify(t *testing.T) {
	e := newEnv(t, time.Hour)
	e.seed()
	events, _ := e.stream(e.loggedIn(), "/events?topic=overview")
	waitFor(t, events, "the first update", func(ev event) bool { return ev.Name == "update" })

	e.fleet.SetSeat("pop-up", "g1", dashboardtest.Occupied("P1", "hall", "m-1", t0))
	e.d.Notify()
	waitFor(t, events, "4 seats occupied", func(ev event) bool {
		return ev.Name == "update" && strings.Contains(ev.parts(t)["live"], `<span data-v="occupied">4</span>`)
	})

	e.registry.Enrol("isb-1", "g1", "") // calls the dashboard's OnChange hook
	waitFor(t, events, "centre isb-1", func(ev event) bool {
		return ev.Name == "update" && strings.Contains(ev.parts(t)["live"], `data-centre="isb-1"`)
	})
}

// TestStreamRollouts: a rollout's counts reach the rollouts page.
func TestStreamRollouts(t *testing.T) {
	e := newEnv(t, 10*time.Millisecond)
	st := rollout.Status{Spec: rollout.Spec{ID: "r-1", Version: "1.5.0", Percentages: []int{5, 25, 100}}, State: rollout.StateRunning, Cohort: 1}
	e.rollouts.Set(st)
	events, _ := e.stream(e.loggedIn(), "/events?topic=rollouts")
	waitFor(t, events, "the first update", func(ev event) bool {
		return ev.Name == "update" && strings.Contains(ev.parts(t)["rollouts"], `data-rollout="r-1"`)
	})
	st.Counts.Succeeded, st.Cohort = 7, 2
	e.rollouts.Set(st)
	e.clock.Advance(time.Minute) // past the rollouts' copy
	ev := waitFor(t, events, "7 succeeded", func(ev event) bool {
		return ev.Name == "update" && strings.Contains(ev.parts(t)["rollouts"], `<dd data-v="succeeded">7</dd>`)
	})
	if !strings.Contains(ev.parts(t)["rollouts"], "25%") {
		t.Errorf("cohort 2 of 5, 25, 100: no 25%% in %s", ev.parts(t)["rollouts"])
	}
}

// TestStreamEndsWithSession: when the session expires, the stream says
// so and ends.
func TestStreamEndsWithSession(t *testing.T) {
	e := newEnv(t, 10*time.Millisecond)
	e.seed()
	events, _ := e.stream(e.loggedIn(), "/events?topic=overview")
	waitFor(t, events, "the first update", func(ev event) bool { return ev.Name == "update" })
	e.clock.Advance(dashboard.SessionIdle)
	waitFor(t, events, "expired", func(ev event) bool { return ev.Name == "expired" })
	for range events {
	}
}

// TestStreamClose: Close ends the open streams.
func TestStreamClose(t *testing.T) {
	e := newEnv(t, time.Hour)
	events, _ := e.stream(e.loggedIn(), "/events?topic=overview")
	waitFor(t, events, "the first update", func(ev event) bool { return ev.Name == "update" })
	e.d.Close()
	for range events {
	}
}

func TestStreamBadTopic(t *testing.T) {
	e := newEnv(t, time.Hour)
	c := e.loggedIn()
	for _, q := range []string{"", "?topic=seats", "?topic=centre", "?topic=centre&centre=Bad.Id"} {
		if resp, _ := e.get(c, "/events"+q); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("/events%s: got %s, want 400", q, resp.Status)
		}
	}
}

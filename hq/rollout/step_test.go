package rollout_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/hq/rollout"
)

func TestCanariesFirstThenNestedCohortsToCompletion(t *testing.T) {
	s := newSim(200, 10)
	canaries := []string{"c00/gw-000", "c01/gw-001"}
	st := newStatus(t, spec("r-1", ref(canaries[0]), ref(canaries[1])), t0) // cohorts: canaries, 5, 25, 100 %
	now := t0

	st, todo := s.step(t, st, now)
	if got := keysOf(todo); !slices.Equal(got, canaries) {
		t.Fatalf("first step assigned %v, want the canaries %v", got, canaries)
	}
	before := len(st.Assigned)
	now = now.Add(10 * time.Second)
	next, todo := s.step(t, st, now)
	if len(todo) != 0 || next.Cohort != 0 || next.Counts.InProgress != 2 {
		t.Fatalf("canaries not done: cohort %d, assigned %v, counts %+v; want cohort 0, nothing assigned, 2 in progress", next.Cohort, todo, next.Counts)
	}
	if len(st.Assigned) != before {
		t.Fatal("Step modified its input's Assigned")
	}
	st = next

	for i, want := range [][]string{
		s.inRange(0, 5, canaries...),
		s.inRange(5, 25, canaries...),
		s.inRange(25, 100, canaries...),
	} {
		s.progress(now)
		s.progress(now)
		now = now.Add(10 * time.Second)
		st, todo = s.step(t, st, now)
		if st.Cohort != i+1 || st.State != rollout.StateRunning {
			t.Fatalf("after cohort %d succeeded: cohort %d, state %s", i, st.Cohort, st.State)
		}
		if got := keysOf(todo); !slices.Equal(got, want) {
			t.Fatalf("cohort %d assigned %d gateways %v, want the %d whose position is in its range %v", i+1, len(got), got, len(want), want)
		}
	}
	s.progress(now)
	s.progress(now)
	st, todo = s.step(t, st, now.Add(10*time.Second))
	if st.State != rollout.StateCompleted || len(todo) != 0 {
		t.Fatalf("every gateway committed: state %s, assigned %v; want completed, nothing", st.State, todo)
	}
	if want := (rollout.Counts{Eligible: 200, Assigned: 200, Succeeded: 200}); st.Counts != want {
		t.Fatalf("counts %+v, want %+v", st.Counts, want)
	}
	if keys, total := s.sent(); len(keys) != 200 || total != 200 {
		t.Fatalf("%d gateways sent %d assignments, want each of 200 once", len(keys), total)
	}
}

func TestCanaryFailurePausesTheRollout(t *testing.T) {
	canaries := []string{"c00/gw-000", "c01/gw-001"}
	start := func(t *testing.T) (*sim, rollout.Status, time.Time) {
		s := newSim(200, 10)
		s.set(canaries[0], func(g *simGateway) { g.does = rollsBack })
		st := newStatus(t, spec("r-1", ref(canaries[0]), ref(canaries[1])), t0)
		st, _ = s.step(t, st, t0)
		s.progress(t0)
		s.progress(t0)
		now := t0.Add(10 * time.Second)
		st, todo := s.step(t, st, now)
		if st.State != rollout.StatePaused || len(todo) != 0 {
			t.Fatalf("a canary rolled back: state %s, assigned %v; want paused, nothing", st.State, todo)
		}
		for _, want := range []string{"canary c00/gw-000 failed", "rolled_back", "desks not answering"} {
			if !strings.Contains(st.Reason, want) {
				t.Errorf("reason %q does not say %q", st.Reason, want)
			}
		}
		if st.Counts.Failed != 1 || st.Counts.Succeeded != 1 || st.Cohort != 0 {
			t.Errorf("cohort %d, counts %+v; want cohort 0, 1 failed, 1 succeeded", st.Cohort, st.Counts)
		}
		// Paused, nothing is assigned nor sent again, however long.
		for range 3 {
			now = now.Add(time.Hour)
			if st, todo = s.step(t, st, now); st.State != rollout.StatePaused || len(todo) != 0 {
				t.Fatalf("paused rollout: state %s, assigned %v", st.State, todo)
			}
		}
		if keys, _ := s.sent(); !slices.Equal(keys, canaries) {
			t.Fatalf("sent to %v, want only the canaries", keys)
		}
		return s, st, now
	}

	t.Run("fixed, then resumed", func(t *testing.T) {
		s, st, now := start(t)
		// The operator fixes the canary; it tries again and reports.
		s.set(canaries[0], func(g *simGateway) {
			g.does = commits
			g.view.Phase, g.view.LastReport = rollout.PhaseDownloading, now
		})
		st, _ = s.step(t, st, now)
		if len(st.Failures) != 0 || st.Counts.InProgress != 1 {
			t.Fatalf("paused rollout's counts not refreshed: %+v, failures %v", st.Counts, st.Failures)
		}
		st, err := st.Resume()
		if err != nil {
			t.Fatal(err)
		}
		st, todo := s.step(t, st, now.Add(10*time.Second))
		if st.Cohort != 0 || len(todo) != 0 {
			t.Fatalf("canary still downloading: cohort %d, assigned %d", st.Cohort, len(todo))
		}
		s.progress(now)
		st, todo = s.step(t, st, now.Add(20*time.Second))
		if st.State != rollout.StateRunning || st.Cohort != 1 || len(todo) == 0 {
			t.Fatalf("canary fixed and committed: state %s, cohort %d, assigned %d; want running, cohort 1, the 5 %%", st.State, st.Cohort, len(todo))
		}
	})

	t.Run("resumed without a fix", func(t *testing.T) {
		s, st, now := start(t)
		st, err := st.Resume()
		if err != nil {
			t.Fatal(err)
		}
		if f := st.Failures[canaries[0]]; !f.Acknowledged {
			t.Fatalf("resume did not acknowledge the failure: %+v", st.Failures)
		}
		st, todo := s.step(t, st, now.Add(10*time.Second))
		if st.State != rollout.StateRunning || st.Cohort != 1 || len(todo) == 0 {
			t.Fatalf("acknowledged failure: state %s (%s), cohort %d, assigned %d; want running, cohort 1", st.State, st.Reason, st.Cohort, len(todo))
		}
		if st.Counts.Failed != 1 {
			t.Fatalf("an acknowledged failure still counts as failed: %+v", st.Counts)
		}
		// The same canary failing again, later, is a new failure.
		s.set(canaries[0], func(g *simGateway) { g.view.LastReport = now.Add(time.Minute) })
		if st, _ = s.step(t, st, now.Add(2*time.Minute)); st.State != rollout.StatePaused {
			t.Fatalf("a new failure of the canary: state %s, want paused", st.State)
		}
	})
}

func TestOfflineGatewaysAreUnreachableNotFailed(t *testing.T) {
	s := newSim(200, 10)
	sp := spec("r-1")
	sp.Percentages = []int{25, 100}
	members := s.inRange(0, 25)
	offline := members[:4]
	for _, k := range offline {
		s.set(k, func(g *simGateway) { g.view.Online = false })
	}
	st := newStatus(t, sp, t0)
	st, todo := s.step(t, st, t0) // no canaries: straight to 25 %
	if got := keysOf(todo); st.Cohort != 1 || !slices.Equal(got, members) {
		t.Fatalf("cohort %d assigned %d, want cohort 1, its %d members, offline ones too", st.Cohort, len(got), len(members))
	}
	if st.Counts.Unreachable != 4 || st.Counts.Failed != 0 {
		t.Fatalf("counts %+v: want 4 unreachable, none failed", st.Counts)
	}
	// One more goes offline in the middle of its download.
	s.progress(t0)
	s.set(members[4], func(g *simGateway) { g.view.Online = false })
	s.progress(t0)
	st, todo = s.step(t, st, t0.Add(10*time.Second))
	if st.Counts.Unreachable != 5 || st.Counts.Failed != 0 || st.Counts.Succeeded != len(members)-5 {
		t.Fatalf("counts %+v: want 5 unreachable, none failed, %d succeeded", st.Counts, len(members)-5)
	}
	if st.Cohort != 2 || len(todo) != 200-len(members) {
		t.Fatalf("reachable members all succeeded: cohort %d, assigned %d; want cohort 2, the other %d", st.Cohort, len(todo), 200-len(members))
	}
	if st.State != rollout.StateRunning {
		t.Fatalf("state %s (%s), want running", st.State, st.Reason)
	}
}

func TestACohortOfOnlyUnreachableGatewaysDoesNotAdvance(t *testing.T) {
	s := newSim(3, 3)
	for _, k := range []string{"c00/gw-000", "c01/gw-001"} {
		s.set(k, func(g *simGateway) { g.view.Online = false })
	}
	st := newStatus(t, spec("r-1", ref("c00/gw-000"), ref("c01/gw-001")), t0)
	for i := range 3 {
		st, _ = s.step(t, st, t0.Add(time.Duration(i)*time.Hour))
	}
	if st.Cohort != 0 || st.Counts.Unreachable != 2 {
		t.Fatalf("every canary offline: cohort %d, counts %+v; want cohort 0, 2 unreachable", st.Cohort, st.Counts)
	}
}

func TestFailureThresholdPauses(t *testing.T) {
	for _, tt := range []struct {
		failing int
		want    rollout.State
	}{
		{10, rollout.StateCompleted}, // 5.0 % is not over 5 %, and 95 % succeeded
		{11, rollout.StatePaused},
	} {
		s := newSim(200, 10)
		sp := spec("r-1")
		sp.Percentages = []int{100}
		i := 0
		for k := range s.gws {
			if i++; i <= tt.failing {
				s.set(k, func(g *simGateway) { g.does = rollsBack })
			}
		}
		st, _ := s.step(t, newStatus(t, sp, t0), t0)
		s.progress(t0)
		s.progress(t0)
		st, todo := s.step(t, st, t0.Add(10*time.Second))
		if st.State != tt.want {
			t.Errorf("%d of 200 failed: state %s (%s), want %s", tt.failing, st.State, st.Reason, tt.want)
		}
		if st.Counts.Failed != tt.failing || len(todo) != 0 {
			t.Errorf("%d of 200 failed: counts %+v, assigned %d", tt.failing, st.Counts, len(todo))
		}
		if tt.want == rollout.StatePaused && !strings.Contains(st.Reason, "failure threshold: 11 of 200") {
			t.Errorf("reason %q does not name the threshold and the counts", st.Reason)
		}
	}
}

func TestStalledGatewaysAndHourlyResends(t *testing.T) {
	s := newSim(20, 2)
	quiet := []string{"c00/gw-000", "c01/gw-001"}
	for _, k := range quiet {
		s.set(k, func(g *simGateway) { g.does = silent })
	}
	s.set("c00/gw-002", func(g *simGateway) { g.does = silent; g.view.Online = false })
	sp := spec("r-1")
	sp.Percentages = []int{100}
	st := newStatus(t, sp, t0)
	st, _ = s.step(t, st, t0)
	s.progress(t0)
	s.progress(t0)
	for now := t0; !now.After(t0.Add(3 * time.Hour)); now = now.Add(10 * time.Second) {
		st, _ = s.step(t, st, now)
		wantStalled := 0
		if now.Sub(t0) >= 2*time.Hour {
			wantStalled = 2
		}
		if st.Counts.Stalled != wantStalled || st.Counts.InProgress != 2-wantStalled {
			t.Fatalf("at +%v: counts %+v, want %d stalled", now.Sub(t0), st.Counts, wantStalled)
		}
	}
	if st.State != rollout.StateRunning || st.Counts.Succeeded != 17 || st.Counts.Unreachable != 1 {
		t.Fatalf("state %s, counts %+v: want running (17 of 19 reachable is under 95 %%), 17 succeeded, 1 unreachable", st.State, st.Counts)
	}
	for _, k := range quiet {
		if n := s.gws[k].sends; n != 4 {
			t.Errorf("%s silent for 3 h was sent %d assignments, want 4 (at 0, 1, 2, 3 h)", k, n)
		}
	}
	if n := s.gws["c00/gw-002"].sends; n != 1 {
		t.Errorf("an offline gateway was sent %d assignments, want 1", n)
	}
	if n := s.gws["c01/gw-003"].sends; n != 1 {
		t.Errorf("a gateway that succeeded was sent %d assignments, want 1", n)
	}
}

func TestWindowAndCentreZones(t *testing.T) {
	karachi, _ := time.LoadLocation("Asia/Karachi")
	london, _ := time.LoadLocation("Europe/London")
	newRollout := func(w rollout.Window, tz map[string]string) (*sim, rollout.Status) {
		s := newSim(20, 2) // centres c00 and c01
		sp := spec("r-1")
		sp.Percentages, sp.Window, sp.CentreTZ = []int{100}, w, tz
		return s, newStatus(t, sp, t0)
	}
	assignedCentres := func(todo []rollout.GatewayRef) []string {
		var cs []string
		for _, r := range todo {
			if !slices.Contains(cs, r.Centre) {
				cs = append(cs, r.Centre)
			}
		}
		slices.Sort(cs)
		return cs
	}
	night := rollout.Window{Start: "02:00", End: "05:00"}

	t.Run("outside the window nothing is assigned", func(t *testing.T) {
		s, st := newRollout(night, nil)
		st, todo := s.step(t, st, time.Date(2026, 11, 26, 10, 0, 0, 0, karachi))
		if len(todo) != 0 || st.Counts.Pending != 20 || st.State != rollout.StateRunning {
			t.Fatalf("10:00 in Karachi: assigned %d, counts %+v; want none, 20 pending", len(todo), st.Counts)
		}
		st, todo = s.step(t, st, time.Date(2026, 11, 27, 2, 30, 0, 0, karachi))
		if len(todo) != 20 || st.Counts.Pending != 0 {
			t.Fatalf("02:30 in Karachi: assigned %d, counts %+v; want 20, none pending", len(todo), st.Counts)
		}
	})
	t.Run("a centre's zone", func(t *testing.T) {
		s, st := newRollout(night, map[string]string{"c01": "Europe/London"})
		st, todo := s.step(t, st, time.Date(2026, 11, 27, 2, 30, 0, 0, london)) // 07:30 in Karachi
		if got := assignedCentres(todo); !slices.Equal(got, []string{"c01"}) {
			t.Fatalf("02:30 in London: assigned centres %v, want [c01]", got)
		}
		_, todo = s.step(t, st, time.Date(2026, 11, 28, 2, 30, 0, 0, karachi)) // 21:30 in London
		if got := assignedCentres(todo); !slices.Equal(got, []string{"c00"}) {
			t.Fatalf("02:30 in Karachi: assigned centres %v, want [c00]", got)
		}
	})
	t.Run("a window across midnight", func(t *testing.T) {
		s, st := newRollout(rollout.Window{Start: "22:00", End: "02:00"}, nil)
		st, todo := s.step(t, st, time.Date(2026, 11, 26, 21, 59, 0, 0, karachi))
		if len(todo) != 0 {
			t.Fatalf("21:59: assigned %d, want none", len(todo))
		}
		if _, todo = s.step(t, st, time.Date(2026, 11, 27, 1, 0, 0, 0, karachi)); len(todo) != 20 {
			t.Fatalf("01:00: assigned %d, want 20", len(todo))
		}
	})
	t.Run("the stall clock stops while the window is closed", func(t *testing.T) {
		s, st := newRollout(night, nil)
		for k := range s.gws {
			s.set(k, func(g *simGateway) { g.does = silent })
		}
		st, _ = s.step(t, st, time.Date(2026, 11, 27, 2, 0, 0, 0, karachi))
		st, _ = s.step(t, st, time.Date(2026, 11, 27, 12, 0, 0, 0, karachi))
		if st.Counts.Stalled != 0 || st.Counts.InProgress != 20 {
			t.Fatalf("window closed: counts %+v, want 20 in progress", st.Counts)
		}
		st, _ = s.step(t, st, time.Date(2026, 11, 28, 3, 0, 0, 0, karachi))
		if st.Counts.Stalled != 0 {
			t.Fatalf("an hour into the next window: counts %+v, want none stalled", st.Counts)
		}
		st, _ = s.step(t, st, time.Date(2026, 11, 28, 4, 0, 0, 0, karachi))
		if st.Counts.Stalled != 20 {
			t.Fatalf("two hours into the next window: counts %+v, want 20 stalled", st.Counts)
		}
	})
}

func TestEligibility(t *testing.T) {
	fleet := []rollout.GatewayView{
		{Ref: ref("c1/old"), Online: true, Version: "1.0.0", Channel: "stable"},
		{Ref: ref("c1/old-offline"), Version: "1.4.1", Channel: "stable"},
		{Ref: ref("c1/dev-build"), Online: true, Version: "dev", Channel: "stable"},
		{Ref: ref("c1/never-reported"), Online: true},
		{Ref: ref("c1/other-arch"), Online: true, Version: "1.0.0", Channel: "stable", Arch: "linux/riscv64"},
		{Ref: ref("c1/beta"), Online: true, Version: "1.0.0", Channel: "beta"},
		{Ref: ref("c1/same"), Online: true, Version: "1.4.2", Channel: "stable"},
		{Ref: ref("c1/newer"), Online: true, Version: "1.10.0", Channel: "stable"},
	}
	sp := spec("r-1")
	sp.Percentages = []int{100}
	st, todo := rollout.Step(newStatus(t, sp, t0), fleet, t0)
	want := []string{"c1/dev-build", "c1/never-reported", "c1/old", "c1/old-offline", "c1/other-arch"}
	if got := keysOf(todo); !slices.Equal(got, want) {
		t.Fatalf("assigned %v, want %v", got, want)
	}
	if st.Counts.Eligible != 5 || st.Counts.Unreachable != 1 || st.Counts.InProgress != 4 {
		t.Fatalf("counts %+v: want 5 eligible, 1 unreachable, 4 in progress", st.Counts)
	}
	// A release that names its architecture skips gateways that say they
	// are another (those that do not say still get it, and refuse it).
	sp.Arch = "linux/arm64"
	_, todo = rollout.Step(newStatus(t, sp, t0), fleet, t0)
	want = []string{"c1/dev-build", "c1/never-reported", "c1/old", "c1/old-offline"}
	if got := keysOf(todo); !slices.Equal(got, want) {
		t.Fatalf("with arch %s: assigned %v, want %v", sp.Arch, got, want)
	}
}

func TestCompletion(t *testing.T) {
	s := newSim(10, 2)
	s.set("c00/gw-000", func(g *simGateway) { g.view.Online = false })
	s.set("c01/gw-001", func(g *simGateway) { g.does = silent })
	sp := spec("r-1")
	sp.Percentages, sp.SuccessThreshold = []int{100}, 0.8
	st, _ := s.step(t, newStatus(t, sp, t0), t0)
	s.progress(t0)
	s.progress(t0)
	st, _ = s.step(t, st, t0.Add(time.Minute))
	if st.State != rollout.StateRunning || st.Counts.InProgress != 1 {
		t.Fatalf("one gateway still in progress: state %s, counts %+v; want running", st.State, st.Counts)
	}
	st, _ = s.step(t, st, t0.Add(2*time.Hour))
	want := rollout.Counts{Eligible: 10, Assigned: 10, Succeeded: 8, Stalled: 1, Unreachable: 1}
	if st.State != rollout.StateCompleted || st.Counts != want {
		t.Fatalf("none pending or in progress: state %s, counts %+v; want completed, %+v", st.State, st.Counts, want)
	}
	if next, todo := s.step(t, st, t0.Add(5*time.Hour)); next.State != rollout.StateCompleted || len(todo) != 0 || !next.Updated.Equal(st.Updated) {
		t.Fatal("a completed rollout changed or assigned")
	}
}

func TestCanaryMistakesPauseBeforeAnyAssignment(t *testing.T) {
	for name, canary := range map[string]string{
		"not in the fleet":   "c09/gw-999",
		"on another channel": "c01/gw-001",
	} {
		s := newSim(20, 2)
		s.set("c01/gw-001", func(g *simGateway) { g.view.Channel = "beta" })
		st, todo := s.step(t, newStatus(t, spec("r-1", ref("c00/gw-000"), ref(canary)), t0), t0)
		if st.State != rollout.StatePaused || len(todo) != 0 || !strings.Contains(st.Reason, canary) {
			t.Errorf("canary %s: state %s (%s), assigned %d; want paused, naming it, nothing assigned", name, st.State, st.Reason, len(todo))
		}
	}
}

func TestEmptyFleetChangesNothing(t *testing.T) {
	st := newStatus(t, spec("r-1"), t0)
	next, todo := rollout.Step(st, nil, t0.Add(time.Hour))
	if len(todo) != 0 || next.Cohort != st.Cohort || !next.Updated.Equal(st.Updated) || next.State != st.State {
		t.Fatalf("empty fleet: %+v, %v", next, todo)
	}
}

func TestStateRules(t *testing.T) {
	actions := map[string]func(rollout.Status) (rollout.Status, error){
		"pause":  func(st rollout.Status) (rollout.Status, error) { return st.Pause("") },
		"resume": rollout.Status.Resume,
		"abort":  rollout.Status.Abort,
	}
	allowed := map[rollout.State]map[string]rollout.State{
		rollout.StateRunning:   {"pause": rollout.StatePaused, "abort": rollout.StateAborted},
		rollout.StatePaused:    {"resume": rollout.StateRunning, "abort": rollout.StateAborted},
		rollout.StateCompleted: {},
		rollout.StateAborted:   {},
	}
	for from, to := range allowed {
		for name, act := range actions {
			st := newStatus(t, spec("r-1"), t0)
			st.State = from
			got, err := act(st)
			want, ok := to[name]
			switch {
			case ok && (err != nil || got.State != want):
				t.Errorf("%s a %s rollout: %s, %v; want %s", name, from, got.State, err, want)
			case !ok && !errors.Is(err, rollout.ErrConflict):
				t.Errorf("%s a %s rollout: %v, want ErrConflict", name, from, err)
			}
		}
	}
	if !rollout.StateAborted.Final() || !rollout.StateCompleted.Final() || rollout.StatePaused.Final() {
		t.Error("Final: want only completed and aborted final")
	}
}

func TestOutcomeOfAnAssignedGateway(t *testing.T) {
	now := t0.Add(3 * time.Hour)
	gw := ref("c1/gw-1")
	for _, tt := range []struct {
		name string
		view rollout.GatewayView // of gw; Ref is set
		want string
	}{
		{"committed, version not seen yet", rollout.GatewayView{Online: true, Version: "1.0.0", Rollout: "r-1", Phase: "committed", LastReport: now}, "succeeded"},
		{"runs the release, no report", rollout.GatewayView{Online: true, Version: "1.4.2"}, "succeeded"},
		{"runs a higher version", rollout.GatewayView{Online: true, Version: "1.5"}, "succeeded"},
		{"offline, runs the release", rollout.GatewayView{Version: "1.4.2", Rollout: "r-1", Phase: "committed"}, "succeeded"},
		{"rolled back", rollout.GatewayView{Online: true, Version: "1.0.0", Rollout: "r-1", Phase: "rolled_back", LastReport: now}, "failed"},
		{"refused, then offline", rollout.GatewayView{Version: "1.0.0", Rollout: "r-1", Phase: "failed", LastReport: now}, "failed"},
		{"rolled back another rollout, silent on this one", rollout.GatewayView{Online: true, Version: "1.0.0", Rollout: "r-0", Phase: "rolled_back", LastReport: now}, "stalled"},
		{"offline while downloading", rollout.GatewayView{Version: "1.0.0", Rollout: "r-1", Phase: "downloading", LastReport: now}, "unreachable"},
		{"online, reported an hour ago", rollout.GatewayView{Online: true, Version: "1.0.0", Rollout: "r-1", Phase: "downloading", LastReport: now.Add(-time.Hour)}, "in progress"},
		{"online, reported three hours ago", rollout.GatewayView{Online: true, Version: "1.0.0", Rollout: "r-1", Phase: "downloading", LastReport: now.Add(-3 * time.Hour)}, "stalled"},
		{"online, reported on another rollout only", rollout.GatewayView{Online: true, Version: "1.0.0", Rollout: "r-0", Phase: "committed", LastReport: now}, "stalled"},
		{"no longer in the fleet", rollout.GatewayView{}, "unreachable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sp := spec("r-1")
			sp.Percentages = []int{100}
			st := newStatus(t, sp, t0)
			st.Assigned[gw.String()] = t0
			fleet := []rollout.GatewayView{{Ref: ref("c1/other"), Online: true, Version: "2.0"}}
			if tt.name != "no longer in the fleet" {
				v := tt.view
				v.Ref, v.Channel = gw, "stable"
				fleet = append(fleet, v)
			}
			st, _ = rollout.Step(st, fleet, now)
			c := st.Counts
			got := map[string]int{"succeeded": c.Succeeded, "failed": c.Failed, "in progress": c.InProgress, "stalled": c.Stalled, "unreachable": c.Unreachable}
			for name, n := range got {
				if want := map[bool]int{true: 1}[name == tt.want]; n != want {
					t.Errorf("counts %+v: want only %s", c, tt.want)
					break
				}
			}
		})
	}
}

// A gateway on trial already runs (and announces) the new version; it has
// succeeded only once it reports the commit.
func TestTrialIsNotSuccess(t *testing.T) {
	sp := spec("r-1")
	sp.Percentages = []int{100}
	g := rollout.GatewayView{Ref: ref("c1/gw-1"), Online: true, Version: "1.0.0", Channel: "stable"}
	st, todo := rollout.Step(newStatus(t, sp, t0), []rollout.GatewayView{g}, t0)
	if len(todo) != 1 {
		t.Fatalf("assigned %v", todo)
	}
	g.Version, g.Rollout, g.Phase, g.LastReport = sp.Version, sp.ID, rollout.PhaseTrial, t0.Add(time.Minute)
	st, _ = rollout.Step(st, []rollout.GatewayView{g}, t0.Add(2*time.Minute))
	if st.Counts.Succeeded != 0 || st.Counts.InProgress != 1 || st.State != rollout.StateRunning {
		t.Fatalf("on trial: state %s, counts %+v; want running with 1 in progress", st.State, st.Counts)
	}
	g.Phase, g.LastReport = rollout.PhaseCommitted, t0.Add(3*time.Minute)
	st, _ = rollout.Step(st, []rollout.GatewayView{g}, t0.Add(4*time.Minute))
	if st.Counts.Succeeded != 1 || st.State != rollout.StateCompleted {
		t.Fatalf("committed: state %s, counts %+v; want completed with 1 succeeded", st.State, st.Counts)
	}
}

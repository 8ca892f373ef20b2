package rollout_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/hq/rollout"
)

// manifest is a made-up artifact hash.
const manifest = "9f2c1e0d5a3b7c689f2c1e0d5a3b7c689f2c1e0d5a3b7c689f2c1e0d5a3b7c68"

// t0 is 10:00 in Karachi.
var t0 = time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)

func spec(id string, canaries ...rollout.GatewayRef) rollout.Spec {
	return rollout.Spec{ID: id, Version: "1.4.2", Manifest: manifest, Channel: "stable", Canary: canaries}
}

func ref(s string) rollout.GatewayRef {
	r, err := rollout.ParseRef(s)
	if err != nil {
		panic(err)
	}
	return r
}

// behaviour is what a simulated gateway does with an assignment.
type behaviour int

const (
	commits   behaviour = iota // downloading, then committed on the next progress
	rollsBack                  // downloading, then rolled_back
	silent                     // never reports
)

type simGateway struct {
	view    rollout.GatewayView
	does    behaviour
	rollout string // the rollout it was assigned
	version string // … and that rollout's version
	sends   int    // assignments received
}

// sim is a fleet of gateways that act on their assignments when told to
// progress. Its methods are safe for concurrent use.
type sim struct {
	mu  sync.Mutex
	gws map[string]*simGateway
}

// newSim is n gateways spread over centres c00…, all online on stable
// running 1.0.0.
func newSim(n, centres int) *sim {
	s := &sim{gws: map[string]*simGateway{}}
	for i := range n {
		r := rollout.GatewayRef{Centre: fmt.Sprintf("c%02d", i%centres), Gateway: fmt.Sprintf("gw-%03d", i)}
		s.gws[r.String()] = &simGateway{view: rollout.GatewayView{
			Ref: r, Online: true, Version: "1.0.0", Arch: "linux/arm64", Channel: "stable",
		}}
	}
	return s
}

func (s *sim) gw(key string) *simGateway {
	g := s.gws[key]
	if g == nil {
		panic("no simulated gateway " + key)
	}
	return g
}

// set changes gateway key.
func (s *sim) set(key string, f func(*simGateway)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.gw(key))
}

func (s *sim) fleet() []rollout.GatewayView {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]rollout.GatewayView, 0, len(s.gws))
	for _, g := range s.gws {
		out = append(out, g.view)
	}
	return out
}

func (s *sim) assign(st rollout.Status, r rollout.GatewayRef) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.gw(r.String())
	g.sends++
	g.rollout, g.version = st.Spec.ID, st.Spec.Version
	return nil
}

// progress moves every online, assigned gateway one step: downloading,
// then its outcome, as its firmware reports would say.
func (s *sim) progress(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.gws {
		v := &g.view
		if g.rollout == "" || !v.Online || g.does == silent {
			continue
		}
		report := func(phase, detail string) {
			v.Rollout, v.Phase, v.Detail, v.LastReport = g.rollout, phase, detail, now
		}
		switch {
		case v.Rollout != g.rollout:
			report(rollout.PhaseDownloading, "0/80")
		case v.Phase == rollout.PhaseDownloading && g.does == commits:
			report(rollout.PhaseCommitted, "")
			v.Version = g.version
		case v.Phase == rollout.PhaseDownloading && g.does == rollsBack:
			report(rollout.PhaseRolledBack, "health: desks not answering")
		}
	}
}

// sent returns the gateways assigned at least once, sorted, and the total
// of assignments sent.
func (s *sim) sent() (keys []string, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, g := range s.gws {
		if g.sends > 0 {
			keys = append(keys, k)
			total += g.sends
		}
	}
	slices.Sort(keys)
	return keys, total
}

// step runs rollout.Step against the simulated fleet and delivers the
// assignments.
func (s *sim) step(t *testing.T, st rollout.Status, now time.Time) (rollout.Status, []rollout.GatewayRef) {
	t.Helper()
	next, todo := rollout.Step(st, s.fleet(), now)
	for _, r := range todo {
		s.assign(next, r)
	}
	checkCounts(t, next)
	return next, todo
}

// checkCounts checks the invariants of Counts.
func checkCounts(t *testing.T, st rollout.Status) {
	t.Helper()
	c := st.Counts
	if c.Assigned != len(st.Assigned) {
		t.Errorf("counts: assigned %d, but %d gateways in Assigned", c.Assigned, len(st.Assigned))
	}
	if sum := c.Succeeded + c.InProgress + c.Failed + c.Stalled + c.Unreachable; sum != c.Assigned {
		t.Errorf("counts %+v: outcomes add up to %d, want assigned %d", c, sum, c.Assigned)
	}
	if c.Assigned+c.Pending > c.Eligible {
		t.Errorf("counts %+v: assigned + pending over eligible", c)
	}
	if len(st.Failures) != c.Failed {
		t.Errorf("counts: failed %d, but %d failures recorded", c.Failed, len(st.Failures))
	}
}

func keysOf(refs []rollout.GatewayRef) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.String()
	}
	slices.Sort(out)
	return out
}

// inRange lists the keys of the gateways whose Cohort is in [lo, hi),
// sorted, leaving out those in skip.
func (s *sim) inRange(lo, hi float64, skip ...string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k, g := range s.gws {
		if c := rollout.Cohort(g.view.Ref); c >= lo && c < hi && !slices.Contains(skip, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func newStatus(t *testing.T, sp rollout.Spec, now time.Time) rollout.Status {
	t.Helper()
	st, err := rollout.NewStatus(sp, now)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

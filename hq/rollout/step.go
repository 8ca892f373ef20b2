package rollout

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
)

// ResendAfter is how long an assigned gateway that is online may go
// without reporting on the rollout before its assignment is sent again;
// it is sent again at most once per ResendAfter.
const ResendAfter = time.Hour

// maxDetail bounds a failure's detail as a Status keeps it.
const maxDetail = 200

// Step advances a rollout by what the fleet shows at now. It returns the
// new status and the gateways to send the assignment to now. See the
// package documentation for the rules; in short:
//
//   - a running rollout pauses itself on an unacknowledged failed canary,
//     on unacknowledged failures above Spec.FailureThreshold of the
//     gateways assigned, or, while the canaries are in progress, on a
//     canary that is not in the fleet or is on another channel;
//   - otherwise its cohort advances while the cohort is done, and it
//     completes when the last one is;
//   - members of the cohorts started so far are assigned when their
//     centre's window is open; an assigned gateway that is online and in
//     progress or stalled is sent its assignment again once an hour
//     (ResendAfter) without a report; a gateway that succeeded or failed
//     never is.
//
// A paused rollout gets fresh counts and failures, nothing else. A final
// rollout, or an empty fleet (which says nothing), leaves st unchanged.
// Step does not modify st's maps.
func Step(st Status, fleet []GatewayView, now time.Time) (Status, []GatewayRef) {
	if st.State != StateRunning && st.State != StatePaused || len(fleet) == 0 {
		return st, nil
	}
	prev := st.Updated
	st.Spec = st.Spec.WithDefaults()
	st.Assigned = maps.Clone(st.Assigned)
	if st.Assigned == nil {
		st.Assigned = map[string]time.Time{}
	}
	st.Updated = now.UTC().Truncate(time.Second)
	pause := func(reason string) (Status, []GatewayRef) {
		if st.State == StateRunning {
			st.State, st.Reason = StatePaused, reason
		}
		return st, nil
	}
	if err := st.Spec.Validate(); err != nil {
		return pause(fmt.Sprintf("the stored spec is not valid: %v", err))
	}
	last := len(st.Spec.Percentages)
	if st.Cohort < 0 || st.Cohort > last {
		return pause(fmt.Sprintf("cohort %d does not exist (0 to %d)", st.Cohort, last))
	}

	p := newPlan(&st, fleet, now)
	p.recordFailures()
	if st.State == StatePaused {
		st.Counts = p.counts()
		return st, nil
	}
	if reason := p.pauseReason(); reason != "" {
		st.Counts = p.counts()
		return pause(reason)
	}
	for p.done(st.Cohort, st.Cohort == last) {
		if st.Cohort == last {
			st.State = StateCompleted
			break
		}
		st.Cohort++
	}
	var todo []GatewayRef
	if st.State == StateRunning {
		todo = p.assign(prev)
	}
	st.Counts = p.counts()
	return st, todo
}

// outcome is how an assigned gateway stands (pending: not assigned).
type outcome int

const (
	pending outcome = iota
	inProgress
	succeeded
	failed
	stalled
	unreachable
)

// gateway is one gateway Step considers: in the fleet, assigned, or both.
type gateway struct {
	key      string
	ref      GatewayRef
	view     GatewayView
	known    bool // in the fleet
	canary   bool
	eligible bool      // on the release's channel (or unknown), running an older version
	pos      float64   // Cohort(ref)
	at       time.Time // when assigned; zero: not assigned
}

type windowState struct {
	open   bool
	opened time.Time // when the open window opened; zero when always open
}

// plan is one Step's view of the fleet against a status.
type plan struct {
	st       *Status
	now      time.Time
	gws      []*gateway // sorted by key
	missing  []GatewayRef
	windows  map[string]windowState // by centre
	canaries map[string]bool
}

func newPlan(st *Status, fleet []GatewayView, now time.Time) *plan {
	p := &plan{st: st, now: now, windows: map[string]windowState{}, canaries: map[string]bool{}}
	for _, c := range st.Spec.Canary {
		p.canaries[c.String()] = true
	}
	by := make(map[string]*gateway, len(fleet)+len(st.Assigned))
	for _, v := range fleet {
		key := v.Ref.String()
		by[key] = &gateway{key: key, ref: v.Ref, view: v, known: true}
	}
	for key, at := range st.Assigned {
		g := by[key]
		if g == nil {
			c, gw, _ := strings.Cut(key, "/")
			g = &gateway{key: key, ref: GatewayRef{Centre: c, Gateway: gw}}
			by[key] = g
		}
		g.at = at
	}
	for _, c := range st.Spec.Canary {
		if by[c.String()] == nil {
			p.missing = append(p.missing, c)
		}
	}
	for _, g := range by {
		g.canary = p.canaries[g.key]
		g.pos = Cohort(g.ref)
		v := g.view
		g.eligible = g.known && (v.Channel == st.Spec.Channel || v.Channel == "") &&
			(v.Arch == "" || st.Spec.Arch == "" || v.Arch == st.Spec.Arch) &&
			release.CompareVersions(v.Version, st.Spec.Version) < 0
		p.gws = append(p.gws, g)
	}
	slices.SortFunc(p.gws, func(a, b *gateway) int { return strings.Compare(a.key, b.key) })
	return p
}

func (p *plan) window(centre string) windowState {
	w, ok := p.windows[centre]
	if !ok {
		win := p.st.Spec.WindowFor(centre)
		w = windowState{open: win.Open(p.now), opened: win.openedAt(p.now)}
		p.windows[centre] = w
	}
	return w
}

// member reports whether g belongs to the cohorts up to c: cohorts are
// cumulative, and every assigned gateway is a member.
func (p *plan) member(g *gateway, c int) bool {
	if !g.at.IsZero() {
		return true
	}
	return g.eligible && (g.canary || c >= 1 && g.pos < float64(p.st.Spec.Percentages[c-1]))
}

// reported reports whether g's last firmware report is about this rollout.
func (p *plan) reported(g *gateway) bool { return g.known && g.view.Rollout == p.st.Spec.ID }

// lastHeard is when g was last sent the assignment or reported on it.
func (p *plan) lastHeard(g *gateway) time.Time {
	t := g.at
	if p.reported(g) && g.view.LastReport.After(t) {
		t = g.view.LastReport
	}
	return t
}

// unfinished reports whether phase is a step of an update still under way.
func unfinished(phase string) bool {
	switch phase {
	case PhaseWaiting, PhaseDownloading, PhaseReady, PhaseTrial:
		return true
	}
	return false
}

func (p *plan) classify(g *gateway) outcome {
	v, s := g.view, p.st.Spec
	switch {
	case g.at.IsZero():
		return pending
	case !g.known:
		return unreachable
	case p.reported(g) && v.Phase == PhaseCommitted:
		return succeeded
	case release.CompareVersions(v.Version, s.Version) >= 0 && !(p.reported(g) && unfinished(v.Phase)):
		// Running the version is a success, except on trial: its birth
		// names the new version before the trial has held.
		return succeeded
	case p.reported(g) && (v.Phase == PhaseRolledBack || v.Phase == PhaseFailed):
		return failed
	case !v.Online:
		return unreachable
	}
	// The stall clock runs only while the centre's window is open: outside
	// it the gateway waits, as it should.
	w := p.window(g.ref.Centre)
	if !w.open {
		return inProgress
	}
	since := p.lastHeard(g)
	if w.opened.After(since) {
		since = w.opened
	}
	if p.now.Sub(since) >= s.StallAfter {
		return stalled
	}
	return inProgress
}

// recordFailures makes Status.Failures the assigned gateways that failed,
// keeping the acknowledgement of a failure already recorded.
func (p *plan) recordFailures() {
	var fs map[string]Failure
	for _, g := range p.gws {
		if p.classify(g) != failed {
			continue
		}
		f := Failure{Phase: g.view.Phase, Detail: clip(g.view.Detail, maxDetail), At: g.view.LastReport.UTC()}
		if old, ok := p.st.Failures[g.key]; ok && old.At.Equal(f.At) && old.Phase == f.Phase {
			f.Acknowledged = old.Acknowledged
		}
		if fs == nil {
			fs = map[string]Failure{}
		}
		fs[g.key] = f
	}
	p.st.Failures = fs
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 { // not inside a UTF-8 sequence
		n--
	}
	return s[:n] + "…"
}

// pauseReason says why a running rollout must pause now, or "".
func (p *plan) pauseReason() string {
	s := p.st.Spec
	unacknowledged := 0
	for _, g := range p.gws {
		f, ok := p.st.Failures[g.key]
		if !ok || f.Acknowledged {
			continue
		}
		if g.canary {
			return fmt.Sprintf("canary %s failed: %s", g.key, describe(f))
		}
		unacknowledged++
	}
	if n := len(p.st.Assigned); float64(unacknowledged) > s.FailureThreshold*float64(n)+1e-9 {
		return fmt.Sprintf("failure threshold: %d of %d assigned gateways failed (%.1f%%, over %.1f%%)",
			unacknowledged, n, 100*float64(unacknowledged)/float64(n), 100*s.FailureThreshold)
	}
	if p.st.Cohort != 0 {
		return ""
	}
	if len(p.missing) > 0 {
		return fmt.Sprintf("canary %s is not in the fleet", p.missing[0])
	}
	for _, g := range p.gws {
		if g.canary && g.at.IsZero() && g.known && g.view.Channel != "" && g.view.Channel != s.Channel {
			return fmt.Sprintf("canary %s is on channel %q; the release is for %q", g.key, g.view.Channel, s.Channel)
		}
	}
	return ""
}

func describe(f Failure) string {
	if f.Detail == "" {
		return f.Phase
	}
	return f.Phase + " (" + f.Detail + ")"
}

// done reports whether cohort c is done: its members that are reachable
// and whose failure is not acknowledged have succeeded in at least the
// success threshold's share. Unreachable members and acknowledged
// failures count neither for nor against; a cohort with no member is
// done, one whose only members are unreachable is not. The last cohort
// must also have no member pending or in progress.
func (p *plan) done(c int, final bool) bool {
	var members, ok, out, acknowledged, pend, busy int
	for _, g := range p.gws {
		if !p.member(g, c) {
			continue
		}
		members++
		switch p.classify(g) {
		case succeeded:
			ok++
		case unreachable:
			out++
		case failed:
			if p.st.Failures[g.key].Acknowledged {
				acknowledged++
			}
		case pending:
			pend++
		case inProgress:
			busy++
		}
	}
	switch counted := members - out - acknowledged; {
	case members == 0:
		return true
	case final && pend+busy > 0:
		return false
	case counted == 0:
		return out == 0 // every member's failure is acknowledged
	default:
		return float64(ok) >= p.st.Spec.SuccessThreshold*float64(counted)-1e-9
	}
}

// assign assigns the members of the current cohort not assigned yet, and
// picks the assigned ones to send the assignment again, in open windows.
// prev is when the status was last stepped.
func (p *plan) assign(prev time.Time) []GatewayRef {
	var todo []GatewayRef
	at := p.now.UTC().Truncate(time.Second)
	for _, g := range p.gws {
		if !p.member(g, p.st.Cohort) || !p.window(g.ref.Centre).open {
			continue
		}
		if g.at.IsZero() {
			g.at = at
			p.st.Assigned[g.key] = at
			todo = append(todo, g.ref)
			continue
		}
		if o := p.classify(g); (o == inProgress || o == stalled) && resendDue(p.lastHeard(g), prev, p.now) {
			todo = append(todo, g.ref)
		}
	}
	return todo
}

// resendDue reports whether a whole ResendAfter since heard ended after
// prev (the last step) and by now, so that a gateway silent since heard is
// sent its assignment again once per ResendAfter, however often Step runs.
func resendDue(heard, prev, now time.Time) bool {
	periods := func(t time.Time) int64 {
		if t.Before(heard) {
			return -1
		}
		return int64(t.Sub(heard) / ResendAfter)
	}
	return periods(now) >= 1 && periods(now) > periods(prev)
}

// counts counts the gateways for Status.Counts.
func (p *plan) counts() Counts {
	c := Counts{Assigned: len(p.st.Assigned)}
	for _, g := range p.gws {
		if g.eligible || !g.at.IsZero() {
			c.Eligible++
		}
		switch p.classify(g) {
		case pending:
			if p.member(g, p.st.Cohort) {
				c.Pending++
			}
		case inProgress:
			c.InProgress++
		case succeeded:
			c.Succeeded++
		case failed:
			c.Failed++
		case stalled:
			c.Stalled++
		case unreachable:
			c.Unreachable++
		}
	}
	return c
}

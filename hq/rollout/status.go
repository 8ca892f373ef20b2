package rollout

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"time"
)

// Errors of the package. ErrConflict is also what a state rule that
// forbids a transition returns (resuming a running rollout, aborting a
// completed one): the request conflicts with the rollout's state.
var (
	ErrNotFound = errors.New("rollout not found")
	ErrConflict = errors.New("rollout conflict")
	ErrInvalid  = errors.New("invalid rollout")
)

// Phases of a gateway's update, as its firmware reports say
// (firmware/state, docs/firmware.md §3).
const (
	PhaseIdle        = "idle"
	PhaseWaiting     = "waiting"
	PhaseDownloading = "downloading"
	PhaseReady       = "ready"
	PhaseTrial       = "trial"
	PhaseCommitted   = "committed"
	PhaseRolledBack  = "rolled_back"
	PhaseFailed      = "failed"
)

// GatewayView is what HQ knows of one gateway: from hq/fleet (presence,
// running version) and from the firmware reports among its events.
type GatewayView struct {
	Ref     GatewayRef
	Online  bool
	Version string // the running version ("" unknown)
	Arch    string
	Channel string // "" unknown: eligible, the gateway itself refuses a release of another channel
	// Rollout is the rollout ID of the gateway's last firmware report, ""
	// when it never sent one; Phase, Detail and LastReport are that
	// report's.
	Rollout    string
	Phase      string
	Detail     string
	LastReport time.Time
}

// State is where a rollout stands.
type State string

// States. Completed and aborted are final.
const (
	StateRunning   State = "running"
	StatePaused    State = "paused"
	StateCompleted State = "completed"
	StateAborted   State = "aborted"
)

// Final reports whether nothing can change the rollout any more.
func (s State) Final() bool { return s == StateCompleted || s == StateAborted }

// Status is a rollout as the ROLLOUTS bucket keeps it.
type Status struct {
	Spec   Spec   `json:"spec"`
	State  State  `json:"state"`
	Reason string `json:"reason,omitempty"` // why it is paused: the operator's words, or the threshold that paused it
	// Cohort is the cohort in progress: 0 the canaries, i ≥ 1
	// Spec.Percentages[i-1].
	Cohort int `json:"cohort"`
	// Assigned are the gateways ("centre/gateway") sent the release, and
	// when they were first sent it.
	Assigned map[string]time.Time `json:"assigned"`
	// Failures are the assigned gateways that failed or rolled back, by
	// "centre/gateway".
	Failures map[string]Failure `json:"failures,omitempty"`
	Counts   Counts             `json:"counts"`
	Started  time.Time          `json:"started"`
	Updated  time.Time          `json:"updated"` // when Step last changed it
}

// Failure is one failed gateway: its failure report, and whether an
// operator resumed the rollout knowing of it. An acknowledged failure no
// longer pauses the rollout nor holds its cohort back; a later failure
// report from the same gateway is a new failure.
type Failure struct {
	Phase        string    `json:"phase"` // PhaseRolledBack or PhaseFailed
	Detail       string    `json:"detail,omitempty"`
	At           time.Time `json:"at"` // GatewayView.LastReport of the failure
	Acknowledged bool      `json:"acknowledged,omitempty"`
}

// Counts describe a rollout's gateways. Eligible are the gateways on the
// release's channel running an older version, and those already assigned.
// Succeeded, InProgress, Failed, Stalled and Unreachable split the
// assigned ones; Pending are members of the cohorts started so far that
// are not assigned yet (their centre's window is closed).
type Counts struct {
	Eligible    int `json:"eligible"`
	Assigned    int `json:"assigned"`
	Succeeded   int `json:"succeeded"`
	InProgress  int `json:"in_progress"`
	Failed      int `json:"failed"`
	Stalled     int `json:"stalled"`
	Unreachable int `json:"unreachable"`
	Pending     int `json:"pending"`
}

// NewStatus is a running rollout of spec (defaults filled in) started at
// now, before its first Step.
func NewStatus(spec Spec, now time.Time) (Status, error) {
	spec = spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return Status{}, err
	}
	now = now.UTC().Truncate(time.Second)
	return Status{Spec: spec, State: StateRunning, Assigned: map[string]time.Time{}, Started: now, Updated: now}, nil
}

// Pause stops a running rollout from assigning: running → paused. reason
// says why ("" for a plain operator's pause).
func (st Status) Pause(reason string) (Status, error) {
	if st.State != StateRunning {
		return st, fmt.Errorf("%w: rollout %s is %s; only a running rollout can be paused", ErrConflict, st.Spec.ID, st.State)
	}
	if reason == "" {
		reason = "paused by an operator"
	}
	st.State, st.Reason = StatePaused, reason
	return st, nil
}

// Resume restarts a paused rollout: paused → running. Every failure known
// now is acknowledged: the operator has seen it, so it no longer pauses
// the rollout nor holds its cohort back.
func (st Status) Resume() (Status, error) {
	if st.State != StatePaused {
		return st, fmt.Errorf("%w: rollout %s is %s; only a paused rollout can be resumed", ErrConflict, st.Spec.ID, st.State)
	}
	st.State, st.Reason = StateRunning, ""
	st.Failures = maps.Clone(st.Failures)
	for k, f := range st.Failures {
		f.Acknowledged = true
		st.Failures[k] = f
	}
	return st, nil
}

// Abort ends a running or paused rollout for good: nothing more is
// assigned. Gateways already assigned carry on with the release.
func (st Status) Abort() (Status, error) {
	if st.State != StateRunning && st.State != StatePaused {
		return st, fmt.Errorf("%w: rollout %s is %s; only a running or paused rollout can be aborted", ErrConflict, st.Spec.ID, st.State)
	}
	st.State, st.Reason = StateAborted, ""
	return st, nil
}

// Cohort is ref's deterministic position in [0, 100), from the SHA-256 of
// "centre/gateway": ref belongs to the p % cohort when Cohort(ref) < p, so
// every gateway of the 5 % cohort is also in the 25 % one.
func Cohort(ref GatewayRef) float64 {
	sum := sha256.Sum256([]byte(ref.String()))
	u := binary.BigEndian.Uint64(sum[:8]) >> 11 // 53 bits: exact in a float64
	return math.Min(float64(u)/(1<<53)*100, math.Nextafter(100, 0))
}

package slots

import (
	"fmt"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/state"
)

// ended is what the supervisor decides after: its own start, or the end
// of a child.
type ended struct {
	start bool // the supervisor has just started; no child ran yet
	trial bool // the child ran the trial
	code  int  // its exit status; -1 when a signal ended it or it did not start
	// reason is why it ended, for people: the last line of its standard
	// error, or why it could not be started.
	reason   string
	timedOut bool // the supervisor stopped a trial that ran past TrialTimeout
}

// situation is what the rules need besides the state.
type situation struct {
	now         time.Time
	committed   string // the slot the committed symlink names
	boot        string // the current boot ID; "" when unknown
	maxAttempts int
	maxReArms   int
	// runnable reports why slot's binary cannot be started, or nil.
	runnable func(slot string) error
}

// plan is the decision: which slot to run next, and what to log.
type plan struct {
	slot  string
	trial bool
	// restart says the trial is started again after a crash (after
	// RestartDelay); a plan for the committed slot with restart set
	// follows a committed child's exit (with backoff).
	restart bool
	// point names the decision, for logs and for tests that kill the
	// supervisor at a chosen point.
	point  string
	reason string
}

// The decisions (plan.point).
const (
	pointStartTrial     = "start-trial"     // Ready → Trial: the switch
	pointReArm          = "rearm"           // a power cut during the trial
	pointRetryTrial     = "retry-trial"     // the trial crashed, or the supervisor died during it
	pointRollBack       = "rollback"        // the trial failed: back to the committed slot
	pointCommitted      = "run-committed"   // the committed slot, after a start or an exit
	pointCompleteCommit = "complete-commit" // Commit moved the link but was cut before the state
	pointRefuse         = "refuse-trial"    // Ready for a version that must not run
)

// decide applies the supervisor's rules to st after e, changing st as the
// decision requires; the caller persists st before acting on the plan.
//
//   - A trial whose slot is already the committed one was committed by a
//     Commit cut before it recorded the phase: complete it.
//   - Ready, at a start or after any exit of the child: start the trial
//     (Attempts and ReArms 0, the boot ID), unless the version must not
//     run (refused before, not above the floor, no binary): Failed.
//   - Trial at a start: another boot ID means a power cut, counted in
//     ReArms (beyond maxReArms: roll back); the same boot means the
//     supervisor died during the trial, counted in Attempts.
//   - Trial after the child's exit: ExitRollback or a trial timeout rolls
//     back at once; any other exit counts in Attempts; at maxAttempts,
//     roll back.
//   - Anything else: run the committed slot.
func decide(st *state.State, e ended, s situation) plan {
	committed := plan{slot: s.committed, point: pointCommitted, restart: !e.start}
	switch {
	case st.Phase == state.Trial && st.Slot == s.committed:
		completeCommit(st, s.now, fmt.Sprintf("version %s committed in slot %s (completed by the supervisor)", st.Version, st.Slot))
		committed.point, committed.restart = pointCompleteCommit, false
		committed.reason = "the trial had moved the committed link"
		return committed

	case st.Phase == state.Ready:
		if why := refusal(st, s); why != "" {
			st.Enter(s.now, state.Failed, truncate(why, maxDetail))
			committed.point, committed.reason = pointRefuse, why
			return committed
		}
		st.Attempts, st.ReArms, st.BootID, st.TrialStarted = 0, 0, s.boot, s.now.UTC()
		st.Enter(s.now, state.Trial, fmt.Sprintf("trial of version %s in slot %s", st.Version, st.Slot))
		return plan{slot: st.Slot, trial: true, point: pointStartTrial, reason: "the new version is ready"}

	case st.Phase == state.Trial && !validSlot(st.Slot):
		return rollBack(st, s, fmt.Sprintf("the trial names slot %q", st.Slot))

	case st.Phase == state.Trial && e.start:
		if s.boot != "" && st.BootID != "" && st.BootID != s.boot {
			st.ReArms++
			if st.ReArms > s.maxReArms {
				return rollBack(st, s, fmt.Sprintf("power was lost during %d trials", st.ReArms))
			}
			detail := fmt.Sprintf("trial re-armed after a power cut (%d of %d)", st.ReArms, s.maxReArms)
			st.BootID, st.TrialStarted = s.boot, s.now.UTC()
			st.Enter(s.now, state.Trial, detail)
			return plan{slot: st.Slot, trial: true, point: pointReArm, reason: detail}
		}
		return retry(st, s, "the supervisor restarted during the trial")

	case st.Phase == state.Trial && e.trial && e.code == ExitRollback:
		return rollBack(st, s, "the trial asked to roll back: "+childReason(st, e))

	case st.Phase == state.Trial && e.timedOut:
		return rollBack(st, s, "the trial did not commit in time")

	case st.Phase == state.Trial:
		return retry(st, s, describe(e))
	}
	return committed
}

// retry counts an attempt of the trial: at maxAttempts it rolls back,
// else the trial starts again.
func retry(st *state.State, s situation, why string) plan {
	st.Attempts++
	if st.Attempts >= s.maxAttempts {
		return rollBack(st, s, fmt.Sprintf("the trial failed %d times; last: %s", st.Attempts, why))
	}
	detail := fmt.Sprintf("trial attempt %d of %d failed: %s", st.Attempts, s.maxAttempts, why)
	st.BootID, st.TrialStarted = s.boot, s.now.UTC()
	st.Enter(s.now, state.Trial, truncate(detail, maxDetail))
	return plan{slot: st.Slot, trial: true, restart: true, point: pointRetryTrial, reason: detail}
}

// rollBack refuses the trial's version for good and runs the committed
// slot. The committed link never moved during the trial, so nothing is
// written but the state.
func rollBack(st *state.State, s situation, detail string) plan {
	if st.Version != "" && !st.Refuses(st.Version) {
		st.Refused = append(st.Refused, st.Version)
	}
	st.Enter(s.now, state.RolledBack, truncate(detail, maxDetail))
	return plan{slot: s.committed, point: pointRollBack, reason: detail}
}

// refusal says why the Ready version must not be tried, or "".
func refusal(st *state.State, s situation) string {
	switch {
	case !validSlot(st.Slot):
		return fmt.Sprintf("ready for slot %q, not a or b", st.Slot)
	case st.Slot == s.committed:
		return fmt.Sprintf("ready for slot %s, the committed one", st.Slot)
	case st.Version == "":
		return "ready without a version"
	case st.Refuses(st.Version):
		return fmt.Sprintf("version %s was rolled back here before", st.Version)
	case st.Floor != "" && release.CompareVersions(st.Version, st.Floor) <= 0:
		return fmt.Sprintf("version %s is not above the floor %s", st.Version, st.Floor)
	}
	if err := s.runnable(st.Slot); err != nil {
		return fmt.Sprintf("slot %s cannot run: %v", st.Slot, err)
	}
	return ""
}

// childReason is why the trial asked to roll back: the Detail it wrote
// into the state (the agent does, without a history entry of its own), or
// else the last line of its standard error.
func childReason(st *state.State, e ended) string {
	if n := len(st.History); n > 0 && st.Detail != "" && st.Detail != st.History[n-1].Detail {
		return st.Detail
	}
	if e.reason != "" {
		return e.reason
	}
	return "no reason given"
}

// describe says how a child ended.
func describe(e ended) string {
	s := fmt.Sprintf("exit status %d", e.code)
	if e.code < 0 {
		s = "killed or not started"
	}
	if e.reason != "" {
		s += ": " + e.reason
	}
	return s
}

// maxDetail bounds a detail written into the state (HQ's health message
// carries 200 bytes of it).
const maxDetail = 200

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 { // not inside a UTF-8 sequence
		n--
	}
	return s[:n]
}

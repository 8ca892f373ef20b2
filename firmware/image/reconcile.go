package image

import (
	"fmt"
	"time"

	"github.com/pkfreelance/seatgate/firmware/state"
)

// action is what Reconcile does once its decision is persisted.
type action int

const (
	actNone   action = iota
	actTrial         // this boot is the trial: the agent runs it
	actArm           // arm the trial again and reboot with "0 tryboot"
	actLeave         // disarm and reboot into the committed partition
	actDisarm        // disarm a trial left armed
)

var actionNames = [...]string{actNone: "none", actTrial: "trial", actArm: "arm", actLeave: "leave", actDisarm: "disarm"}

func (a action) String() string { return actionNames[a] }

// situation is what decide needs besides the state: this boot, as the
// bootloader left it, and autoboot.txt.
type situation struct {
	now         time.Time
	slots       [2]int // the two partitions
	committed   int    // the partition autoboot.txt boots without the tryboot flag
	armed       bool   // autoboot.txt's tryboot section names the other partition
	booted      int    // the partition this boot came from
	trying      bool   // this boot was made with the tryboot flag
	boot        string // the kernel's boot ID
	maxReArms   int
	maxAttempts int
}

func (s situation) partition(slot string) (int, bool) {
	for _, n := range s.slots {
		if fmt.Sprint(n) == slot {
			return n, true
		}
	}
	return 0, false
}

// Reconcile brings the state and the boot into agreement at the start of
// the gateway, before the agent runs, and reports whether this boot is
// the trial: then the agent runs the trial's health check
// (agent.Config.Trial) and calls Commit, or the daemon Rollback. See the
// package documentation for the rules. Each decision is written to the
// state before it is acted on; the actions are completing a commit,
// arming the trial again with a reboot ("0 tryboot"), going back to the
// committed partition with a reboot ("0"), and disarming. After one of
// the reboots, Rebooting reports true.
//
// Call it once per start: a second call in the same boot counts as a
// restart of the gateway during the trial. It reads the boot only when
// the state says a trial is on or was rolled back; an error leaves the
// state as it was, and the daemon should go on as if it were not the
// trial.
func (b *Backend) Reconcile(now time.Time) (trial bool, err error) {
	st, err := b.state.Load()
	if err != nil {
		return false, fmt.Errorf("reconcile firmware image: %w", err)
	}
	if st.Phase != state.Trial && st.Phase != state.RolledBack && st.Phase != state.Ready {
		return false, nil
	}
	var act action
	var after state.State
	after, err = b.state.Update(func(st *state.State) error {
		s, err := b.situation(now)
		if err != nil {
			return err
		}
		act = decide(st, s)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("reconcile firmware image: %w", err)
	}
	if act != actNone {
		b.log.Info("firmware: reconciled at start", "action", act.String(), "phase", after.Phase,
			"version", after.Version, "partition", after.Slot, "attempts", after.Attempts, "rearms", after.ReArms, "detail", after.Detail)
		b.at(pointReconciled + act.String())
	}
	switch act {
	case actTrial:
		return true, nil
	case actArm:
		if err := b.tb.StartTrial(); err != nil {
			return false, fmt.Errorf("reconcile firmware image: re-arm the trial of %s: %w", after.Version, err)
		}
		b.rebooting.Store(true)
	case actLeave:
		if err := b.leave(); err != nil {
			return false, fmt.Errorf("reconcile firmware image: %w", err)
		}
	case actDisarm:
		if err := b.tb.Disarm(); err != nil {
			return false, fmt.Errorf("reconcile firmware image: %w", err)
		}
	}
	return false, nil
}

// situation reads this boot and autoboot.txt (as Open read it).
func (b *Backend) situation(now time.Time) (situation, error) {
	s := situation{now: now, committed: b.tb.Committed(), maxReArms: b.c.MaxReArms, maxAttempts: b.c.MaxAttempts}
	i := 0
	for n := range b.c.Tryboot.Partitions {
		s.slots[i] = n
		i++
	}
	if s.slots[0] > s.slots[1] {
		s.slots[0], s.slots[1] = s.slots[1], s.slots[0]
	}
	_, s.armed = b.tb.Armed()
	var err error
	if s.trying, err = b.tb.Trying(); err != nil {
		return s, err
	}
	if s.booted, err = b.tb.Booted(); err != nil {
		return s, err
	}
	if s.boot, err = state.BootID(b.c.BootIDPath); err != nil {
		return s, err
	}
	return s, nil
}

// decide applies Reconcile's rules to st in situation s, changing st as
// the decision requires; the caller persists st before acting.
//
//   - Ready: backend B never leaves it on disk (RequestTrial records Ready
//     and Trial at once), so it is another backend's: Failed.
//   - RolledBack, booted from the uncommitted partition: a rollback was
//     cut before its reboot; leave the partition. Only once per boot (the
//     boot ID is recorded first): if that start dies too, the next one
//     only disarms, and the refused image runs until the next boot, which
//     is the committed partition's, rather than the gateway restarting
//     for ever. Otherwise, disarm a trial left armed.
//   - Trial naming no partition of this system: roll back.
//   - Trial whose partition autoboot.txt commits: complete the commit.
//   - Trial, booted from its partition with the tryboot flag: the trial.
//     The first start in a boot records the boot ID; another start in the
//     same boot counts in Attempts, and at maxAttempts rolls back.
//   - Trial, booted from its partition without the flag (the bootloader
//     did not make a trial boot, yet runs an uncommitted image): roll
//     back.
//   - Trial, booted from the committed partition: the trial boot did not
//     happen or was cut. ReArms counts it: up to maxReArms arm again,
//     beyond roll back.
//   - Anything else: nothing.
func decide(st *state.State, s situation) action {
	switch st.Phase {
	case state.Ready:
		st.Enter(s.now, state.Failed, truncate(fmt.Sprintf("found ready for slot %q, which the tryboot backend never leaves; assign the release again", st.Slot), maxDetail))
		return actNone
	case state.RolledBack:
		switch {
		case s.booted != s.committed && st.BootID != s.boot:
			st.BootID = s.boot // once per boot: see decide's documentation
			return actLeave
		case s.armed:
			return actDisarm
		}
		return actNone
	case state.Trial:
	default:
		return actNone
	}
	slot, ok := s.partition(st.Slot)
	switch {
	case !ok:
		rollBack(st, s.now, fmt.Sprintf("the trial names partition %q, not %d or %d", st.Slot, s.slots[0], s.slots[1]))
		if s.booted != s.committed {
			return actLeave
		}
		return actDisarm

	case slot == s.committed:
		completeCommit(st, s.now, fmt.Sprintf("version %s committed in partition %d (completed at start)", st.Version, slot))
		return actNone

	case s.booted == slot && s.trying:
		if st.BootID != s.boot {
			st.BootID, st.TrialStarted = s.boot, s.now.UTC()
			st.Enter(s.now, state.Trial, fmt.Sprintf("version %s booted on trial from partition %d", st.Version, slot))
			return actTrial
		}
		st.Attempts++
		if st.Attempts >= s.maxAttempts {
			rollBack(st, s.now, fmt.Sprintf("the gateway restarted %d times during the trial", st.Attempts))
			return actLeave
		}
		st.TrialStarted = s.now.UTC()
		st.Enter(s.now, state.Trial, fmt.Sprintf("trial attempt %d of %d failed: the gateway restarted during the trial", st.Attempts, s.maxAttempts))
		return actTrial

	case s.booted == slot:
		rollBack(st, s.now, fmt.Sprintf("partition %d booted without the tryboot flag although it is not committed", slot))
		return actLeave
	}
	// Booted from the committed partition.
	st.ReArms++
	if st.ReArms > s.maxReArms {
		rollBack(st, s.now, fmt.Sprintf("trial interrupted %d times (power cut, crash or watchdog reset)", st.ReArms))
		return actDisarm
	}
	st.BootID, st.TrialStarted = s.boot, s.now.UTC()
	st.Enter(s.now, state.Trial, fmt.Sprintf("trial re-armed after an interrupted trial boot (%d of %d)", st.ReArms, s.maxReArms))
	return actArm
}

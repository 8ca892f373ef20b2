package slots

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/state"
)

var d0 = time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)

func sit(committed, boot string) situation {
	return situation{now: d0, committed: committed, boot: boot, maxAttempts: 3, maxReArms: 3,
		runnable: func(string) error { return nil }}
}

// readyState is version 2 ready in slot b, version 1 committed in a.
func readyState() state.State {
	st := state.State{Version: "2", Slot: "b", Floor: "1", From: "1"}
	st.Enter(d0, state.Ready, "verified")
	return st
}

func trialState(attempts, rearms int, boot string) state.State {
	st := readyState()
	st.Attempts, st.ReArms, st.BootID = attempts, rearms, boot
	st.Enter(d0, state.Trial, "trial")
	return st
}

// TestDecide is the supervisor's rule book, one row per rule.
func TestDecide(t *testing.T) {
	crash := ended{trial: true, code: 2, reason: "panic: boom"}
	for _, tt := range []struct {
		name   string
		st     state.State
		e      ended
		s      situation
		want   plan // slot, trial, restart, point
		phase  state.Phase
		detail string // part of the new Detail
		check  func(t *testing.T, st state.State)
	}{
		{name: "idle start runs the committed slot", st: state.State{Phase: state.Idle}, e: ended{start: true}, s: sit("a", "boot1"),
			want: plan{slot: "a", point: pointCommitted}, phase: state.Idle},
		{name: "committed child exit restarts it", st: state.State{Phase: state.Committed}, e: ended{code: 1}, s: sit("b", "boot1"),
			want: plan{slot: "b", restart: true, point: pointCommitted}, phase: state.Committed},
		{name: "ExitUpdate without Ready is a normal exit", st: state.State{Phase: state.Downloading, Slot: "b", Version: "2"}, e: ended{code: ExitUpdate}, s: sit("a", "boot1"),
			want: plan{slot: "a", restart: true, point: pointCommitted}, phase: state.Downloading},
		{name: "Ready at start starts the trial", st: readyState(), e: ended{start: true}, s: sit("a", "boot1"),
			want: plan{slot: "b", trial: true, point: pointStartTrial}, phase: state.Trial,
			check: func(t *testing.T, st state.State) {
				if st.Attempts != 0 || st.ReArms != 0 || st.BootID != "boot1" || !st.TrialStarted.Equal(d0) {
					t.Errorf("trial state: got attempts %d rearms %d boot %q started %v", st.Attempts, st.ReArms, st.BootID, st.TrialStarted)
				}
			}},
		{name: "ExitUpdate with Ready starts the trial", st: readyState(), e: ended{code: ExitUpdate}, s: sit("a", "boot1"),
			want: plan{slot: "b", trial: true, point: pointStartTrial}, phase: state.Trial},
		{name: "Ready resets old counters", st: func() state.State { st := readyState(); st.Attempts, st.ReArms = 2, 3; return st }(),
			e: ended{start: true}, s: sit("a", "boot1"), want: plan{slot: "b", trial: true, point: pointStartTrial}, phase: state.Trial,
			check: func(t *testing.T, st state.State) {
				if st.Attempts != 0 || st.ReArms != 0 {
					t.Errorf("counters not reset: attempts %d rearms %d", st.Attempts, st.ReArms)
				}
			}},
		{name: "Ready for a refused version fails", st: func() state.State { st := readyState(); st.Refused = []string{"2"}; return st }(),
			e: ended{start: true}, s: sit("a", "boot1"), want: plan{slot: "a", point: pointRefuse}, phase: state.Failed, detail: "rolled back here before"},
		{name: "Ready not above the floor fails", st: func() state.State { st := readyState(); st.Floor = "2"; return st }(),
			e: ended{start: true}, s: sit("a", "boot1"), want: plan{slot: "a", point: pointRefuse}, phase: state.Failed, detail: "floor"},
		{name: "Ready for the committed slot fails", st: readyState(), e: ended{start: true}, s: sit("b", "boot1"),
			want: plan{slot: "b", point: pointRefuse}, phase: state.Failed, detail: "committed one"},
		{name: "Ready for an unknown slot fails", st: func() state.State { st := readyState(); st.Slot = "../x"; return st }(),
			e: ended{start: true}, s: sit("a", "boot1"), want: plan{slot: "a", point: pointRefuse}, phase: state.Failed, detail: "not a or b"},
		{name: "Ready without a binary fails", st: readyState(), e: ended{start: true},
			s: func() situation {
				s := sit("a", "boot1")
				s.runnable = func(string) error { return fmt.Errorf("no such file") }
				return s
			}(), want: plan{slot: "a", point: pointRefuse}, phase: state.Failed, detail: "no such file"},
		{name: "trial at start, other boot: re-armed, not an attempt", st: trialState(1, 0, "boot1"), e: ended{start: true}, s: sit("a", "boot2"),
			want: plan{slot: "b", trial: true, point: pointReArm}, phase: state.Trial, detail: "re-armed",
			check: func(t *testing.T, st state.State) {
				if st.ReArms != 1 || st.Attempts != 1 || st.BootID != "boot2" {
					t.Errorf("got rearms %d attempts %d boot %q, want 1, 1, boot2", st.ReArms, st.Attempts, st.BootID)
				}
			}},
		{name: "trial at start, other boot, re-arms spent: rolled back", st: trialState(0, 3, "boot1"), e: ended{start: true}, s: sit("a", "boot2"),
			want: plan{slot: "a", point: pointRollBack}, phase: state.RolledBack, detail: "power was lost during 4 trials"},
		{name: "trial at start, same boot: an attempt", st: trialState(0, 0, "boot1"), e: ended{start: true}, s: sit("a", "boot1"),
			want: plan{slot: "b", trial: true, restart: true, point: pointRetryTrial}, phase: state.Trial, detail: "supervisor restarted",
			check: func(t *testing.T, st state.State) {
				if st.Attempts != 1 || st.ReArms != 0 {
					t.Errorf("got attempts %d rearms %d, want 1, 0", st.Attempts, st.ReArms)
				}
			}},
		{name: "trial at start, boot unknown now: an attempt", st: trialState(0, 0, "boot1"), e: ended{start: true}, s: sit("a", ""),
			want: plan{slot: "b", trial: true, restart: true, point: pointRetryTrial}, phase: state.Trial},
		{name: "trial at start, boot unknown then: an attempt", st: trialState(0, 0, ""), e: ended{start: true}, s: sit("a", "boot2"),
			want: plan{slot: "b", trial: true, restart: true, point: pointRetryTrial}, phase: state.Trial},
		{name: "trial at start, same boot, third attempt: rolled back", st: trialState(2, 0, "boot1"), e: ended{start: true}, s: sit("a", "boot1"),
			want: plan{slot: "a", point: pointRollBack}, phase: state.RolledBack, detail: "failed 3 times"},
		{name: "trial crash: an attempt", st: trialState(0, 0, "boot1"), e: crash, s: sit("a", "boot1"),
			want: plan{slot: "b", trial: true, restart: true, point: pointRetryTrial}, phase: state.Trial, detail: "exit status 2: panic: boom"},
		{name: "third trial crash: rolled back", st: trialState(2, 1, "boot1"), e: crash, s: sit("a", "boot1"),
			want: plan{slot: "a", point: pointRollBack}, phase: state.RolledBack, detail: "failed 3 times; last: exit status 2: panic: boom",
			check: func(t *testing.T, st state.State) {
				if !st.Refuses("2") || st.Attempts != 3 {
					t.Errorf("got refused %v attempts %d, want 2 refused after 3 attempts", st.Refused, st.Attempts)
				}
			}},
		{name: "trial killed by a signal: an attempt", st: trialState(0, 0, "boot1"), e: ended{trial: true, code: -1, reason: "signal: killed"}, s: sit("a", "boot1"),
			want: plan{slot: "b", trial: true, restart: true, point: pointRetryTrial}, phase: state.Trial, detail: "killed"},
		{name: "ExitRollback: rolled back at once with stderr's reason", st: trialState(0, 0, "boot1"),
			e: ended{trial: true, code: ExitRollback, reason: "health: 2 of 5 desks"}, s: sit("a", "boot1"),
			want: plan{slot: "a", point: pointRollBack}, phase: state.RolledBack, detail: "asked to roll back: health: 2 of 5 desks"},
		{name: "ExitRollback: the reason the child wrote into the state wins", st: func() state.State {
			st := trialState(0, 0, "boot1")
			st.Detail = "health failed on trial: database"
			return st
		}(), e: ended{trial: true, code: ExitRollback, reason: "last line"}, s: sit("a", "boot1"),
			want: plan{slot: "a", point: pointRollBack}, phase: state.RolledBack, detail: "asked to roll back: health failed on trial: database"},
		{name: "trial timed out: rolled back", st: trialState(0, 0, "boot1"), e: ended{trial: true, code: -1, timedOut: true}, s: sit("a", "boot1"),
			want: plan{slot: "a", point: pointRollBack}, phase: state.RolledBack, detail: "did not commit in time"},
		{name: "trial committed while running: restart the committed slot", st: func() state.State {
			st := trialState(0, 0, "boot1")
			completeCommit(&st, d0, "committed")
			return st
		}(), e: ended{trial: true, code: 0}, s: sit("b", "boot1"),
			want: plan{slot: "b", restart: true, point: pointCommitted}, phase: state.Committed},
		{name: "link moved but phase still trial: the commit is completed", st: trialState(1, 1, "boot1"), e: ended{start: true}, s: sit("b", "boot2"),
			want: plan{slot: "b", point: pointCompleteCommit}, phase: state.Committed,
			check: func(t *testing.T, st state.State) {
				if st.Floor != "2" || st.Refuses("2") {
					t.Errorf("got floor %q refused %v, want floor 2 and nothing refused", st.Floor, st.Refused)
				}
			}},
		{name: "trial naming no valid slot: rolled back", st: func() state.State { st := trialState(0, 0, "boot1"); st.Slot = ""; return st }(),
			e: ended{start: true}, s: sit("a", "boot1"), want: plan{slot: "a", point: pointRollBack}, phase: state.RolledBack},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.st
			seq := st.NextSeq
			got := decide(&st, tt.e, tt.s)
			got.reason = ""
			if got != tt.want {
				t.Errorf("plan: got %+v, want %+v", got, tt.want)
			}
			if st.Phase != tt.phase {
				t.Errorf("phase: got %s, want %s", st.Phase, tt.phase)
			}
			if !strings.Contains(st.Detail, tt.detail) {
				t.Errorf("detail: got %q, want it to contain %q", st.Detail, tt.detail)
			}
			if st.Phase != tt.st.Phase || st.Phase == state.Trial {
				if st.NextSeq != seq+1 || st.History[len(st.History)-1].Detail != st.Detail {
					t.Errorf("a transition without its history entry: next_seq %d → %d", seq, st.NextSeq)
				}
			} else if st.NextSeq != seq {
				t.Errorf("history entry added without a transition: %+v", st.History[len(st.History)-1])
			}
			if tt.check != nil {
				tt.check(t, st)
			}
		})
	}
}

// TestDecideBounded drives decide through random sequences of what can
// happen to a supervisor and its trial (crashes, rollback requests,
// commits, commits cut halfway, the supervisor killed before or after it
// started the child, power cuts) and checks the loop breaker: every
// sequence ends in Committed or RolledBack, the trial is started at most
// maxAttempts+maxReArms times, and never again afterwards.
func TestDecideBounded(t *testing.T) {
	const runs = 20000
	rng := rand.New(rand.NewPCG(1, 2))
	ends := map[state.Phase]int{}
	for run := range runs {
		s := sit("a", "boot0")
		st := readyState()
		e := ended{start: true}
		starts, boots, steps := 0, 0, 0
		for ; steps < 1000; steps++ {
			p := decide(&st, e, s)
			if st.Phase.Final() && st.Phase != state.Committed && st.Phase != state.RolledBack {
				t.Fatalf("run %d: ended in %s (%s)", run, st.Phase, st.Detail)
			}
			if st.Phase.Final() && p.trial {
				t.Fatalf("run %d: a trial started in phase %s", run, st.Phase)
			}
			if st.Phase.Final() && steps > 0 && rng.IntN(8) == 0 {
				break // keep going a little after the end
			}
			switch r := rng.IntN(10); {
			case r == 0: // the supervisor is killed before it acts
				e = ended{start: true}
				continue
			case r == 1: // power cut before it acts
				boots++
				s.boot = fmt.Sprintf("boot%d", boots)
				e = ended{start: true}
				continue
			}
			if p.trial {
				starts++
			}
			switch r := rng.IntN(12); {
			case r <= 2:
				e = ended{trial: p.trial, code: 2, reason: "panic"}
			case r == 3:
				e = ended{trial: p.trial, code: ExitRollback}
			case r == 4:
				e = ended{start: true} // the supervisor is killed with its child
			case r == 5:
				boots++
				s.boot = fmt.Sprintf("boot%d", boots)
				e = ended{start: true}
			case r == 6 && p.trial && st.Phase == state.Trial: // Commit
				s.committed = st.Slot
				completeCommit(&st, d0, "committed")
				e = ended{trial: true, code: 0}
			case r == 7 && p.trial && st.Phase == state.Trial: // Commit cut after the link moved
				s.committed = st.Slot
				e = ended{start: true}
			case r == 8:
				e = ended{trial: p.trial, code: -1, timedOut: p.trial && rng.IntN(4) == 0}
			default:
				e = ended{trial: p.trial, code: ExitUpdate}
			}
		}
		if st.Phase != state.Committed && st.Phase != state.RolledBack {
			t.Fatalf("run %d: still in %s after %d steps", run, st.Phase, steps)
		}
		if starts > s.maxAttempts+s.maxReArms {
			t.Fatalf("run %d: the trial started %d times, bound %d", run, starts, s.maxAttempts+s.maxReArms)
		}
		if st.Phase == state.RolledBack && (!st.Refuses("2") || s.committed != "a") {
			t.Fatalf("run %d: rolled back with refused %v and slot %s committed", run, st.Refused, s.committed)
		}
		if st.Phase == state.Committed && (st.Floor != "2" || s.committed != "b") {
			t.Fatalf("run %d: committed with floor %q and slot %s committed", run, st.Floor, s.committed)
		}
		ends[st.Phase]++
	}
	if ends[state.Committed] == 0 || ends[state.RolledBack] == 0 {
		t.Errorf("the random runs ended %v; want both outcomes covered", ends)
	}
}

func TestTruncate(t *testing.T) {
	for _, tt := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"}, // é is 2 bytes: not cut inside it
		{"", 0, ""},
	} {
		if got := truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestLastLine(t *testing.T) {
	var out strings.Builder
	l := &lastLine{w: &out}
	for _, p := range []string{"first\nsec", "ond\n\n  \n", "third partial"} {
		if n, err := l.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write: %d, %v", n, err)
		}
	}
	if got := l.last(); got != "third partial" {
		t.Errorf("last with a partial line: got %q", got)
	}
	l.Write([]byte("\n"))
	if got := l.last(); got != "third partial" {
		t.Errorf("last after blank lines: got %q", got)
	}
	if out.String() != "first\nsecond\n\n  \nthird partial\n" {
		t.Errorf("passed on: %q", out.String())
	}
	l.Write([]byte(strings.Repeat("x", 3*maxLine) + "\n"))
	if got := l.last(); len(got) != maxLine {
		t.Errorf("a long line kept %d bytes, want %d", len(got), maxLine)
	}
}

package image

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/state"
)

// on is the situation of a boot: from partition booted, with the tryboot
// flag or not, autoboot.txt committing partition 2 and armed or not.
func on(booted int, trying, armed bool, boot string) situation {
	return situation{now: time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC), slots: [2]int{2, 3}, committed: 2,
		armed: armed, booted: booted, trying: trying, boot: boot, maxReArms: 3, maxAttempts: 3}
}

func TestDecide(t *testing.T) {
	trial := func(edit func(*state.State)) state.State {
		st := state.State{Phase: state.Trial, Version: "1.1.0", Slot: "3", BootID: "old", Floor: "1.0.0"}
		if edit != nil {
			edit(&st)
		}
		return st
	}
	committed := on(3, false, false, "b2")
	committed.committed = 3
	tests := []struct {
		name   string
		st     state.State
		s      situation
		want   action
		phase  state.Phase
		check  func(state.State) string // "" when right
		detail string                   // part of the new detail
	}{
		{"the trial boot", trial(nil), on(3, true, true, "b2"), actTrial, state.Trial,
			func(st state.State) string {
				return want(st.BootID == "b2" && st.Attempts == 0, "boot ID recorded, no attempt")
			},
			"booted on trial"},
		{"a restart in the trial boot", trial(func(st *state.State) { st.BootID = "b2" }), on(3, true, true, "b2"), actTrial, state.Trial,
			func(st state.State) string { return want(st.Attempts == 1, "attempt 1") }, "attempt 1 of 3"},
		{"the last restart in the trial boot", trial(func(st *state.State) { st.BootID, st.Attempts = "b2", 2 }), on(3, true, true, "b2"), actLeave, state.RolledBack,
			func(st state.State) string {
				return want(st.Refuses("1.1.0") && st.BootID == "", "refused, boot ID cleared")
			}, "restarted 3 times"},
		{"a cut trial", trial(nil), on(2, false, true, "b2"), actArm, state.Trial,
			func(st state.State) string {
				return want(st.ReArms == 1 && st.BootID == "b2", "re-arm 1 from this boot")
			}, "re-armed"},
		{"a trial never armed", trial(nil), on(2, false, false, "b2"), actArm, state.Trial,
			func(st state.State) string { return want(st.ReArms == 1, "re-arm 1") }, "re-armed"},
		{"a tryboot boot with nothing armed", trial(nil), on(2, true, false, "b2"), actArm, state.Trial,
			func(st state.State) string { return want(st.ReArms == 1, "re-arm 1") }, "re-armed"},
		{"a restart before the trial's reboot", trial(func(st *state.State) { st.BootID = "b1" }), on(2, false, true, "b1"), actArm, state.Trial,
			func(st state.State) string { return want(st.ReArms == 1, "re-arm 1") }, "re-armed"},
		{"the last cut trial", trial(func(st *state.State) { st.ReArms = 3 }), on(2, false, true, "b2"), actDisarm, state.RolledBack,
			func(st state.State) string { return want(st.Refuses("1.1.0") && st.ReArms == 4, "refused after 4") }, "interrupted 4 times"},
		{"a commit cut before the state", trial(nil), committed, actNone, state.Committed,
			func(st state.State) string { return want(st.Floor == "1.1.0", "floor raised") }, "completed at start"},
		{"the trial's partition without the flag", trial(nil), on(3, false, true, "b2"), actLeave, state.RolledBack,
			func(st state.State) string { return want(st.Refuses("1.1.0"), "refused") }, "without the tryboot flag"},
		{"a trial of another backend's slot", trial(func(st *state.State) { st.Slot = "b" }), on(2, false, false, "b2"), actDisarm, state.RolledBack,
			nil, `partition "b"`},
		{"a trial of no slot, in the other partition", trial(func(st *state.State) { st.Slot = "" }), on(3, true, true, "b2"), actLeave, state.RolledBack,
			nil, `partition ""`},
		{"ready, of another backend", state.State{Phase: state.Ready, Version: "1.1.0", Slot: "b"}, on(2, false, false, "b2"), actNone, state.Failed,
			nil, "assign the release again"},
		{"a rollback cut before its reboot", state.State{Phase: state.RolledBack, Version: "1.1.0", Slot: "3"}, on(3, true, false, "b2"), actLeave, state.RolledBack,
			func(st state.State) string { return want(st.BootID == "b2", "this boot recorded") }, ""},
		{"a rollback whose reboot died again", state.State{Phase: state.RolledBack, Slot: "3", BootID: "b2"}, on(3, true, true, "b2"), actDisarm, state.RolledBack,
			nil, ""},
		{"a rollback that left the trial armed", state.State{Phase: state.RolledBack, Slot: "3"}, on(2, false, true, "b2"), actDisarm, state.RolledBack,
			nil, ""},
		{"rolled back, done", state.State{Phase: state.RolledBack, Slot: "3"}, on(2, false, false, "b2"), actNone, state.RolledBack,
			nil, ""},
		{"committed", state.State{Phase: state.Committed, Slot: "3"}, on(2, true, true, "b2"), actNone, state.Committed,
			nil, ""},
		{"downloading", state.State{Phase: state.Downloading, Slot: "3"}, on(3, true, true, "b2"), actNone, state.Downloading,
			nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.st
			st.History = slices.Clone(st.History)
			before := len(st.History)
			got := decide(&st, tt.s)
			if got != tt.want || st.Phase != tt.phase {
				t.Errorf("got %s, phase %s; want %s, %s", got, st.Phase, tt.want, tt.phase)
			}
			if tt.check != nil {
				if msg := tt.check(st); msg != "" {
					t.Errorf("state %+v: want %s", st, msg)
				}
			}
			if tt.detail != "" && (len(st.History) != before+1 || !strings.Contains(st.Detail, tt.detail)) {
				t.Errorf("detail %q, %d new entries; want one entry saying %q", st.Detail, len(st.History)-before, tt.detail)
			}
			if tt.detail == "" && len(st.History) != before {
				t.Errorf("%d new history entries, want none", len(st.History)-before)
			}
		})
	}
}

// want returns "" when ok, else what was wanted.
func want(ok bool, what string) string {
	if ok {
		return ""
	}
	return what
}

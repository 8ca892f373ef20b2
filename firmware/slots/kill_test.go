package slots_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/slots"
	"github.com/pkfreelance/seatgate/firmware/state"
)

// These tests run the supervisor as a real process (the test binary,
// helperSupervisor) in its own process group, and SIGKILL the group: what
// systemd does to a crashed unit, and, with a new boot ID, a power cut.

// TestKillDuringTheSwitch: the supervisor dies after it recorded the
// trial and before it started the new version. Restarted in the same
// boot, it counts an attempt and tries again; after a power cut instead,
// it re-arms. Either way the trial then commits.
func TestKillDuringTheSwitch(t *testing.T) {
	for _, powerCut := range []bool{false, true} {
		t.Run(fmt.Sprintf("power cut %v", powerCut), func(t *testing.T) {
			f := newFixture(t)
			f.download(behaviour{Version: "2", Mode: "commit", AfterMS: 20})
			f.behave("a", behaviour{Version: "1", Mode: "update"})
			f.waitKilled(f.startProcess(slots.PointStartTrial))
			st := f.state()
			if st.Phase != state.Trial || st.Attempts != 0 || f.trialStarts("2") != 0 {
				t.Fatalf("after the kill: %+v, %d trial starts; want the trial recorded and not started", st, f.trialStarts("2"))
			}
			if powerCut {
				f.newBoot()
			}
			p := f.startProcess("")
			st = f.waitPhase(state.Committed)
			p.kill()
			wantAttempts, wantReArms := 1, 0
			if powerCut {
				wantAttempts, wantReArms = 0, 1
			}
			if st.Attempts != wantAttempts || st.ReArms != wantReArms || f.committed() != "b" || st.Floor != "2" {
				t.Errorf("after the restart: attempts %d rearms %d link %s floor %s; want %d, %d, b, 2",
					st.Attempts, st.ReArms, f.committed(), st.Floor, wantAttempts, wantReArms)
			}
			if n := f.trialStarts("2"); n != 1 {
				t.Errorf("version 2 started %d times on trial, want 1", n)
			}
		})
	}
}

// TestPowerCutDuringTrialReArms: a power cut while the trial runs does
// not count as a failed attempt; the trial runs again and commits.
func TestPowerCutDuringTrialReArms(t *testing.T) {
	f := newFixture(t)
	f.stage(behaviour{Version: "2", Mode: "run"})
	p := f.startProcess("")
	f.waitFor("the trial to start", func() bool { return f.trialStarts("2") == 1 })
	f.powerCut(p)
	f.behave("b", behaviour{Version: "2", Mode: "commit", AfterMS: 20})
	p = f.startProcess("")
	st := f.waitPhase(state.Committed)
	p.kill()
	if st.ReArms != 1 || st.Attempts != 0 || f.committed() != "b" {
		t.Errorf("after the power cut and the commit: %+v; want rearms 1, attempts 0, b committed", st)
	}
	found := false
	for _, e := range st.History {
		found = found || strings.Contains(e.Detail, "re-armed after a power cut (1 of 3)")
	}
	if !found {
		t.Errorf("no re-arm in the history: %+v", st.History)
	}
	if n := f.trialStarts("2"); n != 2 {
		t.Errorf("version 2 started %d times on trial, want 2", n)
	}
}

// TestRepeatedPowerCutsRollBack: a trial cut by power MaxReArms+1 times
// is rolled back; the committed version runs.
func TestRepeatedPowerCutsRollBack(t *testing.T) {
	f := newFixture(t)
	f.stage(behaviour{Version: "2", Mode: "run"})
	for i := 1; i <= slots.DefaultMaxReArms+1; i++ {
		p := f.startProcess("")
		f.waitFor(fmt.Sprintf("trial start %d", i), func() bool { return f.trialStarts("2") == i })
		f.powerCut(p)
	}
	p := f.startProcess("")
	st := f.waitPhase(state.RolledBack)
	f.waitFor("version 1 to run", func() bool { s := f.starts(); return s[len(s)-1].version == "1" })
	p.kill()
	if st.ReArms != slots.DefaultMaxReArms+1 || st.Attempts != 0 || !st.Refuses("2") || f.committed() != "a" {
		t.Errorf("after %d power cuts: %+v; want rolled back, 2 refused, a committed", slots.DefaultMaxReArms+1, st)
	}
	if n := f.trialStarts("2"); n != slots.DefaultMaxReArms+1 {
		t.Errorf("version 2 started %d times on trial, want %d", n, slots.DefaultMaxReArms+1)
	}
}

// TestKilledAtRandomEnds is the loop breaker under fire: the supervisor
// and its child are SIGKILLed at random instants, half of the time with a
// power cut, again and again. Whatever the trial does, the update ends in
// Committed or RolledBack, and the new version is started on trial at
// most MaxAttempts+MaxReArms times (starts.log and the state's history
// agree), and never again once rolled back.
func TestKilledAtRandomEnds(t *testing.T) {
	bound := slots.DefaultMaxAttempts + slots.DefaultMaxReArms
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 4))
	for _, mode := range []string{"run", "crash", "commit", "rollback"} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t)
			f.download(behaviour{Version: "2", Mode: mode, AfterMS: rng.IntN(300), Reason: "health: failing"})
			f.behave("a", behaviour{Version: "1", Mode: "update"})
			kills := 0
			for ; ; kills++ {
				if kills == 200 {
					t.Fatalf("still %s after %d kills", f.state().Phase, kills)
				}
				st := f.state()
				if st.Phase == state.Committed || st.Phase == state.RolledBack {
					break
				}
				p := f.startProcess("")
				time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond) // a random instant, not a synchronisation
				if rng.IntN(2) == 0 {
					f.powerCut(p)
				} else {
					p.kill()
				}
			}
			st := f.state()
			trials := 0
			for _, e := range st.History {
				if e.Phase == state.Trial && e.Version == "2" {
					trials++
				}
			}
			starts := f.trialStarts("2")
			t.Logf("mode %s: %s after %d kills, %d trial starts, %d trial entries, attempts %d, rearms %d",
				mode, st.Phase, kills, starts, trials, st.Attempts, st.ReArms)
			if starts > bound || trials > bound || starts > trials {
				t.Errorf("version 2: %d trial starts, %d trial entries; want at most %d, and no start without its entry", starts, trials, bound)
			}
			switch st.Phase {
			case state.RolledBack:
				if !st.Refuses("2") || f.committed() != "a" {
					t.Errorf("rolled back: refused %v, link %s", st.Refused, f.committed())
				}
			case state.Committed:
				if st.Floor != "2" || f.committed() != "b" {
					t.Errorf("committed: floor %q, link %s", st.Floor, f.committed())
				}
			}
			if mode != "commit" && st.Phase != state.RolledBack {
				t.Errorf("a version in mode %s ended %s, want rolled back", mode, st.Phase)
			}
			// Once more, undisturbed: the committed version runs, and the
			// new one is never tried again.
			before := len(f.starts())
			p := f.startProcess("")
			f.waitFor("the committed version", func() bool { s := f.starts(); return len(s) > before })
			p.kill()
			if got := f.starts()[before]; got.trial != "0" {
				t.Errorf("after the end: got %+v, want the committed version", got)
			}
			if n := f.trialStarts("2"); n != starts {
				t.Errorf("version 2 was tried again after the end (%d trial starts, then %d)", starts, n)
			}
		})
	}
}

package desk

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

const s = time.Second

func TestPatternTimelines(t *testing.T) {
	tests := []struct {
		pattern Pattern
		want    timelines
	}{
		{CheckedIn, timelines{
			green:  "0s:H 1.5s:L",
			buzzer: "0s:H 100ms:L",
		}},
		{CheckedOut, timelines{
			green:  "0s:H 300ms:L 500ms:H 800ms:L",
			buzzer: "0s:H 100ms:L 500ms:H 600ms:L",
		}},
		{Moved, timelines{
			green:  "0s:H 1.5s:L",
			red:    "500ms:H 1s:L",
			buzzer: "0s:H 100ms:L",
		}},
		{RefusedUnknown, timelines{
			red:    "0s:H 2s:L",
			buzzer: "0s:H 800ms:L",
		}},
		{RefusedExpired, timelines{
			green:  "400ms:H 800ms:L 1.2s:H 1.6s:L",
			red:    "0s:H 2s:L",
			buzzer: "0s:H 800ms:L",
		}},
		{Refused, timelines{
			red:    "0s:H 800ms:L 1s:H 1.4s:L 1.6s:H 2s:L",
			buzzer: "0s:H 800ms:L",
		}},
		{PlanEnding, timelines{
			green:  "0s:H 2.5s:L",
			red:    "0s:H 2s:L",
			buzzer: "0s:H 100ms:L",
		}},
		{ReaderFault, timelines{
			red: "0s:H 1s:L 2s:H 3s:L 4s:H 5s:L",
		}},
		{Idle, timelines{}},
	}
	for _, tt := range tests {
		t.Run(string(tt.pattern), func(t *testing.T) {
			r := newRig(t)
			r.start()
			r.show(tt.pattern)
			if got := r.desk.State().Pattern; got != tt.pattern {
				t.Errorf("State().Pattern while playing = %q, want %q", got, tt.pattern)
			}
			r.advance(5 * s)
			r.checkTimelines(tt.want)
			want := Idle
			if tt.pattern.Repeats() {
				want = tt.pattern
			}
			if got := r.desk.State().Pattern; got != want {
				t.Errorf("State().Pattern after 5s = %q, want %q", got, want)
			}
		})
	}
}

// TestRunPlaysSteps checks the player against the tables themselves, so a
// new pattern is covered without editing TestPatternTimelines.
func TestRunPlaysSteps(t *testing.T) {
	for _, p := range Patterns() {
		t.Run(string(p), func(t *testing.T) {
			r := newRig(t)
			r.start()
			r.show(p)
			var elapsed time.Duration
			for i, st := range Steps(p) {
				got := r.desk.State()
				if got.Green != st.Green || got.Red != st.Red || got.Buzzer != st.Buzzer {
					t.Fatalf("step %d at %v: state G=%v R=%v B=%v, want %+v",
						i, elapsed, got.Green, got.Red, got.Buzzer, st)
				}
				r.advance(st.For)
				elapsed += st.For
			}
			got := r.desk.State()
			if p.Repeats() {
				if first := Steps(p)[0]; got.Green != first.Green || got.Red != first.Red {
					t.Errorf("after one cycle: state %+v, want the first step again", got)
				}
				return
			}
			if got.Green || got.Red || got.Buzzer || got.Pattern != Idle {
				t.Errorf("after the last step: state %+v, want all off and idle", got)
			}
		})
	}
}

func TestShowPreemptsRunningPattern(t *testing.T) {
	r := newRig(t)
	r.start()
	r.show(CheckedIn)
	r.at(500 * time.Millisecond)
	r.show(RefusedUnknown)
	if got := r.desk.State().Pattern; got != RefusedUnknown {
		t.Errorf("State().Pattern = %q, want %q", got, RefusedUnknown)
	}
	r.advance(5 * s)
	r.checkTimelines(timelines{
		green:  "0s:H 500ms:L",
		red:    "500ms:H 2.5s:L",
		buzzer: "0s:H 100ms:L 500ms:H 1.3s:L",
	})
}

func TestShowSamePatternRestartsIt(t *testing.T) {
	r := newRig(t)
	r.start()
	r.show(CheckedIn)
	r.at(1 * s)
	r.show(CheckedIn) // a second tap gets a fresh answer
	r.advance(5 * s)
	r.checkTimelines(timelines{
		green:  "0s:H 2.5s:L", // already on at 1s: not written again
		buzzer: "0s:H 100ms:L 1s:H 1.1s:L",
	})
}

func TestShowLatestWins(t *testing.T) {
	// Shows that arrive faster than Run takes them collapse to the last one.
	r := newRig(t)
	r.desk.Show(CheckedIn)
	r.desk.Show(Refused)
	r.desk.Show(Moved)
	n := r.count()
	r.start()            // Run settles once after switching everything off,
	r.waitSettled(n + 1) // then again after taking the pending pattern.
	if got := r.desk.State().Pattern; got != Moved {
		t.Errorf("State().Pattern = %q, want %q", got, Moved)
	}
}

func TestReaderFaultRepeatsUntilAnotherPattern(t *testing.T) {
	r := newRig(t)
	r.start()
	r.show(ReaderFault)
	r.at(2500 * time.Millisecond)
	r.show(ReaderFault) // reported again by the next scan: no restart
	r.at(3500 * time.Millisecond)
	r.show(CheckedIn)
	r.advance(10 * s)
	r.checkTimelines(timelines{
		green:  "3.5s:H 5s:L",
		red:    "0s:H 1s:L 2s:H 3s:L",
		buzzer: "3.5s:H 3.6s:L",
	})
	if n := r.clk.pending(); n != 0 {
		t.Errorf("%d timers still pending after the desk went idle, want 0", n)
	}
}

func TestReaderFaultStopsOnIdle(t *testing.T) {
	r := newRig(t)
	r.start()
	r.show(ReaderFault)
	r.at(1500 * time.Millisecond)
	r.show(ReaderFault)
	r.at(2500 * time.Millisecond)
	r.show(Idle)
	r.advance(10 * s)
	r.checkTimelines(timelines{red: "0s:H 1s:L 2s:H 2.5s:L"})
	if got := r.desk.State().Pattern; got != Idle {
		t.Errorf("State().Pattern = %q, want idle", got)
	}
}

func TestUnknownPatternShowsIdle(t *testing.T) {
	r := newRig(t)
	r.start()
	r.show(CheckedIn)
	r.at(200 * time.Millisecond)
	r.show(Pattern("disco"))
	r.advance(5 * s)
	r.checkTimelines(timelines{green: "0s:H 200ms:L", buzzer: "0s:H 100ms:L"})
	if got := r.desk.State().Pattern; got != Idle {
		t.Errorf("State().Pattern = %q, want idle", got)
	}
}

func TestRelay(t *testing.T) {
	tests := []struct {
		name  string
		hold  time.Duration
		shows map[time.Duration]Pattern
		want  string
	}{
		{"check-in holds the relay", 5 * s,
			map[time.Duration]Pattern{0: CheckedIn}, "0s:H 5s:L"},
		{"hold outlasts the pattern and a refusal", 5 * s,
			map[time.Duration]Pattern{0: CheckedIn, 1 * s: RefusedUnknown}, "0s:H 5s:L"},
		{"second check-in restarts the hold", 5 * s,
			map[time.Duration]Pattern{0: CheckedIn, 3 * s: CheckedIn}, "0s:H 8s:L"},
		{"moved switches the relay", 5 * s,
			map[time.Duration]Pattern{0: Moved}, "0s:H 5s:L"},
		{"plan ending switches the relay", 5 * s,
			map[time.Duration]Pattern{0: PlanEnding}, "0s:H 5s:L"},
		{"check-out switches it off at once", 5 * s,
			map[time.Duration]Pattern{0: CheckedIn, 2 * s: CheckedOut}, "0s:H 2s:L"},
		{"refusal alone never switches it", 5 * s,
			map[time.Duration]Pattern{0: Refused, 3 * s: RefusedExpired}, ""},
		{"zero hold never switches it", 0,
			map[time.Duration]Pattern{0: CheckedIn, 3 * s: CheckedOut}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, relayHold(tt.hold))
			r.start()
			for at := time.Duration(0); at <= 20*s; at += 500 * time.Millisecond {
				r.at(at)
				if p, ok := tt.shows[at]; ok {
					r.show(p)
				}
			}
			if got := r.relay.timeline(); got != tt.want {
				t.Errorf("relay timeline = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRunLeavesOutputsOff(t *testing.T) {
	r := newRig(t, relayHold(10*s))
	r.start()
	r.show(PlanEnding)
	r.at(1 * s)
	if st := r.desk.State(); !st.Green || !st.Red || !st.Relay {
		t.Fatalf("state during plan_ending = %+v, want amber and relay on", st)
	}
	r.stop()
	r.checkTimelines(timelines{
		green:  "0s:H 1s:L",
		red:    "0s:H 1s:L",
		buzzer: "0s:H 100ms:L",
		relay:  "0s:H 1s:L",
	})
	want := State{Pattern: Idle}
	if got := r.desk.State(); got != want {
		t.Errorf("State() after Run = %+v, want %+v", got, want)
	}
	if n := r.clk.pending(); n != 0 {
		t.Errorf("%d timers pending after Run returned, want 0", n)
	}
}

func TestRunSwitchesOffAtStart(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.desk.Run(ctx); err != nil {
		t.Fatalf("Run = %v", err)
	}
	for _, p := range r.pins() {
		// Written low once at start; already low at the end.
		if got := p.timeline(); got != "0s:L" {
			t.Errorf("%s timeline = %q, want %q", p.name, got, "0s:L")
		}
	}
}

func TestRunTwice(t *testing.T) {
	r := newRig(t)
	r.start()
	if err := r.desk.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run = %v, want ErrRunning", err)
	}
	r.stop()
	// Run may be started again once it has returned.
	r.finished = false
	r.start()
	r.show(CheckedIn)
	if !r.desk.State().Green {
		t.Errorf("green is off after restarting Run")
	}
}

func TestWithoutBuzzerAndRelay(t *testing.T) {
	r := newRig(t, withoutBuzzer(), withoutRelay(), relayHold(5*s))
	r.start()
	for _, p := range Patterns() {
		r.show(p)
		r.advance(3 * s)
	}
	r.checkTimelines(timelines{
		green: "0s:H 1.5s:L " + // checked_in
			"3s:H 3.3s:L 3.5s:H 3.8s:L " + // checked_out
			"6s:H 7.5s:L " + // moved
			"12.4s:H 12.8s:L 13.2s:H 13.6s:L " + // refused_expired
			"18s:H 20.5s:L", // plan_ending
		red: "6.5s:H 7s:L " + // moved
			"9s:H 11s:L " + // refused_unknown
			"12s:H 14s:L " + // refused_expired
			"15s:H 15.8s:L 16s:H 16.4s:L 16.6s:H 17s:L " + // refused
			"18s:H 20s:L " + // plan_ending
			"21s:H 22s:L 23s:H 24s:L", // reader_fault, stopped by idle at 24s
	})
	if st := r.desk.State(); st.Buzzer || st.Relay || st.Err != "" {
		t.Errorf("State() = %+v, want no buzzer, no relay, no error", st)
	}
}

func TestPinErrorIsRecordedAndRetried(t *testing.T) {
	r := newRig(t)
	r.start()
	r.green.setFail(errors.New("gpio: write failed"))
	r.show(CheckedIn)
	st := r.desk.State()
	if !strings.Contains(st.Err, "green pin GPIO17") || !strings.Contains(st.Err, "gpio: write failed") {
		t.Errorf("State().Err = %q, want it to name the green pin and the cause", st.Err)
	}
	if !st.ErrAt.Equal(r.epoch) {
		t.Errorf("State().ErrAt = %v, want %v", st.ErrAt, r.epoch)
	}
	if st.Green || !st.Buzzer {
		t.Errorf("State() = %+v, want green off (write failed) and buzzer on", st)
	}
	r.green.setFail(nil)
	r.advance(3 * s)
	r.show(CheckedOut) // the desk kept going
	r.advance(3 * s)
	r.checkTimelines(timelines{
		// The failed write at 0s is not logged; the next step, at 100ms,
		// writes green again because its level is not known.
		green:  "100ms:H 1.5s:L 3s:H 3.3s:L 3.5s:H 3.8s:L",
		buzzer: "0s:H 100ms:L 3s:H 3.1s:L 3.5s:H 3.6s:L",
	})
	if got := r.desk.State().Err; got == "" {
		t.Errorf("State().Err cleared, want the last error kept for health")
	}
}

func TestNew(t *testing.T) {
	p := func(name string) *recPin { return &recPin{name: name, clk: &fakeClock{}} }
	tests := []struct {
		name string
		pins Pins
		opts Options
		ok   bool
	}{
		{"green and red only", Pins{Green: p("g"), Red: p("r")}, Options{}, true},
		{"all pins", Pins{Green: p("g"), Red: p("r"), Buzzer: p("b"), Relay: p("y")}, Options{RelayHold: s}, true},
		{"no green", Pins{Red: p("r")}, Options{}, false},
		{"no red", Pins{Green: p("g")}, Options{}, false},
		{"negative relay hold", Pins{Green: p("g"), Red: p("r")}, Options{RelayHold: -s}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(tt.pins, tt.opts)
			if (err == nil) != tt.ok {
				t.Fatalf("New error = %v, want ok=%v", err, tt.ok)
			}
			if err == nil {
				if got := d.State(); got != (State{Pattern: Idle}) {
					t.Errorf("State() of a new desk = %+v, want idle and off", got)
				}
				if _, isSystem := d.clock.(SystemClock); !isSystem {
					t.Errorf("nil Options.Clock gave %T, want SystemClock", d.clock)
				}
			}
		})
	}
	for _, tt := range tests[:1] {
		// New does not touch the pins.
		if got := tt.pins.Green.(*recPin).timeline(); got != "" {
			t.Errorf("New wrote to a pin: %q", got)
		}
	}
}

func TestSystemClock(t *testing.T) {
	tm := SystemClock{}.NewTimer(time.Hour)
	if !tm.Stop() {
		t.Errorf("Stop of a pending timer = false, want true")
	}
	tm = SystemClock{}.NewTimer(0)
	<-tm.C()
	if (SystemClock{}).Now().IsZero() {
		t.Errorf("Now is zero")
	}
}

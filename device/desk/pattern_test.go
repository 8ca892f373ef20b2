package desk

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// signature is a pattern as a person perceives it: the sequence of distinct
// (lights, sound) states with their lengths, adjacent equal states merged,
// and whether it repeats. lightsOnly drops the buzzer, for a desk without
// one or a freelancer who cannot hear it.
func signature(p Pattern, lightsOnly bool) string {
	type state struct{ g, r, b bool }
	var b strings.Builder
	var cur state
	var d time.Duration
	flush := func() {
		if d > 0 {
			fmt.Fprintf(&b, "%v/%v/%v:%v ", cur.g, cur.r, cur.b, d)
		}
	}
	for _, s := range Steps(p) {
		st := state{s.Green, s.Red, s.Buzzer && !lightsOnly}
		if st != cur || d == 0 {
			flush()
			cur, d = st, 0
		}
		d += s.For
	}
	flush()
	fmt.Fprintf(&b, "repeats=%v", p.Repeats())
	return b.String()
}

func TestPatternsAreDistinct(t *testing.T) {
	for _, lightsOnly := range []bool{false, true} {
		seen := map[string]Pattern{}
		for _, p := range Patterns() {
			sig := signature(p, lightsOnly)
			if q, ok := seen[sig]; ok {
				t.Errorf("%s and %s look the same (lights only: %v): %s", q, p, lightsOnly, sig)
			}
			seen[sig] = p
		}
	}
}

func TestPatternTables(t *testing.T) {
	const maxTotal = 2500 * time.Millisecond
	if got, want := len(Patterns()), len(patterns); got != want {
		t.Errorf("Patterns() lists %d patterns, the tables hold %d", got, want)
	}
	for _, p := range Patterns() {
		t.Run(string(p), func(t *testing.T) {
			if !p.Valid() {
				t.Errorf("Valid() = false")
			}
			steps := Steps(p)
			var total time.Duration
			for i, s := range steps {
				if s.For < 100*time.Millisecond {
					t.Errorf("step %d lasts %v; anything under 100ms is not seen", i, s.For)
				}
				total += s.For
			}
			switch {
			case p == Idle:
				if steps != nil {
					t.Errorf("Steps(idle) = %v, want nil", steps)
				}
			case len(steps) == 0:
				t.Errorf("no steps")
			case !p.Repeats() && total > maxTotal:
				t.Errorf("lasts %v, want at most %v so the next tap is not blocked", total, maxTotal)
			case p.Repeats() && total > 4*time.Second:
				t.Errorf("cycle lasts %v, want a visible blink", total)
			}
			if p != Idle && !p.Repeats() && !steps[0].Green && !steps[0].Red {
				t.Errorf("first step is dark; the answer to a tap must be immediate")
			}
		})
	}
}

func TestPatternUnknown(t *testing.T) {
	p := Pattern("disco")
	if p.Valid() || p.Repeats() || Steps(p) != nil {
		t.Errorf("unknown pattern: Valid=%v Repeats=%v Steps=%v, want false false nil",
			p.Valid(), p.Repeats(), Steps(p))
	}
}

func TestStepsReturnsACopy(t *testing.T) {
	s := Steps(CheckedIn)
	s[0].Red = true
	if Steps(CheckedIn)[0].Red {
		t.Errorf("changing the slice from Steps changed the pattern")
	}
}

// TestDocTable keeps the table in doc.go in step with the constants.
func TestDocTable(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range Patterns() {
		if !strings.Contains(string(doc), "//\t"+string(p)+" ") {
			t.Errorf("doc.go has no table row for %q", p)
		}
	}
}

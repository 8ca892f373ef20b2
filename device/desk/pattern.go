package desk

import "time"

// Pattern names what a desk shows the freelancer after a tap (or while its
// reader is faulty). The values are stable strings: they appear in logs, the
// HTTP API and the emulator. See the package documentation for what each one
// looks and sounds like.
type Pattern string

// The patterns a desk can show.
const (
	// CheckedIn: the tap checked the freelancer in at this desk.
	CheckedIn Pattern = "checked_in"
	// CheckedOut: the tap checked the freelancer out.
	CheckedOut Pattern = "checked_out"
	// Moved: the freelancer was checked in at another desk and is now
	// checked in at this one.
	Moved Pattern = "moved"
	// RefusedUnknown: the card is not known to the centre.
	RefusedUnknown Pattern = "refused_unknown"
	// RefusedExpired: the card is known but its plan has expired.
	RefusedExpired Pattern = "refused_expired"
	// Refused: any other refusal (outside the plan's hours, wrong zone,
	// seat taken, ...).
	Refused Pattern = "refused"
	// PlanEnding: checked in, and the plan ends within the configured
	// number of days.
	PlanEnding Pattern = "plan_ending"
	// ReaderFault: the desk's card reader is not answering. The pattern
	// repeats until another pattern is shown.
	ReaderFault Pattern = "reader_fault"
	// Idle: all lights and the buzzer off.
	Idle Pattern = "idle"
)

// Step is one segment of a pattern: the levels of the lights and buzzer,
// held for For.
type Step struct {
	Green, Red, Buzzer bool
	For                time.Duration
}

// Shorthands for the tables below.
const (
	ms   = time.Millisecond
	beep = 100 * ms // a short beep
	long = 800 * ms // a long beep
)

var (
	off   = func(d time.Duration) Step { return Step{For: d} }
	green = func(d time.Duration) Step { return Step{Green: true, For: d} }
	red   = func(d time.Duration) Step { return Step{Red: true, For: d} }
	amber = func(d time.Duration) Step { return Step{Green: true, Red: true, For: d} }
)

// withBuzzer returns s with the buzzer on.
func withBuzzer(s Step) Step { s.Buzzer = true; return s }

// patterns is the single source of truth for what each pattern looks like;
// doc.go describes the same table in words.
var patterns = map[Pattern][]Step{
	CheckedIn: {withBuzzer(green(beep)), green(1400 * ms)},
	CheckedOut: {
		withBuzzer(green(beep)), green(200 * ms), off(200 * ms),
		withBuzzer(green(beep)), green(200 * ms),
	},
	Moved:          {withBuzzer(green(beep)), green(400 * ms), amber(500 * ms), green(500 * ms)},
	RefusedUnknown: {withBuzzer(red(long)), red(1200 * ms)},
	RefusedExpired: {
		withBuzzer(red(400 * ms)), withBuzzer(amber(400 * ms)),
		red(400 * ms), amber(400 * ms), red(400 * ms),
	},
	Refused: {
		withBuzzer(red(long)), off(200 * ms),
		red(400 * ms), off(200 * ms), red(400 * ms),
	},
	PlanEnding:  {withBuzzer(amber(beep)), amber(1900 * ms), green(500 * ms)},
	ReaderFault: {red(1000 * ms), off(1000 * ms)},
	Idle:        nil,
}

// Patterns returns every pattern the package defines, Idle last.
func Patterns() []Pattern {
	return []Pattern{
		CheckedIn, CheckedOut, Moved,
		RefusedUnknown, RefusedExpired, Refused,
		PlanEnding, ReaderFault, Idle,
	}
}

// Steps returns pattern p as a table of steps, in the order they are played.
// After the last step the lights and buzzer go off, except for a pattern
// that Repeats, which starts again from its first step. Steps returns nil for
// Idle and for a pattern the package does not define. The slice is a copy.
func Steps(p Pattern) []Step {
	s := patterns[p]
	if s == nil {
		return nil
	}
	return append([]Step(nil), s...)
}

// Valid reports whether p is one of the patterns the package defines.
func (p Pattern) Valid() bool {
	_, ok := patterns[p]
	return ok
}

// Repeats reports whether p plays its steps over and over until another
// pattern is shown (only ReaderFault does).
func (p Pattern) Repeats() bool { return p == ReaderFault }

// switchesRelay reports whether p means the freelancer has just been checked
// in at this desk, so the relay (door strike or power strip) is switched on.
func (p Pattern) switchesRelay() bool {
	return p == CheckedIn || p == Moved || p == PlanEnding
}

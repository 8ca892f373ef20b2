package image

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/releasetest"
	"github.com/pkfreelance/seatgate/firmware/state"
)

// These tests kill the gateway at every point where the backend has
// written something and not yet done what it announces (the crash points
// and each call of Reboot), follow the death with a power cut or a
// restart in the same boot, and drive the update on, start after start,
// as the daemon would, to its end. Every boot is checked by the fake
// bootloader (fakePi.boot); at the end the update must have finished
// within the bounds, in the outcome the trial's health asked for unless
// the crashes exhausted the bounds.

// fate is what follows a death.
type fate int

const (
	live     fate = iota
	cutPower      // the machine loses power and boots again
	restart       // systemd restarts the gateway in the same boot
)

func (f fate) String() string { return [...]string{"live", "power cut", "restart"}[f] }

// life is the record of one update driven to its end.
type life struct {
	p      *fakePi
	r      releasetest.Artifact
	points []string // crash points passed, in order (deaths included)
	deaths int
	starts int // starts of the gateway after RequestTrial's
	trials int // starts that Reconcile said were the trial
	final  state.State
}

// dieAt is a die function for runLife: the gateway dies at the points
// numbered in at, with their fates.
func dieAt(at map[int]fate) func(int, string) fate {
	return func(n int, _ string) fate { return at[n] }
}

// maxStarts bounds the starts of one life: beyond it the update loops.
const maxStarts = 60

// live drives one update: the committed image downloads the release and
// requests its trial; then, start after start, Open and Reconcile, and
// in the trial Commit (healthy) or Rollback. die is asked at each crash
// point, numbered from 1, whether the gateway dies there.
func runLife(t *testing.T, healthy bool, die func(n int, point string) fate) *life {
	t.Helper()
	p := newFakePi(t)
	l := &life{p: p, r: p.newRelease("1.1.0", 130<<10)}
	var pending fate
	check := func(point string) bool {
		l.points = append(l.points, point)
		if f := die(len(l.points), point); f != live {
			pending = f
			l.deaths++
			return true
		}
		return false
	}
	hook := func(point string) {
		if check(point) {
			panic(crash{point})
		}
	}
	p.crashAt = func(arg string) bool { return check("reboot " + arg) }
	now := time.Now()

	b := p.open()
	b.testHook = hook
	p.download(b, l.r)
	var err error
	died := survive(func() { err = b.RequestTrial(now) }) != ""
	if err != nil {
		t.Fatalf("RequestTrial: %v", err)
	}
	for {
		switch {
		case died && pending == cutPower:
			p.powerCut()
		case died && pending == restart:
		case b.Rebooting():
			p.bootNow()
		default:
			l.final = p.state(b)
			return l
		}
		if l.starts++; l.starts > maxStarts {
			t.Fatalf("no end after %d starts: points %q, boots %q", maxStarts, l.points, p.boots)
		}
		now = now.Add(time.Minute)
		b = p.open()
		b.testHook = hook
		died = survive(func() {
			trial, err := b.Reconcile(now)
			if err != nil {
				t.Fatalf("start %d: Reconcile: %v", l.starts, err)
			}
			if !trial {
				return
			}
			l.trials++
			if healthy {
				p.passed[l.r.Manifest.SHA256] = true
				err = b.Commit(now)
			} else {
				err = b.Rollback(now, "health failed on trial")
			}
			if err != nil {
				t.Fatalf("start %d: %v", l.starts, err)
			}
		}) != ""
	}
}

// check verifies the end of an update: a final phase that autoboot.txt
// agrees with, nothing armed, and the bounds kept. When the deaths could
// not have exhausted the bounds, the outcome is the one health chose.
func (l *life) check(t *testing.T, healthy bool) {
	t.Helper()
	p, st := l.p, l.final
	normal, try := p.autoboot()
	if normal != try {
		t.Errorf("a trial of %d is left armed (phase %s)", try, st.Phase)
	}
	switch st.Phase {
	case state.Committed:
		if normal != 3 || st.Floor != "1.1.0" || !healthy {
			t.Errorf("committed: autoboot.txt boots %d, floor %q, healthy %v; want 3, 1.1.0, true", normal, st.Floor, healthy)
		}
	case state.RolledBack:
		if normal != 2 || !st.Refuses("1.1.0") || st.Floor != "" {
			t.Errorf("rolled back: autoboot.txt boots %d, refused %v, floor %q; want 2, [1.1.0], none", normal, st.Refused, st.Floor)
		}
		if healthy && l.deaths <= 1 {
			t.Errorf("a healthy trial rolled back after one death: %q", st.Detail)
		}
	default:
		t.Errorf("ended in phase %s (%q)", st.Phase, st.Detail)
	}
	tryboots := 0
	for _, b := range p.boots {
		if strings.HasPrefix(b, "tryboot") {
			tryboots++
		}
	}
	if tryboots > 1+DefaultMaxReArms {
		t.Errorf("%d trial boots, more than 1 + %d re-arms: %q", tryboots, DefaultMaxReArms, p.boots)
	}
	if l.trials > 1+DefaultMaxReArms+DefaultMaxAttempts-1 {
		t.Errorf("the trial ran %d times", l.trials)
	}
	if st.ReArms > DefaultMaxReArms+1 || st.Attempts > DefaultMaxAttempts {
		t.Errorf("rearms %d, attempts %d beyond their bounds", st.ReArms, st.Attempts)
	}
}

// TestCrashAnywhereOnce kills the gateway at each crash point in turn,
// once per update.
func TestCrashAnywhereOnce(t *testing.T) {
	for _, healthy := range []bool{true, false} {
		clean := runLife(t, healthy, func(int, string) fate { return live })
		clean.check(t, healthy)
		want := []string{"trial-recorded", "reboot 0 tryboot", "reconciled-trial", "commit-written"}
		if !healthy {
			want = []string{"trial-recorded", "reboot 0 tryboot", "reconciled-trial", "rolled-back", "reboot 0"}
		}
		if !slices.Equal(clean.points, want) {
			t.Errorf("healthy %v: crash points %q, want %q", healthy, clean.points, want)
		}
		for k := 1; k <= len(clean.points); k++ {
			for _, f := range []fate{cutPower, restart} {
				t.Run(fmt.Sprintf("healthy %v/%s at %s", healthy, f, clean.points[k-1]), func(t *testing.T) {
					l := runLife(t, healthy, dieAt(map[int]fate{k: f}))
					l.check(t, healthy)
				})
			}
		}
	}
}

// TestCrashAnywhereTwice kills the gateway at every pair of crash points.
func TestCrashAnywhereTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: TestCrashAnywhereOnce covers one death per point")
	}
	for _, healthy := range []bool{true, false} {
		clean := runLife(t, healthy, func(int, string) fate { return live })
		for k1 := 1; k1 <= len(clean.points); k1++ {
			for _, f1 := range []fate{cutPower, restart} {
				// The points of a life that dies at k1 only.
				once := runLife(t, healthy, dieAt(map[int]fate{k1: f1}))
				for k2 := k1 + 1; k2 <= len(once.points); k2++ {
					for _, f2 := range []fate{cutPower, restart} {
						name := fmt.Sprintf("healthy %v/%s at %s, %s at %d %s", healthy, f1, clean.points[k1-1], f2, k2, once.points[k2-1])
						t.Run(name, func(t *testing.T) {
							l := runLife(t, healthy, dieAt(map[int]fate{k1: f1, k2: f2}))
							l.check(t, healthy)
						})
					}
				}
			}
		}
	}
}

// TestCrashAlways kills the gateway every time it passes a given point:
// the bounds end the update all the same.
func TestCrashAlways(t *testing.T) {
	points := []string{"trial-recorded", "reboot 0 tryboot", "reconciled-trial", "reconciled-arm", "commit-written",
		"rolled-back", "reboot 0", "reconciled-leave", "reconciled-disarm"}
	for _, healthy := range []bool{true, false} {
		for _, point := range points {
			for _, f := range []fate{cutPower, restart} {
				t.Run(fmt.Sprintf("healthy %v/%s at %s", healthy, f, point), func(t *testing.T) {
					l := runLife(t, healthy, func(_ int, at string) fate {
						if at == point {
							return f
						}
						return live
					})
					l.check(t, healthy)
				})
			}
		}
	}
	// And at every point, always, after power cuts.
	for _, healthy := range []bool{true, false} {
		l := runLife(t, healthy, func(int, string) fate { return cutPower })
		l.check(t, healthy)
		if l.final.Phase != state.RolledBack {
			t.Errorf("healthy %v: dying everywhere ended %s, want rolled back", healthy, l.final.Phase)
		}
	}
}

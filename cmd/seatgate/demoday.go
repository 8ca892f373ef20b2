package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// A scripted day at the demo centre: freelancers arrive in the morning,
// some move, most leave in the evening, the night shift comes in at
// night, and the problem cards show up now and then (an expired plan, a
// suspended member, a revoked card, an unknown card, the night shift
// trying by day). Each step carries the centre's clock: the demo sets the
// gateway's emulated clock to it, so a day passes in minutes.

// demoStep is one tap of the script, at a time of the day.
type demoStep struct {
	at                       time.Duration // after midnight of the demo day
	who, reader, uid, member string
}

// demoDayStart is when the demo's first day begins: the next 08:00, so
// the emulated clock never goes back before the real one (it would be
// marked untrusted).
func demoDayStart(now time.Time) time.Time {
	d := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	if now.Sub(d) >= 8*time.Hour {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

func demoReaders() []string {
	var out []string
	for _, z := range []string{"a", "b", "c"} {
		for i := 1; i <= 8; i++ {
			out = append(out, fmt.Sprintf("desk-%s%02d", z, i))
		}
	}
	return out
}

// zoneReaders are the readers of zone z ("A").
func zoneReaders(z string) []string {
	var out []string
	for _, r := range demoReaders() {
		if strings.HasPrefix(r, "desk-"+strings.ToLower(z)) {
			out = append(out, r)
		}
	}
	return out
}

// demoDay builds one day's script, in time order.
func demoDay(rng *rand.Rand) []demoStep {
	var steps []demoStep
	at := func(h, m int) time.Duration { return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute }
	taken := map[string]bool{}
	pick := func(m demoMember) string {
		pool := demoReaders()
		switch {
		case strings.HasPrefix(m.Seats, "fixed:"):
			return "desk-" + strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(m.Seats, "fixed:"), "-", ""))
		case strings.HasPrefix(m.Seats, "zone:"):
			pool = zoneReaders(strings.TrimPrefix(m.Seats, "zone:"))
		}
		for range 50 {
			if r := pool[rng.IntN(len(pool))]; !taken[r] {
				taken[r] = true
				return r
			}
		}
		return pool[rng.IntN(len(pool))] // a full zone: someone finds the seat taken
	}
	anyReader := func() string { return demoReaders()[rng.IntN(24)] } // for a tap that will be refused
	tap := func(t time.Duration, m demoMember, reader, uid string) {
		steps = append(steps, demoStep{at: t, who: m.Name, reader: reader, uid: uid, member: m.ID})
	}
	seat := map[string]string{}
	for _, m := range demoMembers {
		switch {
		case m.Plan == "night":
			// The night shift tries by day (refused: outside hours), comes
			// at night, and leaves in the morning of the next day.
			tap(at(14, rng.IntN(50)), m, anyReader(), m.Cards[0])
			r := pick(m)
			tap(at(20, 15+rng.IntN(40)), m, r, m.Cards[0])
			tap(at(23, 30+rng.IntN(25)), m, r, m.Cards[0])
		case m.Status == "suspended" || m.Until < 0 && m.Until < -3 || m.From > 0:
			// Refused at the desk: suspended, expired, not started.
			tap(at(9+rng.IntN(3), rng.IntN(60)), m, anyReader(), m.Cards[0])
		default:
			in := at(8, 0) + time.Duration(rng.IntN(180))*time.Minute
			if len(m.Revoked) > 0 { // the lost card first, refused
				tap(in-2*time.Minute, m, anyReader(), m.Revoked[0])
			}
			r := pick(m)
			seat[m.ID] = r
			tap(in, m, r, m.Cards[0])
			if rng.IntN(4) == 0 && !strings.HasPrefix(m.Seats, "fixed:") { // moves after lunch
				r2 := pick(m)
				tap(at(13, rng.IntN(60)), m, r2, m.Cards[0])
				r = r2
			}
			if rng.IntN(6) > 0 { // most leave; the rest are checked out at the cut-off
				tap(at(16, 0)+time.Duration(rng.IntN(300))*time.Minute, m, r, m.Cards[0])
			}
		}
	}
	for range 3 { // strangers' cards
		steps = append(steps, demoStep{at: at(9+rng.IntN(9), rng.IntN(60)), who: "(unknown card)",
			reader: demoReaders()[rng.IntN(24)], uid: fmt.Sprintf("%08X", rng.Uint32()|1)})
	}
	slices.SortStableFunc(steps, func(a, b demoStep) int { return int(a.at - b.at) })
	return steps
}

// demoScript plays the day, then the next, and so on.
type demoScript struct {
	rng   *rand.Rand
	day   time.Time // midnight of the day being played
	steps []demoStep
	i     int
}

func newDemoScript(seed uint64, start time.Time) *demoScript {
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	s := &demoScript{rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), day: start}
	s.steps = demoDay(s.rng)
	return s
}

// next returns the next step and the centre's clock for it.
func (s *demoScript) next() (demoStep, time.Time) {
	if s.i == len(s.steps) {
		s.day, s.i, s.steps = s.day.AddDate(0, 0, 1), 0, demoDay(s.rng)
	}
	st := s.steps[s.i]
	s.i++
	return st, s.day.Add(st.at)
}

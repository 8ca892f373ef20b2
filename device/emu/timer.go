package emu

import "time"

// fc is the carrier frequency that clocks the timer.
const fc = 13_560_000

// timerState is the chip's 16-bit down-counter.
//
// The prescaler and reload value are captured when the timer starts ("on a
// start event, the timer loads the TReloadVal value"); with TAutoRestart
// every period reuses them. TimerIRq is raised after TReloadVal+1 ticks,
// which gives the data sheet's delay (TPrescaler*2+1)*(TReloadVal+1)/13.56
// MHz; TCounterValReg counts TReloadVal down to 0 meanwhile.
type timerState struct {
	running bool
	start   time.Time
	reload  uint16
	cpt     int64  // 13.56 MHz cycles per tick
	stopped uint16 // counter value while not running
}

// timerStart loads the reload value and starts counting (TAuto at the end
// of a transmission, or TStartNow).
func (c *Chip) timerStart(t time.Time) {
	m := &c.m
	presc := int64(m.reg[regTMode]&tPrescalerHi)<<8 | int64(m.reg[regTPrescaler])
	cpt := 2*presc + 1
	if m.reg[regDemod]&demodTPrescalEven != 0 {
		cpt = 2*presc + 2
	}
	m.timer = timerState{
		running: true,
		start:   t,
		reload:  uint16(m.reg[regTReloadH])<<8 | uint16(m.reg[regTReloadL]),
		cpt:     cpt,
	}
}

// timerStop freezes the counter (TStopNow, or the 5th received bit with TAuto).
func (c *Chip) timerStop(t time.Time) {
	m := &c.m
	if !m.timer.running {
		return
	}
	m.timer.stopped = c.timerValue(t)
	m.timer.running = false
}

func (c *Chip) autoRestart() bool { return c.m.reg[regTMode]&tAutoRestart != 0 }

// timerValue is TCounterValReg at time t.
func (c *Chip) timerValue(t time.Time) uint16 {
	ts := &c.m.timer
	if !ts.running {
		return ts.stopped
	}
	ticks := durationToCycles(t.Sub(ts.start)) / ts.cpt
	n := int64(ts.reload) + 1
	if ticks >= n {
		if !c.autoRestart() {
			return 0
		}
		ticks = (ticks - n) % n
	}
	return uint16(int64(ts.reload) - min(ticks, int64(ts.reload)))
}

// timerNextExpiry is when TimerIRq is next raised after time after. With
// TAutoRestart and TimerIRq already set, further expiries change nothing a
// host can see, so there is none to report.
func (c *Chip) timerNextExpiry(after time.Time) (time.Time, bool) {
	ts := &c.m.timer
	if !ts.running {
		return time.Time{}, false
	}
	period := (int64(ts.reload) + 1) * ts.cpt
	first := ts.start.Add(cyclesToDuration(period))
	if first.After(after) || !c.autoRestart() {
		return first, true
	}
	if c.m.reg[regComIrq]&irqTimer != 0 {
		return time.Time{}, false
	}
	k := durationToCycles(after.Sub(ts.start))/period + 1
	next := ts.start.Add(cyclesToDuration(k * period))
	for !next.After(after) {
		k++
		next = ts.start.Add(cyclesToDuration(k * period))
	}
	return next, true
}

// timerExpire raises TimerIRq at an expiry; without TAutoRestart the timer
// stops at 0.
func (c *Chip) timerExpire() {
	m := &c.m
	m.reg[regComIrq] |= irqTimer
	if !c.autoRestart() {
		m.timer.running = false
		m.timer.stopped = 0
	}
}

// cyclesToDuration converts 13.56 MHz cycles to a duration, rounding up.
func cyclesToDuration(n int64) time.Duration {
	s, r := n/fc, n%fc
	return time.Duration(s)*time.Second + time.Duration((r*int64(time.Second)+fc-1)/fc)
}

// durationToCycles converts a duration to whole 13.56 MHz cycles, rounding down.
func durationToCycles(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	s, r := int64(d/time.Second), int64(d%time.Second)
	return s*fc + r*fc/int64(time.Second)
}

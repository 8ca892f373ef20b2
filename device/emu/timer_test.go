package emu

import (
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/device/iso14443"
)

func TestTimerTimeout(t *testing.T) {
	// Nobody answers a REQA. TAuto starts the timer when the frame has been
	// sent; with prescaler 169 (25 µs ticks) and reload 1000, TimerIRq
	// comes (169*2+1)*(1000+1)/13.56 MHz = 25.025 ms after the end of the
	// frame, and not before.
	r := newRig(t, ChipOptions{})
	r.setUp()
	r.start([]byte{iso14443.REQA}, 0x07)
	txEnd := r.clock.Now().Add(iso14443.FrameAirTime(7))
	timeout := cyclesToDuration(339 * 1001)
	if timeout.Round(time.Microsecond) != 25025*time.Microsecond {
		t.Fatalf("timeout: %v, want 25.025ms", timeout)
	}

	r.clock.AdvanceTo(txEnd.Add(12 * time.Millisecond))
	if st := r.read(regStatus1); st&st1TRunning == 0 {
		t.Errorf("Status1Reg %#02x half way: TRunning not set", st)
	}
	v := uint16(r.read(regTCounterValH))<<8 | uint16(r.read(regTCounterValL))
	if v < 515 || v > 525 {
		t.Errorf("TCounterValReg half way: got %d, want about 520", v)
	}
	r.clock.AdvanceTo(txEnd.Add(timeout - 5*time.Microsecond))
	if got := r.read(regComIrq); got&irqTimer != 0 {
		t.Errorf("ComIrqReg %#02x just before the timeout: TimerIRq already set", got)
	}
	r.clock.AdvanceTo(txEnd.Add(timeout))
	if got := r.read(regComIrq); got&irqTimer == 0 {
		t.Errorf("ComIrqReg %#02x at the timeout: TimerIRq not set", got)
	}
	if st := r.read(regStatus1); st&st1TRunning != 0 {
		t.Errorf("Status1Reg %#02x after the timeout: TRunning still set (no TAutoRestart)", st)
	}
	if got := r.read(regStatus2) & 0x07; got != 0b101 {
		t.Errorf("ModemState: got %03b, want 101: Transceive still waits for data", got)
	}
}

func TestTimerStopsWhenTheAnswerStarts(t *testing.T) {
	r := newRig(t, ChipOptions{}, NewCard(uid4))
	r.setUp()
	a := r.transceive([]byte{iso14443.REQA}, 0x07)
	if a.irq&irqTimer != 0 {
		t.Errorf("ComIrqReg %#02x: TimerIRq with an answer", a.irq)
	}
	r.clock.Advance(50 * time.Millisecond)
	if st := r.read(regStatus1); st&st1TRunning != 0 {
		t.Errorf("Status1Reg %#02x: timer still running after the answer began", st)
	}
	if got := r.read(regComIrq); got&irqTimer != 0 {
		t.Errorf("ComIrqReg %#02x 50 ms later: the stopped timer fired", got)
	}
}

func TestTimerStartStopNowAndAutoRestart(t *testing.T) {
	r := newRig(t, ChipOptions{})
	r.write(regTMode, tAutoRestart) // prescaler 0: 1 cycle per tick
	r.write(regTReloadH, 0)
	r.write(regTReloadL, 99) // 100 cycles: 7.37 µs
	r.write(regComIrq, 0x7F)
	r.write(regControl, ctlTStartNow)
	if got := r.read(regControl); got&(ctlTStartNow|ctlTStopNow) != 0 {
		t.Errorf("ControlReg %#02x: TStartNow and TStopNow read 0", got)
	}
	r.clock.Advance(time.Second)
	if got := r.read(regComIrq); got&irqTimer == 0 {
		t.Errorf("ComIrqReg %#02x: no TimerIRq", got)
	}
	if st := r.read(regStatus1); st&st1TRunning == 0 {
		t.Error("TAutoRestart: timer stopped after expiring")
	}
	r.write(regComIrq, irqTimer)
	r.clock.Advance(10 * time.Microsecond)
	if got := r.read(regComIrq); got&irqTimer == 0 {
		t.Error("TAutoRestart: no TimerIRq in the next period")
	}
	r.write(regControl, ctlTStopNow)
	if st := r.read(regStatus1); st&st1TRunning != 0 {
		t.Error("TStopNow did not stop the timer")
	}
}

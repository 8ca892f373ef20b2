package emu

import (
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/device/iso14443"
	"periph.io/x/conn/v3/gpio"
)

func TestIRQPinLevel(t *testing.T) {
	tests := []struct {
		name   string
		pull   gpio.Pull
		writes [][2]byte // register, value
		want   gpio.Level
	}{
		{"reset: IRqInv, open drain, nothing enabled: released, pull-up reads High", gpio.PullUp, nil, gpio.High},
		{"reset with a pull-down: the released line reads Low", gpio.PullDown, nil, gpio.Low},
		{"IRqInv, RxIEn, RxIRq set: driven Low (interrupt)", gpio.PullUp,
			[][2]byte{{regComIEn, 0xA0}, {regComIrq, 0x80 | irqRx}}, gpio.Low},
		{"IRqInv, RxIEn, RxIRq clear: released, High", gpio.PullUp,
			[][2]byte{{regComIEn, 0xA0}, {regComIrq, irqRx}}, gpio.High},
		{"RxIRq set but not enabled: no interrupt", gpio.PullUp,
			[][2]byte{{regComIEn, 0x80 | irqTimer}, {regComIrq, 0x80 | irqRx}}, gpio.High},
		{"IRqInv 0, push-pull, RxIRq set: driven High", gpio.PullDown,
			[][2]byte{{regDivIEn, ienIRQPushPull}, {regComIEn, 0x20}, {regComIrq, 0x80 | irqRx}}, gpio.High},
		{"IRqInv 0, push-pull, no request: driven Low", gpio.PullUp,
			[][2]byte{{regDivIEn, ienIRQPushPull}, {regComIEn, 0x20}, {regComIrq, 0x7F}}, gpio.Low},
		{"IRqInv 0, open drain, no request: driven Low", gpio.PullUp,
			[][2]byte{{regComIEn, 0x20}, {regComIrq, 0x7F}}, gpio.Low},
		{"DivIEnReg CRCIEn with CRCIRq: interrupt", gpio.PullUp,
			[][2]byte{{regDivIEn, divIrqCRC}, {regDivIrq, 0x80 | divIrqCRC}}, gpio.Low},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, ChipOptions{})
			pin := r.chip.IRQ()
			if err := pin.In(tt.pull, gpio.NoEdge); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.writes {
				r.write(w[0], w[1])
			}
			if got := pin.Read(); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			irq := r.read(regStatus1)&st1IRq != 0
			if active := tt.want == gpio.Low; len(tt.writes) > 0 && irq != (active == (r.read(regComIEn)&ienIRqInv != 0)) {
				t.Errorf("Status1Reg.IRq = %v does not match the line", irq)
			}
		})
	}
}

// armREQA sets up for an interrupt on the ATQA (IRqInv, RxIEn; line low =
// interrupt), starts a REQA and returns when the ATQA will have been received.
func armREQA(r *rig) time.Time {
	r.t.Helper()
	r.write(regComIEn, 0x80|irqRx)
	r.start([]byte{iso14443.REQA}, 0x07)
	return r.clock.Now().Add(iso14443.FrameAirTime(7) + iso14443.FDTShort + iso14443.FrameAirTime(16))
}

func TestWaitForEdgeSysfs(t *testing.T) {
	// ZeroTimeoutWaitsForever false: 0 polls, -1 waits forever.
	r := newRig(t, ChipOptions{}, NewCard(uid4))
	r.setUp()
	pin := r.chip.IRQ()
	if err := pin.In(gpio.PullUp, gpio.FallingEdge); err != nil {
		t.Fatal(err)
	}
	atqaEnd := armREQA(r)
	if pin.WaitForEdge(0) {
		t.Error("WaitForEdge(0) before the answer: true, want false (a poll)")
	}
	if !pin.WaitForEdge(-1) {
		t.Fatal("WaitForEdge(-1): false, want true")
	}
	if got := r.clock.Now(); !got.Equal(atqaEnd) {
		t.Errorf("clock after the wait: %v after t0, want %v (the end of the ATQA)", got.Sub(t0), atqaEnd.Sub(t0))
	}
	if pin.Read() != gpio.Low {
		t.Error("line not Low after the falling edge")
	}
	if pin.WaitForEdge(0) {
		t.Error("WaitForEdge(0) again: true, want false: the edge was consumed")
	}

	t.Run("edges coalesce", func(t *testing.T) {
		r.write(regComIrq, irqRx)      // line up
		r.write(regComIrq, 0x80|irqRx) // down: edge 1
		r.write(regComIrq, irqRx)      // up
		r.write(regComIrq, 0x80|irqRx) // down: edge 2
		if !pin.WaitForEdge(0) || pin.WaitForEdge(0) {
			t.Error("two edges: want one true poll, then false")
		}
	})
}

func TestWaitForEdgeCharacterDevice(t *testing.T) {
	// ZeroTimeoutWaitsForever true (periph host ≥ v3.8.3): 0 waits forever,
	// -1 returns false at once, edges queue.
	r := newRig(t, ChipOptions{ZeroTimeoutWaitsForever: true}, NewCard(uid4))
	r.setUp()
	pin := r.chip.IRQ()
	if err := pin.In(gpio.PullUp, gpio.FallingEdge); err != nil {
		t.Fatal(err)
	}
	atqaEnd := armREQA(r)
	if pin.WaitForEdge(-1) {
		t.Error("WaitForEdge(-1): true, want false at once")
	}
	if r.clock.Now().After(atqaEnd) {
		t.Error("WaitForEdge(-1) moved the clock")
	}
	if !pin.WaitForEdge(0) {
		t.Fatal("WaitForEdge(0): false, want true (waits forever)")
	}
	if got := r.clock.Now(); !got.Equal(atqaEnd) {
		t.Errorf("clock after the wait: %v after t0, want %v", got.Sub(t0), atqaEnd.Sub(t0))
	}

	t.Run("edges queue", func(t *testing.T) {
		r.write(regComIrq, irqRx)
		r.write(regComIrq, 0x80|irqRx)
		r.write(regComIrq, irqRx)
		r.write(regComIrq, 0x80|irqRx)
		if !pin.WaitForEdge(time.Millisecond) || !pin.WaitForEdge(time.Millisecond) {
			t.Error("two edges: want two true waits")
		}
		if pin.WaitForEdge(time.Millisecond) {
			t.Error("third wait: true, want false")
		}
	})
}

func TestWaitForEdgeHorizon(t *testing.T) {
	// Nobody answers; the timer interrupt (TimerIEn) comes 25.025 ms after
	// the REQA. A 30 ms wait reaches it at once in real time by moving the
	// virtual clock; a 10 ms wait does not, and waits 10 ms of real time
	// with the virtual clock standing still.
	r := newRig(t, ChipOptions{})
	r.setUp()
	pin := r.chip.IRQ()
	if err := pin.In(gpio.PullUp, gpio.FallingEdge); err != nil {
		t.Fatal(err)
	}
	r.write(regComIEn, 0x80|irqTimer)
	r.start([]byte{iso14443.REQA}, 0x07)
	before := r.clock.Now()
	start := time.Now()
	if pin.WaitForEdge(10 * time.Millisecond) {
		t.Error("WaitForEdge(10ms): true, want false: the timer is 25 ms away")
	}
	if real := time.Since(start); real < 10*time.Millisecond {
		t.Errorf("WaitForEdge(10ms) returned after %v of real time", real)
	}
	if !r.clock.Now().Equal(before) {
		t.Error("a wait that found no edge moved the clock")
	}
	start = time.Now()
	if !pin.WaitForEdge(30 * time.Millisecond) {
		t.Fatal("WaitForEdge(30ms): false, want true")
	}
	if real := time.Since(start); real > 5*time.Millisecond {
		t.Errorf("WaitForEdge(30ms) took %v of real time, want next to none", real)
	}
	want := before.Add(iso14443.FrameAirTime(7) + cyclesToDuration(339*1001))
	if got := r.clock.Now(); !got.Equal(want) {
		t.Errorf("clock: %v after the REQA, want %v", got.Sub(before), want.Sub(before))
	}
}

func TestWaitForEdgeWakesOnAnotherGoroutine(t *testing.T) {
	r := newRig(t, ChipOptions{})
	pin := r.chip.IRQ()
	if err := pin.In(gpio.PullUp, gpio.FallingEdge); err != nil {
		t.Fatal(err)
	}
	r.write(regComIEn, 0x80|irqRx)
	done := make(chan bool)
	go func() { done <- pin.WaitForEdge(-1) }()
	time.Sleep(5 * time.Millisecond)
	r.write(regComIrq, 0x80|irqRx)
	select {
	case got := <-done:
		if !got {
			t.Error("WaitForEdge: false, want true")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitForEdge did not return after the line fell")
	}
}

func TestWaitForEdgeReleasedByHaltAndIn(t *testing.T) {
	for _, tt := range []struct {
		name    string
		release func(*IRQPin)
	}{
		{"Halt", func(p *IRQPin) { _ = p.Halt() }},
		{"In", func(p *IRQPin) { _ = p.In(gpio.PullUp, gpio.RisingEdge) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, ChipOptions{ZeroTimeoutWaitsForever: true})
			pin := r.chip.IRQ()
			if err := pin.In(gpio.PullUp, gpio.FallingEdge); err != nil {
				t.Fatal(err)
			}
			done := make(chan bool)
			go func() { done <- pin.WaitForEdge(0) }() // forever
			time.Sleep(5 * time.Millisecond)
			tt.release(pin)
			select {
			case got := <-done:
				if got {
					t.Error("WaitForEdge: true, want false")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("WaitForEdge still waiting")
			}
		})
	}
}

func TestWaitForEdgeWithoutEdge(t *testing.T) {
	r := newRig(t, ChipOptions{})
	if r.chip.IRQ().WaitForEdge(-1) {
		t.Error("WaitForEdge without In(…, edge): true, want false at once")
	}
}

func TestWaitForEdgeSystemClock(t *testing.T) {
	// On the wall clock the waiter sleeps until the chip's next event.
	c := NewChip(SystemClock{}, ChipOptions{})
	pin := c.IRQ()
	if err := pin.In(gpio.PullUp, gpio.FallingEdge); err != nil {
		t.Fatal(err)
	}
	w := func(reg byte, v ...byte) {
		if err := c.Tx(append([]byte{reg << 1}, v...), nil); err != nil {
			t.Fatal(err)
		}
	}
	w(regComIEn, 0x80|irqTimer)
	w(regTPrescaler, 0xA9)
	w(regTReloadL, 200) // 201 ticks of 25 µs: 5 ms
	start := time.Now()
	w(regControl, ctlTStartNow)
	if !pin.WaitForEdge(time.Second) {
		t.Fatal("WaitForEdge: false, want the timer's edge")
	}
	if real := time.Since(start); real < 5*time.Millisecond || real > 500*time.Millisecond {
		t.Errorf("edge after %v, want about 5ms", real)
	}
}

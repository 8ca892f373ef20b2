package emu

import (
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/device/iso14443"
	"periph.io/x/conn/v3/gpio"
)

// The tests here run on a virtual clock with TransferLatency 0 (the rig's
// default) and move it by hand. A register read still costs 8/SPIHz per
// byte (0.8 µs at 10 MHz), which is well inside one etu (9.44 µs), so a
// sample taken a few microseconds before or after a byte boundary lands on
// the intended side of it.

// answerStart is when the answer to a frame of txBits bits, StartSend at
// sent, begins on air: the end of the frame plus FDTShort plus the card's
// extra delay.
func answerStart(sent time.Time, txBits int, delay time.Duration) time.Time {
	return sent.Add(iso14443.FrameAirTime(txBits) + iso14443.FDTShort + delay)
}

// byteIn is when byte k (from 0) of an answer that began at start has been
// received with its parity bit: 1 etu of start bit, then 9 etu per byte.
func byteIn(start time.Time, k int) time.Time {
	return start.Add(time.Duration(1+9*(k+1)) * iso14443.ETU)
}

// regs is what sample reads, in one chip-select frame.
type regs struct {
	level, modem, irq, err byte
}

// sample reads FIFOLevelReg, Status2Reg.ModemState, ComIrqReg and ErrorReg
// in one read frame (4 µs of bus time); reading FIFOLevelReg takes nothing
// out of the FIFO.
func (r *rig) sample() regs {
	r.t.Helper()
	w := []byte{0x80 | regFIFOLevel<<1, 0x80 | regStatus2<<1, 0x80 | regComIrq<<1, 0x80 | regError<<1, 0}
	rx := make([]byte, len(w))
	if err := r.chip.Tx(w, rx); err != nil {
		r.t.Fatalf("sample: %v", err)
	}
	return regs{level: rx[1], modem: rx[2] & 0x07, irq: rx[3], err: rx[4]}
}

// toREQA brings the card (uid4) to READY at cascade level 1.
func toREQA(r *rig) { r.transceive([]byte{iso14443.REQA}, 0x07) }

func TestFIFOFillsDuringAnswer(t *testing.T) {
	tests := []struct {
		name    string
		prep    func(*rig)
		rxMode  byte
		send    []byte
		framing byte
		txBits  int
		levels  []int  // FIFOLevelReg once byte k of the answer is in
		want    []byte // the FIFO after RxIRq
	}{
		{"REQA: the ATQA's two bytes one by one", nil, 0,
			[]byte{iso14443.REQA}, 0x07, 7, []int{1, 2}, []byte{0x04, 0x00}},
		{"ANTICOLLISION: CL1 and BCC, five bytes one by one", toREQA, 0,
			[]byte{iso14443.SEL1, 0x20}, 0, 16, []int{1, 2, 3, 4, 5}, clBCC(uid4, 1)},
		{"SELECT without RxCRCEn: SAK, then both CRC_A bytes", toREQA, 0,
			selectFrame(uid4, 1), 0, 72, []int{1, 2, 3}, iso14443.AppendCRCA([]byte{0x08})},
		{"SELECT with RxCRCEn: the SAK enters with the last CRC byte, the CRC_A never", toREQA, rxCRCEn,
			selectFrame(uid4, 1), 0, 72, []int{0, 0, 1}, []byte{0x08}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, ChipOptions{}, NewCard(uid4))
			r.setUp()
			if tt.prep != nil {
				tt.prep(r)
			}
			r.write(regRxMode, tt.rxMode)
			r.start(tt.send, tt.framing)
			sent := r.clock.Now()
			start := answerStart(sent, tt.txBits, 0)

			r.clock.AdvanceTo(sent.Add(iso14443.FrameAirTime(tt.txBits) + iso14443.FDTShort/2))
			if s := r.sample(); s.modem != 0b101 || s.level != 0 {
				t.Errorf("between the frame and the answer: ModemState %03b, FIFOLevel %d; want 101 (waiting), 0", s.modem, s.level)
			}
			r.clock.AdvanceTo(start.Add(2 * time.Microsecond))
			if s := r.sample(); s.modem != 0b110 || s.level != 0 {
				t.Errorf("start bit received: ModemState %03b, FIFOLevel %d; want 110 (receiving), 0", s.modem, s.level)
			}
			prev := 0
			for k, want := range tt.levels {
				r.clock.AdvanceTo(byteIn(start, k).Add(-4500 * time.Nanosecond))
				s := r.sample()
				if int(s.level) != prev || s.modem != 0b110 || s.irq&(irqRx|irqErr) != 0 || s.err != 0 {
					t.Errorf("just before byte %d is in: FIFOLevel %d, ModemState %03b, ComIrq %#02x, ErrorReg %#02x; want %d, 110, no RxIRq/ErrIRq, no error",
						k, s.level, s.modem, s.irq, s.err, prev)
				}
				r.clock.AdvanceTo(byteIn(start, k).Add(200 * time.Nanosecond))
				s = r.sample()
				if int(s.level) != want || s.modem != 0b110 || s.irq&(irqRx|irqErr) != 0 || s.err != 0 {
					t.Errorf("just after byte %d is in: FIFOLevel %d, ModemState %03b, ComIrq %#02x, ErrorReg %#02x; want %d, 110, no RxIRq/ErrIRq, no error",
						k, s.level, s.modem, s.irq, s.err, want)
				}
				prev = want
			}
			r.clock.AdvanceTo(start.Add(iso14443.FrameAirTime(8 * len(tt.levels))))
			s := r.sample()
			if s.irq&irqRx == 0 || s.modem != 0b001 || s.err != 0 {
				t.Errorf("end of the answer: ComIrq %#02x, ModemState %03b, ErrorReg %#02x; want RxIRq, 001 (Transceive waits for StartSend), no error", s.irq, s.modem, s.err)
			}
			if got := r.readFIFO(int(s.level)); !equalBytes(got, tt.want) {
				t.Errorf("FIFO: got %x, want %x", got, tt.want)
			}
		})
	}
}

func TestCollisionDuringAnswer(t *testing.T) {
	// 12345678 and 12345679 collide first in bit 24 (byte 3 of CL1). The
	// three bytes before it enter the FIFO as they arrive; CollErr and
	// CollReg come with RxIRq at the end of the frame.
	r := newRig(t, ChipOptions{}, NewCard(uid4), NewCard(iso14443.UID{0x12, 0x34, 0x56, 0x79}))
	r.setUp()
	toREQA(r)
	r.write(regColl, 0x00) // ValuesAfterColl = 0
	r.start([]byte{iso14443.SEL1, 0x20}, 0)
	start := answerStart(r.clock.Now(), 16, 0)
	for k := range 5 {
		r.clock.AdvanceTo(byteIn(start, k).Add(200 * time.Nanosecond))
		s := r.sample()
		if int(s.level) != k+1 || s.err != 0 || s.irq&(irqRx|irqErr) != 0 {
			t.Errorf("byte %d in: FIFOLevel %d, ErrorReg %#02x, ComIrq %#02x; want %d, no error yet", k, s.level, s.err, s.irq, k+1)
		}
		if coll := r.read(regColl); coll != collPosNotValid {
			t.Errorf("byte %d in: CollReg %#02x, want 20 (no collision reported yet)", k, coll)
		}
	}
	r.clock.AdvanceTo(start.Add(iso14443.FrameAirTime(40)))
	s := r.sample()
	if s.err != errColl || s.irq&(irqRx|irqErr) != irqRx|irqErr {
		t.Errorf("end: ErrorReg %#02x, ComIrq %#02x; want CollErr, RxIRq and ErrIRq", s.err, s.irq)
	}
	if coll := r.read(regColl); coll != 25 {
		t.Errorf("end: CollReg %#02x, want 19 (CollPos 25)", coll)
	}
	if got, want := r.readFIFO(int(s.level)), []byte{0x12, 0x34, 0x56, 0x00, 0x00}; !equalBytes(got, want) {
		t.Errorf("FIFO: got %x, want %x", got, want)
	}
}

func TestFIFOReadDuringAnswer(t *testing.T) {
	// A host that reads the FIFO while the answer arrives takes those bytes
	// out; the rest still come, so FIFOLevelReg ends lower than the answer.
	cl := clBCC(uid4, 1)
	tests := []struct {
		name      string
		rxMode    byte
		send      []byte
		txBits    int
		nbytes    int // bytes of the answer on air
		readAfter int // air bytes in when the host reads
		read      int // FIFO reads in one frame
		wantRead  []byte
		wantFinal []byte // FIFO after RxIRq
	}{
		{"ANTICOLLISION, first byte in: read it", 0, []byte{iso14443.SEL1, 0x20}, 16, 5, 1, 1,
			cl[:1], cl[1:]},
		{"ANTICOLLISION, three bytes in: read two", 0, []byte{iso14443.SEL1, 0x20}, 16, 5, 3, 2,
			cl[:2], cl[2:]},
		{"ANTICOLLISION, two bytes in: read three; the third finds the FIFO empty (00), the rest still comes", 0,
			[]byte{iso14443.SEL1, 0x20}, 16, 5, 2, 3, []byte{cl[0], cl[1], 0x00}, cl[2:]},
		{"ANTICOLLISION, all five in before the end of frame: read them all", 0, []byte{iso14443.SEL1, 0x20}, 16, 5, 5, 5,
			cl, nil},
		{"SELECT with RxCRCEn, every byte on air: only the SAK is there to read", rxCRCEn, selectFrame(uid4, 1), 72, 3, 3, 1,
			[]byte{0x08}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, ChipOptions{}, NewCard(uid4))
			r.setUp()
			toREQA(r)
			r.write(regRxMode, tt.rxMode)
			r.start(tt.send, 0)
			start := answerStart(r.clock.Now(), tt.txBits, 0)
			r.clock.AdvanceTo(byteIn(start, tt.readAfter-1).Add(200 * time.Nanosecond))
			if got := r.readFIFO(tt.read); !equalBytes(got, tt.wantRead) {
				t.Errorf("read mid-answer: got %x, want %x", got, tt.wantRead)
			}
			if s := r.sample(); s.irq&irqRx != 0 || s.modem != 0b110 {
				t.Fatalf("after the read: ComIrq %#02x, ModemState %03b: the answer should still be arriving", s.irq, s.modem)
			}
			r.clock.AdvanceTo(start.Add(iso14443.FrameAirTime(8 * tt.nbytes)))
			s := r.sample()
			if s.irq&irqRx == 0 || s.err != 0 {
				t.Errorf("end of the answer: ComIrq %#02x, ErrorReg %#02x; want RxIRq, no error", s.irq, s.err)
			}
			if int(s.level) != len(tt.wantFinal) {
				t.Errorf("final FIFOLevel: got %d, want %d", s.level, len(tt.wantFinal))
			}
			if got := r.readFIFO(int(s.level)); !equalBytes(got, tt.wantFinal) {
				t.Errorf("final FIFO: got %x, want %x", got, tt.wantFinal)
			}
		})
	}
}

func TestRxCRCEnNeverExposesCRC(t *testing.T) {
	// A host polls FIFOLevelReg every few microseconds through the whole
	// answer and drains whatever appears: with RxCRCEn it never sees a
	// CRC byte, whatever the CRC check says.
	cl := clBCC(uid4, 1)
	tests := []struct {
		name    string
		prep    func(*rig)
		fault   FaultKind
		send    []byte
		framing byte
		want    []byte
		wantErr byte
	}{
		{"SELECT: SAK 08, CRC_A good", toREQA, FaultClear, selectFrame(uid4, 1), 0, []byte{0x08}, 0},
		{"SELECT with FaultCRC: CRCErr, the bad CRC_A is not stored either", toREQA, FaultCRC, selectFrame(uid4, 1), 0,
			[]byte{0x08}, errCRC},
		{"REQA: an ATQA has no CRC_A; its two bytes are taken for a bad one", nil, FaultClear,
			[]byte{iso14443.REQA}, 0x07, nil, errCRC},
		{"ANTICOLLISION: five bytes without CRC_A; three stored, the last two taken for a bad one", toREQA, FaultClear,
			[]byte{iso14443.SEL1, 0x20}, 0, cl[:3], errCRC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, ChipOptions{}, NewCard(uid4))
			r.setUp()
			if tt.prep != nil {
				tt.prep(r)
			}
			r.write(regRxMode, rxCRCEn)
			if tt.fault != FaultClear {
				r.chip.Inject(Fault{Kind: tt.fault})
			}
			r.start(tt.send, tt.framing)
			var got []byte
			maxLevel := 0
			var s regs
			for i := 0; ; i++ {
				s = r.sample()
				maxLevel = max(maxLevel, int(s.level))
				got = append(got, r.readFIFO(int(s.level))...)
				if s.irq&irqRx != 0 {
					break
				}
				if i > 2000 {
					t.Fatal("no RxIRq")
				}
				r.clock.Advance(2 * time.Microsecond)
			}
			got = append(got, r.readFIFO(int(r.read(regFIFOLevel)))...)
			if !equalBytes(got, tt.want) {
				t.Errorf("bytes seen: got %x, want %x", got, tt.want)
			}
			if maxLevel > len(tt.want) {
				t.Errorf("FIFOLevelReg reached %d, want at most %d", maxLevel, len(tt.want))
			}
			if e := r.read(regError); e != tt.wantErr {
				t.Errorf("ErrorReg: got %#02x, want %#02x", e, tt.wantErr)
			}
		})
	}
}

func TestAlertsDuringAnswer(t *testing.T) {
	// No command modelled here gets an answer longer than the 5 bytes of
	// CL+BCC (no READ), so an answer can never outgrow the 64-byte FIFO.
	// A high WaterLevel still shows the alerts following the FIFO as the
	// ANTICOLLISION answer arrives, before RxIRq.
	tests := []struct {
		name       string
		waterLevel byte
		bit        byte // Status1Reg bit
		at         int  // the alert changes once byte at of the answer is in
		on         bool // and is then on
		irq        byte // ComIrqReg bit latched at the change, or 0
	}{
		{"HiAlert, WaterLevel 60: on with the 4th byte (60 bytes free)", 60, st1HiAlert, 3, true, irqHiAlert},
		{"HiAlert, WaterLevel 63: on with the first byte", 63, st1HiAlert, 0, true, irqHiAlert},
		{"LoAlert, WaterLevel 2: off with the 3rd byte", 2, st1LoAlert, 2, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, ChipOptions{}, NewCard(uid4))
			r.setUp()
			toREQA(r)
			r.write(regWaterLevel, tt.waterLevel)
			r.start([]byte{iso14443.SEL1, 0x20}, 0)
			start := answerStart(r.clock.Now(), 16, 0)
			// Loading the frame may have raised alerts: start clean.
			r.write(regComIrq, irqHiAlert|irqLoAlert)

			r.clock.AdvanceTo(byteIn(start, tt.at).Add(-4 * time.Microsecond))
			st1, irq := r.read(regStatus1), r.read(regComIrq)
			if (st1&tt.bit != 0) == tt.on || (tt.irq != 0 && irq&tt.irq != 0) {
				t.Errorf("before byte %d: Status1Reg %#02x, ComIrqReg %#02x: alert already changed", tt.at, st1, irq)
			}
			r.clock.AdvanceTo(byteIn(start, tt.at).Add(200 * time.Nanosecond))
			st1, irq = r.read(regStatus1), r.read(regComIrq)
			if (st1&tt.bit != 0) != tt.on || (tt.irq != 0 && irq&tt.irq == 0) || irq&irqRx != 0 {
				t.Errorf("after byte %d: Status1Reg %#02x, ComIrqReg %#02x: want the alert changed (IRq %#02x), no RxIRq yet", tt.at, st1, irq, tt.irq)
			}
		})
	}
}

func TestBufferOvflDuringAnswer(t *testing.T) {
	// The host (wrongly: WrErr) fills the FIFO to 62 bytes while the
	// ANTICOLLISION answer is due. Its first two bytes fit, the other three
	// are lost; BufferOvfl shows at the end of the frame, not when the
	// first byte is dropped.
	r := newRig(t, ChipOptions{}, NewCard(uid4))
	r.setUp()
	toREQA(r)
	r.start([]byte{iso14443.SEL1, 0x20}, 0)
	start := answerStart(r.clock.Now(), 16, 0)
	r.clock.AdvanceTo(start.Add(-iso14443.FDTShort + 2*time.Microsecond))
	r.write(regFIFOData, make([]byte, 62)...)
	if r.clock.Now().After(start) {
		t.Fatal("the FIFO writes took longer than the frame delay time")
	}
	r.clock.AdvanceTo(byteIn(start, 2).Add(200 * time.Nanosecond))
	if s := r.sample(); s.level != 64 || s.err != errWr || s.irq&irqRx != 0 {
		t.Errorf("a byte dropped mid-answer: FIFOLevel %d, ErrorReg %#02x, ComIrq %#02x; want 64, WrErr only, no RxIRq", s.level, s.err, s.irq)
	}
	r.clock.AdvanceTo(start.Add(iso14443.FrameAirTime(40)))
	s := r.sample()
	if s.level != 64 || s.err != errWr|errBufferOvfl || s.irq&(irqRx|irqErr) != irqRx|irqErr {
		t.Errorf("end of the answer: FIFOLevel %d, ErrorReg %#02x, ComIrq %#02x; want 64, WrErr|BufferOvfl, RxIRq and ErrIRq", s.level, s.err, s.irq)
	}
	if got := r.readFIFO(64)[62:]; !equalBytes(got, clBCC(uid4, 1)[:2]) {
		t.Errorf("the last two FIFO bytes: got %x, want the first two of the answer", got)
	}
}

func TestHiAlertIRQDuringAnswer(t *testing.T) {
	// An IRQ waiter with only HiAlertIEn enabled wakes when the FIFO
	// crosses the water level mid-answer: the virtual clock moves to the
	// moment the 4th byte is in, not to the end of the answer.
	r := newRig(t, ChipOptions{}, NewCard(uid4))
	r.setUp()
	toREQA(r)
	pin := r.chip.IRQ()
	if err := pin.In(gpio.PullUp, gpio.FallingEdge); err != nil {
		t.Fatal(err)
	}
	r.write(regWaterLevel, 60)
	r.write(regComIEn, 0x80|irqHiAlert)
	r.start([]byte{iso14443.SEL1, 0x20}, 0)
	start := answerStart(r.clock.Now(), 16, 0)
	if !pin.WaitForEdge(-1) {
		t.Fatal("WaitForEdge(-1): false, want the HiAlert edge")
	}
	if got, want := r.clock.Now(), byteIn(start, 3); !got.Equal(want) {
		t.Errorf("edge at %v after the answer began, want %v (4th byte in)", got.Sub(start), want.Sub(start))
	}
	if s := r.sample(); s.level != 4 || s.modem != 0b110 || s.irq&irqRx != 0 {
		t.Errorf("at the edge: FIFOLevel %d, ModemState %03b, ComIrq %#02x; want 4, receiving, no RxIRq", s.level, s.modem, s.irq)
	}
}

func TestAnswerDelay(t *testing.T) {
	uid7a := NewCard(uid7).UID()
	tests := []struct {
		name      string
		cards     []*Card
		shift     time.Duration // how much later than standard the answer ends
		want      []byte
		wantErr   byte
		timerIRq  bool // the 25 ms timer expires before the answer
		bothReady bool
	}{
		{"no delay", []*Card{NewCard(uid4)}, 0, []byte{0x04, 0x00}, 0, false, false},
		{"150 µs late", []*Card{NewCard(uid4, WithAnswerDelay(150*time.Microsecond))},
			150 * time.Microsecond, []byte{0x04, 0x00}, 0, false, false},
		{"2 ms late", []*Card{NewCard(uid4, WithAnswerDelay(2*time.Millisecond))},
			2 * time.Millisecond, []byte{0x04, 0x00}, 0, false, false},
		{"a negative delay counts as 0", []*Card{NewCard(uid4, WithAnswerDelay(-time.Millisecond))},
			0, []byte{0x04, 0x00}, 0, false, false},
		{"30 ms late: TimerIRq first (25 ms), the answer still comes", []*Card{NewCard(uid4, WithAnswerDelay(30*time.Millisecond))},
			30 * time.Millisecond, []byte{0x04, 0x00}, 0, true, false},
		{"two cards 100 µs late together: they collide as usual",
			[]*Card{NewCard(uid4, WithAnswerDelay(100*time.Microsecond)), NewCard(uid7a, WithAnswerDelay(100*time.Microsecond))},
			100 * time.Microsecond, []byte{0x44, 0x00}, errColl, false, true},
		{"cards at 0 and 100 µs: only the first is heard, no collision, both READY",
			[]*Card{NewCard(uid4), NewCard(uid7a, WithAnswerDelay(100*time.Microsecond))},
			0, []byte{0x04, 0x00}, 0, false, true},
		{"cards at 300 and 100 µs: only the 100 µs one is heard",
			[]*Card{NewCard(uid4, WithAnswerDelay(300*time.Microsecond)), NewCard(uid7a, WithAnswerDelay(100*time.Microsecond))},
			100 * time.Microsecond, []byte{0x44, 0x00}, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, ChipOptions{}, tt.cards...)
			r.setUp()
			r.start([]byte{iso14443.REQA}, 0x07)
			sent := r.clock.Now()
			standard := answerStart(sent, 7, 0)
			end := standard.Add(tt.shift + iso14443.FrameAirTime(16))
			if tt.shift > 0 {
				r.clock.AdvanceTo(standard.Add(tt.shift / 2))
				if s := r.sample(); s.modem != 0b101 || s.level != 0 {
					t.Errorf("half-way through the delay: ModemState %03b, FIFOLevel %d; want 101 (waiting for the answer), 0", s.modem, s.level)
				}
			}
			r.clock.AdvanceTo(end.Add(-5 * time.Microsecond)) // sample reads ComIrqReg 2.4 µs later
			s := r.sample()
			if s.irq&irqRx != 0 {
				t.Errorf("ComIrqReg %#02x before the end of the answer: RxIRq already set", s.irq)
			}
			if got := s.irq&irqTimer != 0; got != tt.timerIRq {
				t.Errorf("TimerIRq before the answer: %v, want %v", got, tt.timerIRq)
			}
			s = r.sample()
			if s.irq&irqRx == 0 {
				t.Errorf("ComIrqReg %#02x after the end of the answer: RxIRq not set", s.irq)
			}
			if s.err != tt.wantErr {
				t.Errorf("ErrorReg: got %#02x, want %#02x", s.err, tt.wantErr)
			}
			if got := r.readFIFO(int(s.level)); !equalBytes(got, tt.want) {
				t.Errorf("FIFO: got %x, want %x", got, tt.want)
			}
			if tt.bothReady {
				for _, c := range tt.cards {
					if st := c.State(); st != CardReady {
						t.Errorf("%v: %v, want READY (every card acts on the REQA)", c, st)
					}
				}
			}
		})
	}
}

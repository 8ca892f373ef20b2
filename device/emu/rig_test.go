package emu

import (
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/device/iso14443"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// t0 is when every test's virtual clock starts.
var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

// UIDs used throughout: one of each size.
var (
	uid4  = iso14443.UID{0x12, 0x34, 0x56, 0x78}
	uid7  = iso14443.UID{0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6}
	uid10 = iso14443.UID{0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99}
)

// rig is a test bench: a chip on a virtual clock and a host that speaks
// the chip's SPI framing one register at a time, as a simple driver does.
type rig struct {
	t     testing.TB
	clock *VirtualClock
	chip  *Chip
}

func newRig(t testing.TB, opts ChipOptions, cards ...*Card) *rig {
	t.Helper()
	clock := NewVirtualClock(t0)
	r := &rig{t: t, clock: clock, chip: NewChip(clock, opts)}
	r.chip.Place(cards...)
	return r
}

// write sends one write frame: the address byte, then data for that register.
func (r *rig) write(reg byte, data ...byte) {
	r.t.Helper()
	if err := r.chip.Tx(append([]byte{reg << 1}, data...), nil); err != nil {
		r.t.Fatalf("write %#02x: %v", reg, err)
	}
}

// read sends one read frame, address then 00, and returns the second MISO byte.
func (r *rig) read(reg byte) byte {
	r.t.Helper()
	rx := make([]byte, 2)
	if err := r.chip.Tx([]byte{0x80 | reg<<1, 0}, rx); err != nil {
		r.t.Fatalf("read %#02x: %v", reg, err)
	}
	return rx[1]
}

// readFIFO reads n FIFO bytes in one frame: the FIFO address n times, then 00.
func (r *rig) readFIFO(n int) []byte {
	r.t.Helper()
	if n == 0 {
		return nil
	}
	w := make([]byte, n+1)
	for i := range n {
		w[i] = 0x80 | regFIFOData<<1
	}
	rx := make([]byte, n+1)
	if err := r.chip.Tx(w, rx); err != nil {
		r.t.Fatalf("read fifo: %v", err)
	}
	return rx[1:]
}

// setUp configures the chip the way common drivers do and switches the
// field on, then waits out the 5 ms guard time:
//
//	TModeReg      80  TAuto: the timer starts when a frame has been sent
//	TPrescalerReg A9  169: 13.56 MHz/339 = 40 kHz, 25 µs per tick
//	TReloadReg    03E8 1000 ticks: a 25 ms answer timeout
//	TxASKReg      40  100 % ASK
//	ModeReg       3D  CRC preset 6363, TxWaitRF
//	TxControlReg  83  Tx1RFEn, Tx2RFEn: field on
func (r *rig) setUp() {
	r.t.Helper()
	r.write(regTMode, 0x80)
	r.write(regTPrescaler, 0xA9)
	r.write(regTReloadH, 0x03)
	r.write(regTReloadL, 0xE8)
	r.write(regTxASK, 0x40)
	r.write(regMode, 0x3D)
	r.write(regTxControl, 0x83)
	r.clock.Advance(iso14443.FieldGuard)
}

// answer is what one exchange left in the chip.
type answer struct {
	data     []byte // FIFO content
	lastBits byte   // ControlReg.RxLastBits
	irq      byte   // ComIrqReg when polling stopped
	err      byte   // ErrorReg
	coll     byte   // CollReg
}

func (a answer) timedOut() bool { return a.irq&irqRx == 0 && a.irq&irqTimer != 0 }

// start begins a Transceive exchange: Idle, clear interrupts, flush, load the
// FIFO, set BitFramingReg, Transceive, StartSend.
func (r *rig) start(frame []byte, framing byte) {
	r.t.Helper()
	r.write(regCommand, cmdIdle)
	r.write(regComIrq, 0x7F)
	r.write(regFIFOLevel, fifoFlushBuffer)
	r.write(regFIFOData, frame...)
	r.write(regBitFraming, framing)
	r.write(regCommand, cmdTransceive)
	r.write(regBitFraming, framing|bfStartSend)
}

// wait polls ComIrqReg, letting 10 µs pass between polls, until RxIRq or
// TimerIRq, and collects the answer.
func (r *rig) wait() answer {
	r.t.Helper()
	var irq byte
	for i := 0; ; i++ {
		irq = r.read(regComIrq)
		if irq&(irqRx|irqTimer) != 0 {
			break
		}
		if i > 100000 {
			r.t.Fatalf("neither RxIRq nor TimerIRq after %d polls", i)
		}
		r.clock.Advance(10 * time.Microsecond)
	}
	a := answer{irq: irq, err: r.read(regError), coll: r.read(regColl), lastBits: r.read(regControl) & ctlRxLastBits}
	a.data = r.readFIFO(int(r.read(regFIFOLevel)))
	return a
}

// transceive runs one exchange.
func (r *rig) transceive(frame []byte, framing byte) answer {
	r.t.Helper()
	r.start(frame, framing)
	return r.wait()
}

// clBCC returns cascade level n of uid followed by its BCC.
func clBCC(uid iso14443.UID, n int) []byte {
	cl := uid.CascadeLevel(n)
	return append(cl[:], iso14443.BCC(cl[:]))
}

// selectFrame is SELECT for cascade level n of uid: SEL, 70, CLn, BCC, CRC_A.
func selectFrame(uid iso14443.UID, n int) []byte {
	return iso14443.AppendCRCA(append([]byte{iso14443.SelectCommand(n), iso14443.NVBSelect}, clBCC(uid, n)...))
}

// activate runs REQA and the full cascade for uid, failing the test on any
// unexpected answer.
func (r *rig) activate(uid iso14443.UID) {
	r.t.Helper()
	if a := r.transceive([]byte{iso14443.REQA}, 0x07); len(a.data) != 2 {
		r.t.Fatalf("REQA: got %x, want an ATQA", a.data)
	}
	for n := 1; n <= uid.Levels(); n++ {
		if a := r.transceive([]byte{iso14443.SelectCommand(n), 0x20}, 0); !equalBytes(a.data, clBCC(uid, n)) {
			r.t.Fatalf("ANTICOLLISION CL%d: got %x, want %x", n, a.data, clBCC(uid, n))
		}
		if a := r.transceive(selectFrame(uid, n), 0); len(a.data) != 3 {
			r.t.Fatalf("SELECT CL%d: got %x, want SAK+CRC", n, a.data)
		}
	}
}

func equalBytes(a, b []byte) bool { return string(a) == string(b) }

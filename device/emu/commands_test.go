package emu

import (
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/device/iso14443"
)

func TestTxFraming(t *testing.T) {
	// The same framing through plain Tx calls: three FIFO bytes written in
	// one frame, read back in one frame by repeating the FIFO address.
	r := newRig(t, ChipOptions{})
	if err := r.chip.Tx([]byte{regFIFOData << 1, 0x01, 0x02, 0x03}, nil); err != nil {
		t.Fatal(err)
	}
	rx := make([]byte, 4)
	fifo := byte(0x80 | regFIFOData<<1)
	if err := r.chip.Tx([]byte{fifo, fifo, fifo, 0x00}, rx); err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x00, 0x01, 0x02, 0x03}; !equalBytes(rx, want) {
		t.Errorf("MISO: got % x, want % x", rx, want)
	}
	if err := r.chip.Tx([]byte{fifo, 0}, make([]byte, 3)); err == nil {
		t.Error("Tx with buffers of different lengths: no error")
	}
}

func TestTransmitEndsByItself(t *testing.T) {
	// Transmit sends the FIFO without StartSend and ends with TxIRq and
	// IdleIRq; the card acts on the frame, but nothing is received.
	card := NewCard(uid4)
	r := newRig(t, ChipOptions{}, card)
	r.setUp()
	r.write(regComIrq, 0x7F)
	r.write(regFIFOData, iso14443.REQA)
	r.write(regBitFraming, 0x07)
	r.write(regCommand, cmdTransmit)
	if got := r.read(regStatus2) & 0x07; got != 0b011 {
		t.Errorf("ModemState while sending: got %03b, want 011", got)
	}
	r.clock.Advance(time.Millisecond)
	if got := r.read(regComIrq); got&(irqTx|irqIdle) != irqTx|irqIdle || got&irqRx != 0 {
		t.Errorf("ComIrqReg: got %#02x, want TxIRq and IdleIRq, no RxIRq", got)
	}
	if got := r.read(regCommand) & cmdMask; got != cmdIdle {
		t.Errorf("command: got %#x, want Idle", got)
	}
	if got := card.State(); got != CardReady {
		t.Errorf("card: got %v, want READY: it answered, unheard", got)
	}
}

func TestTransceiveStaysActive(t *testing.T) {
	// After an answer Transceive waits for StartSend again (ModemState
	// 001) and a new StartSend sends the FIFO again; Idle cancels it.
	r := newRig(t, ChipOptions{}, NewCard(uid4))
	r.setUp()
	r.transceive([]byte{iso14443.REQA}, 0x07)
	if got := r.read(regCommand) & cmdMask; got != cmdTransceive {
		t.Fatalf("command after the answer: got %#x, want Transceive", got)
	}
	if got := r.read(regStatus2) & 0x07; got != 0b001 {
		t.Errorf("ModemState: got %03b, want 001 (waiting for StartSend)", got)
	}
	r.write(regComIrq, 0x7F)
	r.write(regFIFOData, iso14443.SEL1, 0x20)
	r.write(regBitFraming, bfStartSend)
	a := r.wait()
	if !equalBytes(a.data, clBCC(uid4, 1)) {
		t.Errorf("second exchange: got %x, want %x", a.data, clBCC(uid4, 1))
	}
	r.write(regCommand, cmdIdle)
	if got := r.read(regStatus2) & 0x07; got != 0 {
		t.Errorf("ModemState after Idle: got %03b, want 000", got)
	}
}

func TestRcvOff(t *testing.T) {
	// CommandReg.RcvOff switches the receiver off: the card answers, the
	// chip hears nothing and only the timer ends the wait.
	card := NewCard(uid4)
	r := newRig(t, ChipOptions{}, card)
	r.setUp()
	r.write(regComIrq, 0x7F)
	r.write(regFIFOData, iso14443.REQA)
	r.write(regBitFraming, 0x07)
	r.write(regCommand, cmdRcvOff|cmdTransceive)
	r.write(regBitFraming, 0x87)
	if a := r.wait(); !a.timedOut() {
		t.Errorf("got %x, want a timeout", a.data)
	}
	if got := card.State(); got != CardReady {
		t.Errorf("card: got %v, want READY", got)
	}
}

func TestReceiveWaitsForData(t *testing.T) {
	r := newRig(t, ChipOptions{})
	r.setUp()
	r.write(regCommand, cmdReceive)
	r.clock.Advance(time.Second)
	if got := r.read(regStatus2) & 0x07; got != 0b101 {
		t.Errorf("ModemState: got %03b, want 101 (wait for data)", got)
	}
	if got := r.read(regCommand) & cmdMask; got != cmdReceive {
		t.Errorf("command: got %#x, want Receive: no card talks by itself", got)
	}
}

func TestMFAuthent(t *testing.T) {
	t.Run("a short FIFO: ProtocolErr and the command ends", func(t *testing.T) {
		r := newRig(t, ChipOptions{})
		r.write(regComIrq, 0x7F)
		r.write(regFIFOData, 0x60, 0x04)
		r.write(regCommand, cmdMFAuthent)
		if got := r.read(regError); got != errProtocol {
			t.Errorf("ErrorReg: got %#02x, want ProtocolErr", got)
		}
		if got := r.read(regComIrq); got&(irqIdle|irqErr) != irqIdle|irqErr {
			t.Errorf("ComIrqReg: got %#02x, want IdleIRq and ErrIRq", got)
		}
	})
	t.Run("Crypto1 is not modelled: the selected card stays silent, the timer ends the wait", func(t *testing.T) {
		card := NewCard(uid4)
		r := newRig(t, ChipOptions{}, card)
		r.setUp()
		r.activate(uid4)
		r.write(regCommand, cmdIdle)
		r.write(regComIrq, 0x7F)
		r.write(regFIFOLevel, fifoFlushBuffer)
		key := []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
		r.write(regFIFOData, append(append([]byte{0x60, 0x04}, key...), uid4...)...)
		r.write(regCommand, cmdMFAuthent)
		r.write(regFIFOData, 0x00)
		if got := r.read(regError); got&errWr == 0 {
			t.Errorf("ErrorReg: got %#02x, want WrErr for a FIFO write during MFAuthent", got)
		}
		r.clock.Advance(30 * time.Millisecond)
		if got := r.read(regComIrq); got&(irqTimer|irqIdle) != irqTimer {
			t.Errorf("ComIrqReg: got %#02x, want TimerIRq without IdleIRq", got)
		}
		if got := r.read(regStatus2); got&st2MFCrypto1 != 0 {
			t.Errorf("Status2Reg %#02x: MFCrypto1On set", got)
		}
		if got := card.State(); got != CardIdle {
			t.Errorf("card: got %v, want IDLE (an unexpected frame in ACTIVE)", got)
		}
	})
}

func TestWrErr(t *testing.T) {
	// Writing the FIFO while the chip waits for an answer is WrErr; the
	// next command clears it.
	r := newRig(t, ChipOptions{})
	r.setUp()
	r.start([]byte{iso14443.REQA}, 0x07)
	r.clock.Advance(time.Millisecond)
	r.write(regFIFOData, 0x26)
	if got := r.read(regError); got != errWr {
		t.Errorf("ErrorReg: got %#02x, want WrErr", got)
	}
	r.write(regCommand, cmdIdle)
	if got := r.read(regError); got != 0 {
		t.Errorf("ErrorReg after Idle: got %#02x, want 0", got)
	}
}

package emu

import (
	"errors"
	"fmt"
)

// ErrBusFault is returned by Tx and TxPackets while a FaultBusError is
// pending.
var ErrBusFault = errors.New("injected spi bus error")

// FaultKind names a fault Inject can arrange.
type FaultKind int

// Faults. Counted faults apply to the next Count events of their kind
// (Count below 1 counts as 1); a new Inject of the same kind replaces the
// count. FaultMissing and FaultMissingFF last until FaultClear.
const (
	// FaultClear removes every pending fault.
	FaultClear FaultKind = iota
	// FaultCRC corrupts the next Count card answers: two bits of the last
	// byte flip (parity stays right), so the CRC_A or BCC no longer
	// matches; with RxModeReg.RxCRCEn the chip reports CRCErr.
	FaultCRC
	// FaultParity makes the next Count card answers arrive with a parity
	// error: ErrorReg.ParityErr, data unchanged.
	FaultParity
	// FaultProtocol makes the next Count card answers arrive with a bad
	// start of frame: ErrorReg.ProtocolErr, nothing stored in the FIFO,
	// RxIRq and ErrIRq raised.
	FaultProtocol
	// FaultNoAnswer makes every card ignore the next Count frames the chip
	// sends: no answer and no state change, as if the frame were lost.
	FaultNoAnswer
	// FaultBusError makes the next Count Tx or TxPackets calls fail with
	// ErrBusFault; nothing reaches the chip, but the call still counts as a
	// transfer and costs TransferLatency.
	FaultBusError
	// FaultMissing takes the chip off the bus: every byte read is 0x00
	// (VersionReg too) and writes are lost, until FaultClear. The chip
	// itself keeps running, as with a broken MISO/CS wire.
	FaultMissing
	// FaultMissingFF is FaultMissing with MISO pulled high: every byte
	// read is 0xFF.
	FaultMissingFF
)

// String names the fault kind.
func (k FaultKind) String() string {
	switch k {
	case FaultClear:
		return "clear"
	case FaultCRC:
		return "crc"
	case FaultParity:
		return "parity"
	case FaultProtocol:
		return "protocol"
	case FaultNoAnswer:
		return "no-answer"
	case FaultBusError:
		return "bus-error"
	case FaultMissing:
		return "missing"
	case FaultMissingFF:
		return "missing-ff"
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault is a fault to inject: its kind and, for counted kinds, how many
// events it affects.
type Fault struct {
	Kind  FaultKind
	Count int
}

// faults holds the pending faults.
type faults struct {
	crc, parity, protocol, noAnswer, bus int
	missing                              bool
	missingByte                          byte // what MISO reads while missing
}

// Inject arranges a fault; see FaultKind for what each does.
func (c *Chip) Inject(f Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sync(c.now())
	n := max(f.Count, 1)
	fs := &c.m.faults
	switch f.Kind {
	case FaultClear:
		*fs = faults{}
	case FaultCRC:
		fs.crc = n
	case FaultParity:
		fs.parity = n
	case FaultProtocol:
		fs.protocol = n
	case FaultNoAnswer:
		fs.noAnswer = n
	case FaultBusError:
		fs.bus = n
	case FaultMissing:
		fs.missing, fs.missingByte = true, 0x00
	case FaultMissingFF:
		fs.missing, fs.missingByte = true, 0xFF
	}
	c.notify()
}

// applyAnswerFaults applies the pending answer faults to a reception.
func (c *Chip) applyAnswerFaults(rx *reception) {
	fs := &c.m.faults
	if fs.crc > 0 {
		fs.crc--
		g := bitFrame{b: append([]byte(nil), rx.f.b...), n: rx.f.n}
		last := (g.n - 1) / 8
		mask := byte(0x03)
		if r := g.n & 7; r == 1 {
			mask = 0x01
		}
		g.b[last] ^= mask
		rx.f = g
	}
	if fs.parity > 0 {
		fs.parity--
		rx.parityErr = true
	}
	if fs.protocol > 0 {
		fs.protocol--
		rx.protocolErr = true
	}
}

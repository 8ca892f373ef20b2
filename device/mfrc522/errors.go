package mfrc522

import (
	"errors"
	"fmt"
)

// Conditions a frame exchange can end in. FrameError wraps them, so callers
// branch with errors.Is.
var (
	// ErrNoCard: nobody answered before the chip's timer ran out.
	ErrNoCard = errors.New("no card answered")
	// ErrCollision: several cards answered with different bits. During
	// anticollision the driver resolves it; elsewhere it is reported.
	ErrCollision = errors.New("bit collision")
	// ErrCRC: the answer's CRC_A was wrong (ErrorReg CRCErr).
	ErrCRC = errors.New("crc error")
	// ErrParity: a parity bit was wrong (ErrorReg ParityErr).
	ErrParity = errors.New("parity error")
	// ErrProtocol: SOF or frame length wrong (ErrorReg ProtocolErr), or an
	// answer that does not fit ISO/IEC 14443-3 (wrong length, bad BCC, a
	// cascade tag where none may be).
	ErrProtocol = errors.New("protocol error")
	// ErrBufferOverflow: the answer did not fit the 64-byte FIFO.
	ErrBufferOverflow = errors.New("fifo overflow")
	// ErrOverheat: the antenna drivers were switched off by the chip's
	// temperature sensor (ErrorReg TempErr).
	ErrOverheat = errors.New("antenna drivers overheated")
	// ErrChipStuck: the chip neither finished nor timed out in time.
	ErrChipStuck = errors.New("chip did not complete the command")
	// ErrChipLost: the chip stopped answering on the bus (VersionReg no
	// longer reads what it read at New): a loose cable or lost power.
	ErrChipLost = errors.New("reader chip lost")
)

// FrameError is a failed exchange with a card: which reader, which step,
// the condition and the raw ErrorReg value.
type FrameError struct {
	Reader   string
	Op       string // "REQA", "ANTICOLLISION CL2", "SELECT CL1", ...
	ErrorReg byte
	Err      error
}

func (e *FrameError) Error() string {
	if e.ErrorReg != 0 {
		return fmt.Sprintf("mfrc522 %s: %s: %v (ErrorReg %#02x)", e.Reader, e.Op, e.Err, e.ErrorReg)
	}
	return fmt.Sprintf("mfrc522 %s: %s: %v", e.Reader, e.Op, e.Err)
}

func (e *FrameError) Unwrap() error { return e.Err }

// CollisionError carries where the first collision was: the bit position
// within the received frame, counted from bit 0 of the first FIFO byte
// (RxAlign bits included), 1-based as CollReg gives it.
type CollisionError struct {
	Pos int
}

func (e *CollisionError) Error() string        { return fmt.Sprintf("bit collision at bit %d", e.Pos) }
func (e *CollisionError) Is(target error) bool { return target == ErrCollision }

// Retryable reports whether repeating the exchange may succeed: transient
// radio errors (CRC, parity, protocol, a collision outside anticollision).
// A missing card, a bus failure or an overheated chip are not retryable.
func Retryable(err error) bool {
	return errors.Is(err, ErrCRC) || errors.Is(err, ErrParity) ||
		errors.Is(err, ErrProtocol) || errors.Is(err, ErrCollision)
}

// NoChipError is returned by New when VersionReg does not read as an
// MFRC522: nothing on that chip select, wiring or power at fault.
type NoChipError struct {
	Reader  string
	Version byte
	Reads   int
}

func (e *NoChipError) Error() string {
	hint := "check 3.3 V power, GND, MISO/MOSI/SCK wiring and that the chip select matches"
	switch e.Version {
	case 0x00:
		hint = "MISO reads all zeros: " + hint
	case 0xFF:
		hint = "MISO floats high (nothing driving it): " + hint
	}
	return fmt.Sprintf("mfrc522 %s: no reader chip answered: VersionReg (0x37) read %#02x after %d tries, want 0x91 or 0x92 (or a clone's 0x88/0x12/0xB2); %s",
		e.Reader, e.Version, e.Reads, hint)
}

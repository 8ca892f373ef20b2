package mfrc522

import (
	"errors"
	"fmt"
	"time"

	"github.com/pkfreelance/seatgate/device/iso14443"
)

// ATQA is a card's answer to request, first byte received in the low byte.
type ATQA uint16

// Card is an activated card.
type Card struct {
	UID  iso14443.UID
	ATQA ATQA
	SAK  byte // the final SAK (cascade bit clear)
}

// activationAttempts bounds how often Activate restarts after a retryable
// radio error.
const activationAttempts = 3

// StartRequest sends REQA (wake=false: only cards in IDLE answer, so halted
// cards already seen stay quiet) or WUPA (wake=true: halted cards answer
// too) and returns without waiting. The answer is due at RequestDue.
func (d *Dev) StartRequest(wake bool) error {
	cmd, op := byte(iso14443.REQA), "REQA"
	if wake {
		cmd, op = iso14443.WUPA, "WUPA"
	}
	return d.start(op, []byte{cmd}, 7, 0, false, 16)
}

// RequestDue is when the answer to the request started last should be in.
func (d *Dev) RequestDue() time.Time { return d.pending.dueAt }

// FinishRequest reads the answer to StartRequest. errors.Is(err, ErrNoCard)
// means the field is empty (of cards in the requested states). Cards with
// different ATQAs collide, and a weak answer may arrive with a parity or
// CRC error; either way something answered, so a retryable radio error
// returns the ATQA bits that were read and no error: activation sorts it
// out.
func (d *Dev) FinishRequest() (ATQA, error) {
	a, err := d.finish()
	if err != nil && !Retryable(err) {
		return 0, err
	}
	var atqa ATQA
	if len(a.data) > 0 {
		atqa = ATQA(a.data[0])
	}
	if len(a.data) > 1 {
		atqa |= ATQA(a.data[1]) << 8
	}
	if err == nil && a.validBits != 16 {
		return 0, &FrameError{Reader: d.name, Op: d.pendingOp(), Err: fmt.Errorf("%w: ATQA of %d bits", ErrProtocol, a.validBits)}
	}
	return atqa, nil
}

func (d *Dev) pendingOp() string { return d.pending.op }

// Request sends REQA or WUPA and waits for the answer.
func (d *Dev) Request(wake bool) (ATQA, error) {
	if err := d.StartRequest(wake); err != nil {
		return 0, err
	}
	return d.FinishRequest()
}

// Activate selects one card after a request that was answered: bit-oriented
// anticollision and SELECT at each cascade level the SAK asks for. With
// several cards in the field it picks the one whose UID has a 0 at the
// first colliding bit, every time; the others return to IDLE (or HALT) and
// answer the next request. On a retryable radio error it restarts from the
// request (wake as given), up to activationAttempts times.
func (d *Dev) Activate(atqa ATQA, wake bool) (Card, error) {
	var err error
	for attempt := 1; ; attempt++ {
		var c Card
		c, err = d.activateOnce()
		if err == nil {
			c.ATQA = atqa
			return c, nil
		}
		if !Retryable(err) || attempt == activationAttempts {
			return Card{}, err
		}
		d.stats.Retries++
		// A card that saw an error frame, or that was already selected,
		// drops to IDLE (HALT) without answering; the second request wakes it.
		if atqa, err = d.Request(wake); errors.Is(err, ErrNoCard) {
			atqa, err = d.Request(wake)
		}
		if err != nil {
			return Card{}, err
		}
	}
}

func (d *Dev) activateOnce() (Card, error) {
	var uid iso14443.UID
	for level := 1; level <= 3; level++ {
		cl, err := d.anticollision(level)
		if err != nil {
			return Card{}, err
		}
		sak, err := d.selectLevel(level, cl)
		if err != nil {
			return Card{}, err
		}
		if sak&iso14443.SAKCascade != 0 {
			if cl[0] != iso14443.CT || level == 3 {
				return Card{}, &FrameError{Reader: d.name, Op: fmt.Sprintf("SELECT CL%d", level),
					Err: fmt.Errorf("%w: SAK %#02x asks for another level after % X", ErrProtocol, sak, cl)}
			}
			uid = append(uid, cl[1:]...)
			continue
		}
		if cl[0] == iso14443.CT {
			return Card{}, &FrameError{Reader: d.name, Op: fmt.Sprintf("SELECT CL%d", level),
				Err: fmt.Errorf("%w: cascade tag in the last level % X", ErrProtocol, cl)}
		}
		uid = append(uid, cl[:]...)
		return Card{UID: uid, SAK: sak}, nil
	}
	panic("unreachable")
}

// anticollision finds the four UID bytes of one cascade level bit by bit.
func (d *Dev) anticollision(level int) ([4]byte, error) {
	op := fmt.Sprintf("ANTICOLLISION CL%d", level)
	var known [5]byte // CLn and BCC
	k := 0            // bits of known that are settled
	for k < 40 {
		whole, partial := k/8, k%8
		n := whole
		if partial > 0 {
			n++
		}
		frame := make([]byte, 0, 7)
		frame = append(frame, iso14443.SelectCommand(level), byte((2+whole)<<4|partial))
		frame = append(frame, known[:n]...)
		if err := d.start(op, frame, partial, partial, false, 40-k); err != nil {
			return [4]byte{}, err
		}
		a, err := d.finish()
		var ce *CollisionError
		switch {
		case errors.As(err, &ce):
			// CollPos counts from bit 0 of the first FIFO byte, which
			// lines up with byte `whole` of CLn; bits before it are valid.
			if ce.Pos == 0 {
				return [4]byte{}, &FrameError{Reader: d.name, Op: op, Err: fmt.Errorf("%w: collision position not valid", ErrProtocol)}
			}
			at := whole*8 + ce.Pos - 1
			if at < k || at >= 40 {
				return [4]byte{}, &FrameError{Reader: d.name, Op: op, Err: fmt.Errorf("%w: collision at bit %d with %d bits known", ErrProtocol, at, k)}
			}
			mergeBits(&known, a.data, whole, partial, ce.Pos-1)
			known[at/8] &^= 1 << (at % 8) // take the 0 branch
			k = at + 1
		case err != nil:
			return [4]byte{}, err
		default:
			if whole*8+a.validBits != 40 {
				return [4]byte{}, &FrameError{Reader: d.name, Op: op, Err: fmt.Errorf("%w: answer ends at bit %d, want 40", ErrProtocol, whole*8+a.validBits)}
			}
			mergeBits(&known, a.data, whole, partial, a.validBits)
			k = 40
		}
	}
	if iso14443.BCC(known[:4]) != known[4] {
		return [4]byte{}, &FrameError{Reader: d.name, Op: op, Err: fmt.Errorf("%w: BCC %02X does not match % X", ErrProtocol, known[4], known[:4])}
	}
	return [4]byte(known[:4]), nil
}

// mergeBits copies bits [from, to) of the received buffer into known,
// where buffer bit i is CLn bit whole*8+i.
func mergeBits(known *[5]byte, data []byte, whole, from, to int) {
	for i := from; i < to && i/8 < len(data); i++ {
		abs := whole*8 + i
		if abs >= 40 {
			return
		}
		mask := byte(1) << (abs % 8)
		if data[i/8]&(1<<(i%8)) != 0 {
			known[abs/8] |= mask
		} else {
			known[abs/8] &^= mask
		}
	}
}

// selectLevel sends SELECT for one cascade level and returns the SAK. The
// chip appends and checks CRC_A itself.
func (d *Dev) selectLevel(level int, cl [4]byte) (byte, error) {
	op := fmt.Sprintf("SELECT CL%d", level)
	frame := []byte{iso14443.SelectCommand(level), iso14443.NVBSelect, cl[0], cl[1], cl[2], cl[3], iso14443.BCC(cl[:])}
	if err := d.start(op, frame, 0, 0, true, 8); err != nil {
		return 0, err
	}
	a, err := d.finish()
	if err != nil {
		return 0, err
	}
	if len(a.data) != 1 || a.validBits != 8 {
		return 0, &FrameError{Reader: d.name, Op: op, Err: fmt.Errorf("%w: SAK of %d bits", ErrProtocol, a.validBits)}
	}
	return a.data[0], nil
}

// SelectUID selects a card whose UID is already known, after a WUPA, with
// no anticollision: only that card answers. It is how a scanner checks that
// a card it has seen is still in the field. errors.Is(err, ErrNoCard) means
// it is gone.
func (d *Dev) SelectUID(uid iso14443.UID) (sak byte, err error) {
	levels := uid.Levels()
	if levels == 0 {
		return 0, fmt.Errorf("mfrc522 %s: select %s: %w", d.name, uid, iso14443.ErrUIDLength)
	}
	for level := 1; level <= levels; level++ {
		sak, err = d.selectLevel(level, uid.CascadeLevel(level))
		if err != nil {
			return 0, err
		}
		if more := sak&iso14443.SAKCascade != 0; more != (level < levels) {
			return 0, &FrameError{Reader: d.name, Op: fmt.Sprintf("SELECT CL%d", level),
				Err: fmt.Errorf("%w: SAK %#02x at level %d of %d", ErrProtocol, sak, level, levels)}
		}
	}
	return sak, nil
}

// Halt sends HLTA to the selected card. No answer is expected; the driver
// does not wait for one, only for the frame to leave before the next.
func (d *Dev) Halt() error {
	return d.start("HLTA", []byte{iso14443.HLTA0, iso14443.HLTA1}, 0, 0, true, 0)
}

// ReadUID is the simple blocking read: REQA, anticollision and select at
// every level, HLTA. errors.Is(err, ErrNoCard) when the field is empty.
func (d *Dev) ReadUID() (Card, error) {
	atqa, err := d.Request(false)
	if err != nil {
		return Card{}, err
	}
	c, err := d.Activate(atqa, false)
	if err != nil {
		return Card{}, err
	}
	return c, d.Halt()
}

package mfrc522

import (
	"fmt"
	"time"

	"github.com/pkfreelance/seatgate/device/iso14443"
)

// exchange is one frame sent to the cards and the answer expected back.
type exchange struct {
	active     bool
	op         string
	crc        bool
	expectBits int       // answer length in data bits (CRC excluded); 0: no answer expected
	dueAt      time.Time // when the answer should have fully arrived
	deadline   time.Time // after this the chip is declared stuck
}

// The answer margin is added to the computed end of a card's answer before
// the driver reads it. It starts small and covers the PCD's own
// start-of-transmission delay; each time a read finds an answer still
// arriving, the margin grows (to a bound), so a chip or card that is
// slower than the standard's timing costs a few retried exchanges once,
// not a failure on every read.
const (
	answerMarginStart = 30 * time.Microsecond
	answerMarginStep  = 50 * time.Microsecond
	answerMarginMax   = 500 * time.Microsecond
)

// start loads frame into the FIFO and starts a Transceive, all in one bus
// transfer: CRC mode (only when it changes), Idle, clear interrupts, flush,
// FIFO data, Transceive, StartSend with the bit framing.
func (d *Dev) start(op string, frame []byte, txLastBits, rxAlign int, crc bool, expectBits int) error {
	if err := d.guard(); err != nil {
		return err
	}
	b := &d.b
	b.reset()
	want := int8(0)
	mode := byte(0)
	if crc {
		want, mode = 1, crcEnable
	}
	if d.crc != want {
		b.write(regTxMode, mode)
		b.write(regRxMode, mode)
	}
	b.write(regCommand, cmdIdle)
	b.write(regComIrq, irqAllCom) // Set1=0: clear every bit
	b.write(regFIFOLevel, flushBuffer)
	b.write(regFIFOData, frame...)
	b.write(regCommand, cmdTransceive)
	b.write(regBitFraming, startSend|byte(rxAlign&7)<<4|byte(txLastBits&7))
	if err := d.run(b); err != nil {
		d.crc = -1
		return err
	}
	d.crc = want
	d.stats.Frames++

	txBits := len(frame) * 8
	if txLastBits != 0 {
		txBits -= 8 - txLastBits
	}
	if crc {
		txBits += 16
	}
	now := d.clk.Now()
	txEnd := now.Add(iso14443.FrameAirTime(txBits))
	d.busyUntil = txEnd
	due := txEnd
	if expectBits > 0 {
		rxBits := expectBits
		if crc {
			rxBits += 16
		}
		due = due.Add(iso14443.FDTShort + iso14443.FrameAirTime(rxBits) + d.margin)
	}
	d.pending = exchange{
		active:     expectBits > 0,
		op:         op,
		crc:        crc,
		expectBits: expectBits,
		dueAt:      due,
		deadline:   txEnd.Add(d.timeout + 2*time.Millisecond),
	}
	return nil
}

// answer is what came back from the cards.
type answer struct {
	data      []byte
	validBits int // bits in data, counting RxAlign bits of the first byte
}

// finish waits for the pending exchange and reads the answer: status
// registers and the expected FIFO bytes in one chip-select frame.
func (d *Dev) finish() (answer, error) {
	p := d.pending
	d.pending.active = false
	if !p.active {
		return answer{}, &FrameError{Reader: d.name, Op: "finish", Err: ErrProtocol}
	}
	d.waitUntil(p.dueAt, p.deadline)
	expectBytes := (p.expectBits + 7) / 8
	prefetch := true
	lost := false // a FIFO read raced an answer still arriving
	for {
		b := &d.b
		b.reset()
		// VersionReg rides along at no cost: a chip that fell off the bus
		// (cable, power) reads 0x00 or 0xFF everywhere, which would
		// otherwise look like an empty field forever.
		st := b.read(regComIrq, regError, regStatus2, regFIFOLevel, regControl, regColl, regVersion)
		fifo := -1
		if prefetch && expectBytes > 0 {
			regs := make([]byte, expectBytes)
			for i := range regs {
				regs[i] = regFIFOData
			}
			fifo = b.read(regs...)
		}
		if err := d.run(b); err != nil {
			return answer{}, err
		}
		v := b.values(st)
		if v[6] != d.version {
			return answer{}, &FrameError{Reader: d.name, Op: p.op,
				Err: fmt.Errorf("%w: VersionReg reads %#02x, was %#02x", ErrChipLost, v[6], d.version)}
		}
		irq, errReg, modem := v[0], v[1], v[2]&0x07
		level, lastBits, coll := int(v[3]&0x7F), int(v[4]&0x07), v[5]

		done := irq&irqRx != 0 || (irq&irqErr != 0 && modem != modemReceiving)
		if !done {
			if fifo >= 0 && (level > 0 || modem == modemReceiving) {
				// The prefetch may have taken bytes of an answer still
				// arriving (the FIFO fills during reception).
				lost = true
			}
			if prefetch && modem == modemReceiving && d.margin < answerMarginMax {
				d.margin = min(d.margin+answerMarginStep, answerMarginMax)
			}
			prefetch = false
			now := d.clk.Now()
			if irq&irqTimer != 0 {
				return answer{}, &FrameError{Reader: d.name, Op: p.op, Err: ErrNoCard}
			}
			if modem == 0x00 || modem == 0x05 {
				// The receiver is idle or still waiting for a start bit.
				// After the answer was due, nobody answered; before (a
				// stale IRQ edge woke us early), wait until it is due.
				if !now.Before(p.dueAt) {
					return answer{}, &FrameError{Reader: d.name, Op: p.op, Err: ErrNoCard}
				}
				d.clk.Sleep(p.dueAt.Sub(now))
				continue
			}
			if !now.Before(p.deadline) {
				return answer{}, &FrameError{Reader: d.name, Op: p.op, Err: ErrChipStuck}
			}
			d.clk.Sleep(20 * time.Microsecond)
			continue
		}
		if lost {
			return answer{}, &FrameError{Reader: d.name, Op: p.op, ErrorReg: errReg, Err: ErrProtocol}
		}

		var data []byte
		if fifo >= 0 {
			pre := b.values(fifo)
			data = append(data, pre[:min(level, expectBytes)]...)
		}
		if level > len(data) {
			rest, err := d.readFIFO(level - len(data))
			if err != nil {
				return answer{}, err
			}
			data = append(data, rest...)
		}
		valid := len(data) * 8
		if lastBits != 0 && len(data) > 0 {
			valid -= 8 - lastBits
		}
		a := answer{data: data, validBits: valid}
		if err := d.frameErr(p.op, errReg, coll); err != nil {
			return a, err
		}
		return a, nil
	}
}

// readFIFO reads n bytes from the FIFO in one chip-select frame.
func (d *Dev) readFIFO(n int) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	regs := make([]byte, n)
	for i := range regs {
		regs[i] = regFIFOData
	}
	d.b.reset()
	r := d.b.read(regs...)
	if err := d.run(&d.b); err != nil {
		return nil, err
	}
	return append([]byte(nil), d.b.values(r)...), nil
}

// frameErr turns ErrorReg into a typed error. A collision comes first: it
// also raises parity errors.
func (d *Dev) frameErr(op string, errReg, coll byte) error {
	var cause error
	switch {
	case errReg&errTemp != 0:
		cause = ErrOverheat
	case errReg&errBufOvfl != 0:
		cause = ErrBufferOverflow
	case errReg&errColl != 0:
		pos := 0
		if coll&collPosNotValid == 0 {
			pos = int(coll & 0x1F)
			if pos == 0 {
				pos = 32
			}
		}
		cause = &CollisionError{Pos: pos}
	case errReg&errCRC != 0:
		cause = ErrCRC
	case errReg&errParity != 0:
		cause = ErrParity
	case errReg&errProtocol != 0:
		cause = ErrProtocol
	default:
		return nil
	}
	return &FrameError{Reader: d.name, Op: op, ErrorReg: errReg, Err: cause}
}

// waitUntil sleeps until t, or, with an IRQ pin, until the chip raises its
// interrupt (bounded by deadline). Never calls WaitForEdge with 0 or a
// negative timeout: their meaning differs between periph host versions.
func (d *Dev) waitUntil(t, deadline time.Time) {
	wait := t.Sub(d.clk.Now())
	if wait <= 0 {
		return
	}
	if d.irq != nil {
		limit := deadline.Sub(d.clk.Now())
		if limit < wait {
			limit = wait
		}
		if d.irq.WaitForEdge(limit) {
			return
		}
		if rest := t.Sub(d.clk.Now()); rest > 0 {
			d.clk.Sleep(rest)
		}
		return
	}
	d.clk.Sleep(wait)
}

package emu

import (
	"time"

	"github.com/pkfreelance/seatgate/device/iso14443"
)

// phase is where the transmitter and receiver are.
type phase uint8

const (
	phIdle      phase = iota // nothing on air
	phWaitStart              // Transceive waiting for StartSend (ModemState 001)
	phTxWait                 // frame ready, waiting for the field (TxWaitRF; 010)
	phTx                     // transmitting (011)
	phRxWait                 // receiver on, nothing coming (101)
	phRx                     // an answer is coming: 101 until it starts, then 110
)

// bitFrame is a frame as bits on air, LSB of each byte first.
// Its bytes are never changed after the frame is built.
type bitFrame struct {
	b []byte
	n int
}

func bytesFrame(b []byte) bitFrame { return bitFrame{b: b, n: 8 * len(b)} }

func (f bitFrame) bit(i int) byte { return f.b[i>>3] >> (i & 7) & 1 }

func (f *bitFrame) push(v byte) {
	if f.n&7 == 0 {
		f.b = append(f.b, 0)
	}
	f.b[f.n>>3] |= (v & 1) << (f.n & 7)
	f.n++
}

// isShort reports whether f is the 7-bit short frame cmd (REQA, WUPA).
func (f bitFrame) isShort(cmd byte) bool { return f.n == 7 && f.b[0]&0x7F == cmd }

// reception is what the receiver will decode: the card answers combined.
type reception struct {
	f           bitFrame
	coll        int  // index of the first bit where cards disagreed, or -1
	parityErr   bool // FaultParity
	protocolErr bool // FaultProtocol
}

// fifoFrame builds the frame to send from the FIFO: TxLastBits gives the
// valid bits of the last byte; TxCRCEn appends CRC_A.
func (c *Chip) fifoFrame() bitFrame {
	m := &c.m
	data := c.fifoTake()
	f := bytesFrame(data)
	if lb := int(m.reg[regBitFraming] & bfTxLastBits); lb != 0 && len(data) > 0 {
		f.n = 8*(len(data)-1) + lb
		f.b = data[:len(data):len(data)]
	}
	if m.reg[regTxMode]&txCRCEn != 0 {
		crc := iso14443.CRCA(data)
		g := bitFrame{b: append([]byte(nil), f.b...), n: f.n}
		if g.n&7 != 0 {
			g.b[len(g.b)-1] &= 1<<(g.n&7) - 1
		}
		for i := range 16 {
			g.push(crc[i/8] >> (i % 8))
		}
		f = g
	}
	return f
}

// startSend is StartSend set: with Transceive waiting for it, the FIFO goes
// on air. The bit clears when the transmission starts; the data sheet does
// not say, but a level-sensitive bit that stayed set would resend after
// every answer.
func (c *Chip) startSend(t time.Time) {
	m := &c.m
	if c.command() != cmdTransceive || m.ph != phWaitStart {
		return
	}
	m.reg[regBitFraming] &^= bfStartSend
	c.transmit(c.fifoFrame(), t)
}

// transmit puts f on air now, or, with ModeReg.TxWaitRF and no field, as
// soon as the field comes on.
func (c *Chip) transmit(f bitFrame, t time.Time) {
	m := &c.m
	m.tx = f
	if m.reg[regMode]&modeTxWaitRF != 0 && !m.field {
		m.ph = phTxWait
		return
	}
	m.ph = phTx
	m.txStart = t
	m.txEnd = t.Add(iso14443.FrameAirTime(f.n))
	if f.n == 0 {
		return // an empty FIFO: nothing but start and end of frame
	}
	m.stats.RadioFrames++
	if m.field && t.Sub(m.fieldOnAt) < iso14443.FieldGuard {
		m.stats.GuardViolations++
	}
}

// receiverStartup clears what the data sheet says is cleared "during
// receiver start-up": CollErr, CRCErr, ParityErr, ProtocolErr; CollReg
// goes back to no collision.
func (c *Chip) receiverStartup() {
	m := &c.m
	m.reg[regError] &^= errColl | errCRC | errParity | errProtocol
	m.reg[regColl] = m.reg[regColl]&collValuesAfterColl | collPosNotValid
}

// onTxEnd: the last bit is out. TxIRq; the cards in the field act on the
// frame; Transmit ends, Transceive and MFAuthent start receiving.
func (c *Chip) onTxEnd(t time.Time) {
	m := &c.m
	m.reg[regComIrq] |= irqTx
	answers := c.deliver(m.tx, m.txStart)
	m.tx = bitFrame{}
	if m.reg[regTMode]&tAuto != 0 {
		c.timerStart(t)
	}
	if c.command() == cmdTransmit {
		c.finishCommand()
		return
	}
	c.receiverStartup()
	m.ph = phRxWait
	if len(answers) == 0 || m.reg[regCommand]&cmdRcvOff != 0 {
		return
	}
	rx := combine(answers)
	c.applyAnswerFaults(rx)
	m.rx = rx
	m.rxStart = t.Add(iso14443.FDTShort)
	m.rxEnd = m.rxStart.Add(iso14443.FrameAirTime(rx.f.n))
	m.rxTimerDone = false
	m.ph = phRx
}

// deliver hands a frame that started at start to every card that was
// powered and ready by then, and returns their answers.
func (c *Chip) deliver(f bitFrame, start time.Time) []bitFrame {
	m := &c.m
	if !m.field || f.n == 0 {
		return nil
	}
	if m.faults.noAnswer > 0 {
		m.faults.noAnswer--
		return nil
	}
	var answers []bitFrame
	for _, card := range c.cards {
		if card.st.state == CardPowerOff || start.Before(card.st.readyAt) {
			continue
		}
		if a, ok := card.receive(f); ok {
			answers = append(answers, a)
		}
	}
	return answers
}

// combine overlays answers sent at the same time. Where cards disagree the
// receiver sees both halves of the bit modulated: a collision. The
// collided bit is decoded as 1 here (the data sheet does not say).
func combine(answers []bitFrame) *reception {
	n := 0
	for _, a := range answers {
		n = max(n, a.n)
	}
	rx := &reception{coll: -1}
	for i := range n {
		var ones, zeros int
		for _, a := range answers {
			if i < a.n {
				if a.bit(i) == 1 {
					ones++
				} else {
					zeros++
				}
			}
		}
		if ones > 0 && zeros > 0 && rx.coll < 0 {
			rx.coll = i
		}
		v := byte(0)
		if ones > 0 {
			v = 1
		}
		rx.f.push(v)
	}
	return rx
}

// onRxTimerStop: with TAuto and without RxMultiple the timer "stops
// immediately after receiving the 5th bit (1 start bit, 4 data bits)".
func (c *Chip) onRxTimerStop(t time.Time) {
	m := &c.m
	m.rxTimerDone = true
	if m.reg[regTMode]&tAuto != 0 && m.reg[regRxMode]&rxMultiple == 0 {
		c.timerStop(t)
	}
}

// onRxEnd: the last bit of the answer is in. Its data goes to the FIFO
// from bit position RxAlign, ErrorReg and CollReg tell what went wrong,
// RxIRq is raised. Receive ends; Transceive waits for the next StartSend.
func (c *Chip) onRxEnd(t time.Time) {
	m := &c.m
	rx := m.rx
	m.rx = nil
	if rx.f.n < 4 && m.reg[regRxMode]&rxNoErr != 0 {
		// "an invalid received data stream (less than 4 bits received)
		// will be ignored and the receiver remains active"
		m.ph = phRxWait
		return
	}
	var errs byte
	stored := 0
	if rx.protocolErr {
		errs |= errProtocol
	} else {
		align := int(m.reg[regBitFraming]&bfRxAlign) >> 4
		f := rx.f
		if rx.coll >= 0 {
			errs |= errColl
			coll := m.reg[regColl] & collValuesAfterColl
			// CollPos counts bit positions in the received data from 1 (32
			// reads as 0). The data sheet does not say whether the RxAlign
			// offset counts; here it does, so CollPos-1 indexes the FIFO
			// bits, which is how NXP's RC523 HAL reads it.
			if pos := align + rx.coll + 1; pos <= 32 {
				coll |= byte(pos) & 0x1F
			} else {
				coll |= collPosNotValid
			}
			m.reg[regColl] = coll
			if coll&collValuesAfterColl == 0 {
				f = clearFrom(f, rx.coll)
			}
		}
		if rx.parityErr {
			errs |= errParity
		}
		data, lastBits := aligned(f, align)
		if m.reg[regRxMode]&rxCRCEn != 0 {
			if lastBits != 0 || !iso14443.CheckCRCA(data) {
				errs |= errCRC
			}
			if lastBits == 0 && len(data) >= 2 {
				data = data[:len(data)-2]
			}
		}
		for _, b := range data {
			c.fifoPush(b)
		}
		stored = len(data)
		m.reg[regControl] = m.reg[regControl]&^ctlRxLastBits | byte(lastBits)
	}
	c.setErrors(errs)
	if stored > 0 || m.reg[regRxMode]&rxNoErr == 0 {
		m.reg[regComIrq] |= irqRx
	}
	switch c.command() {
	case cmdReceive:
		c.finishCommand()
	case cmdTransceive:
		m.ph = phWaitStart
		if m.reg[regBitFraming]&bfStartSend != 0 {
			c.startSend(t)
		}
	default: // MFAuthent: no card here answers one; a stray frame is wrong.
		c.setErrors(errProtocol)
		m.ph = phRxWait
	}
}

// clearFrom returns f with bits from i on set to 0 (CollReg.ValuesAfterColl
// = 0: "all received bits will be cleared after a collision"; the
// collided bit is cleared too).
func clearFrom(f bitFrame, i int) bitFrame {
	var g bitFrame
	for j := range f.n {
		v := byte(0)
		if j < i {
			v = f.bit(j)
		}
		g.push(v)
	}
	return g
}

// aligned lays received bits out as FIFO bytes, the first bit at bit
// position align of the first byte (lower bits 0), and returns the number
// of valid bits in the last byte (ControlReg.RxLastBits, 0 = all 8).
func aligned(f bitFrame, align int) ([]byte, int) {
	total := align + f.n
	out := make([]byte, (total+7)/8)
	for i := range f.n {
		p := align + i
		out[p>>3] |= f.bit(i) << (p & 7)
	}
	return out, total & 7
}

// modemState is Status2Reg.ModemState at time t.
func (c *Chip) modemState(t time.Time) byte {
	m := &c.m
	switch m.ph {
	case phWaitStart:
		return 0b001
	case phTxWait:
		return 0b010
	case phTx:
		return 0b011
	case phRxWait:
		return 0b101
	case phRx:
		if t.Before(m.rxStart) {
			return 0b101
		}
		return 0b110
	}
	return 0
}

// updateField switches the RF field to what the registers and power state
// say. Off, every card loses power and state; on, every card starts
// powering up, and a frame waiting for the field (TxWaitRF) goes out.
func (c *Chip) updateField(t time.Time) {
	m := &c.m
	on := !m.hardPD && !m.softPD && m.wakeUntil.IsZero() && m.reg[regTxControl]&txRFEn != 0
	if on == m.field {
		return
	}
	m.field = on
	if !on {
		for _, card := range c.cards {
			card.st = cardState{}
		}
		return
	}
	m.stats.FieldOns++
	m.fieldOnAt = t
	for _, card := range c.cards {
		card.powerOn(t)
	}
	if m.ph == phTxWait {
		c.transmit(m.tx, t)
	}
}

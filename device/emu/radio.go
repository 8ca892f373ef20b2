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

// reception is what the receiver will decode: the card answers combined,
// and, worked out by decode when the receiver starts, what it makes of
// them: the bytes it writes to the FIFO and when, and what it reports at
// the end of the frame. A reception is never modified once it is in the
// model (snapshots share it); how far it has got is model.rxPushed.
type reception struct {
	f           bitFrame
	coll        int  // index of the first bit where cards disagreed, or -1
	parityErr   bool // FaultParity
	protocolErr bool // FaultProtocol

	noErr    bool        // RxModeReg.RxNoErr when the receiver started
	ignore   bool        // RxNoErr and fewer than 4 bits: dropped, receiver stays on
	data     []byte      // the bytes the receiver writes to the FIFO, in order
	at       []time.Time // when data[i] enters the FIFO; never after the end of the frame
	errs     byte        // ErrorReg bits raised at the end of the frame
	collPos  byte        // CollReg CollPos/CollPosNotValid bits, when errs has CollErr
	lastBits int         // ControlReg.RxLastBits at the end of the frame
}

// cardAnswer is one card's answer and how much later than the frame delay
// time it starts (WithAnswerDelay).
type cardAnswer struct {
	f     bitFrame
	delay time.Duration
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
	frames, delay := firstAnswers(answers)
	rx := combine(frames)
	c.applyAnswerFaults(rx)
	m.rxStart = t.Add(iso14443.FDTShort + delay)
	m.rxEnd = m.rxStart.Add(iso14443.FrameAirTime(rx.f.n))
	c.decode(rx, m.rxStart, m.rxEnd)
	m.rx = rx
	m.rxPushed = 0
	m.rxOvfl = false
	m.rxTimerDone = false
	m.ph = phRx
}

// firstAnswers returns the answers the receiver hears and how late they
// start. The receiver locks onto the first start of frame: the cards with
// the smallest answer delay are heard, combined bit by bit (they collide
// where they differ, as cards answering in step do); a card answering
// later is not heard at all, although its state machine has acted on the
// frame. On air its late modulation would land inside the first answer, or
// after it when the receiver has stopped listening; the emulator does not
// model that garbling.
func firstAnswers(answers []cardAnswer) ([]bitFrame, time.Duration) {
	delay := answers[0].delay
	for _, a := range answers[1:] {
		delay = min(delay, a.delay)
	}
	var frames []bitFrame
	for _, a := range answers {
		if a.delay == delay {
			frames = append(frames, a.f)
		}
	}
	return frames, delay
}

// deliver hands a frame that started at start to every card that was
// powered and ready by then, and returns their answers.
func (c *Chip) deliver(f bitFrame, start time.Time) []cardAnswer {
	m := &c.m
	if !m.field || f.n == 0 {
		return nil
	}
	if m.faults.noAnswer > 0 {
		m.faults.noAnswer--
		return nil
	}
	var answers []cardAnswer
	for _, card := range c.cards {
		if card.st.state == CardPowerOff || start.Before(card.st.readyAt) {
			continue
		}
		if a, ok := card.receive(f); ok {
			answers = append(answers, cardAnswer{f: a, delay: card.answerDelay})
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

// decode works out, when the receiver starts, what it will make of rx: the
// bytes it writes to the FIFO from bit position RxAlign, when each of them
// enters the FIFO, and the ErrorReg and CollReg contents it reports at the
// end of the frame. The settings that shape the data (RxAlign, RxCRCEn,
// RxNoErr, ValuesAfterColl) are taken now: changing them while a frame is
// being received does not affect that frame (the data sheet does not say).
//
// A byte enters the FIFO as soon as its last bit has been received: on air
// every byte takes 9 etu (8 data bits and its parity bit) after the 1-etu
// start bit, so with RxAlign 0 byte k is in the FIFO (10+9k) etu after the
// start of the answer, one etu before the end of a frame of whole bytes.
// With RxAlign the FIFO bytes straddle the bytes on air; one is in when its
// last data bit is. A last partial byte (RxLastBits not 0) enters at the
// end of the frame.
//
// With RxCRCEn the receiver holds the last two whole bytes back (a two-byte
// pipeline, since it cannot know which bytes are the CRC until the frame
// ends): byte k enters the FIFO when byte k+2 has been received, and at the
// end of a frame of whole bytes the two held back are the CRC_A, checked
// and dropped, so CRC bytes are never readable, not even while on air. A
// frame that ends in a partial byte cannot carry a CRC_A: CRCErr, and the
// held bytes go to the FIFO with the partial byte at the end of the frame;
// so do the zero or one bytes of a frame too short for a CRC_A.
//
// With a collision, every byte still enters the FIFO as it arrives (with
// ValuesAfterColl 0 its bits from the collision on read 0); CollErr and
// CollReg are set only at the end of the frame with the other error bits,
// although the chip could know them as soon as the collided bit is in.
// A ProtocolErr frame (FaultProtocol, a bad start of frame) stores nothing.
func (c *Chip) decode(rx *reception, start, end time.Time) {
	m := &c.m
	rx.noErr = m.reg[regRxMode]&rxNoErr != 0
	if rx.f.n < 4 && rx.noErr {
		// "an invalid received data stream (less than 4 bits received)
		// will be ignored and the receiver remains active"
		rx.ignore = true
		return
	}
	if rx.protocolErr {
		rx.errs = errProtocol
		return
	}
	align := int(m.reg[regBitFraming]&bfRxAlign) >> 4
	f := rx.f
	if rx.coll >= 0 {
		rx.errs |= errColl
		// CollPos counts bit positions in the received data from 1 (32
		// reads as 0). The data sheet does not say whether the RxAlign
		// offset counts; here it does, so CollPos-1 indexes the FIFO
		// bits, which is how NXP's RC523 HAL reads it.
		if pos := align + rx.coll + 1; pos <= 32 {
			rx.collPos = byte(pos) & 0x1F
		} else {
			rx.collPos = collPosNotValid
		}
		if m.reg[regColl]&collValuesAfterColl == 0 {
			f = clearFrom(f, rx.coll)
		}
	}
	if rx.parityErr {
		rx.errs |= errParity
	}
	data, lastBits := aligned(f, align)
	hold := 0
	if m.reg[regRxMode]&rxCRCEn != 0 {
		hold = 2
		if lastBits != 0 || !iso14443.CheckCRCA(data) {
			rx.errs |= errCRC
		}
		if lastBits == 0 && len(data) >= 2 {
			data = data[:len(data)-2]
		}
	}
	rx.data, rx.lastBits = data, lastBits
	rx.at = make([]time.Time, len(data))
	for i := range data {
		rx.at[i] = end
		// FIFO byte k is complete with received bit 8k+7-align.
		if last := 8*(i+hold) + 7 - align; last < f.n {
			rx.at[i] = start.Add(bitReceived(last))
		}
	}
}

// bitReceived is how long after the start of an answer its data bit i
// (from 0) has been received, with its parity bit when it is the last bit
// of a byte on air: 1 etu of start bit, then 9 etu per byte.
func bitReceived(i int) time.Duration {
	slots := 2 + i + i/8 // the start bit, i earlier data bits, their parity bits, bit i
	if i%8 == 7 {
		slots++
	}
	return time.Duration(slots) * iso14443.ETU
}

// onRxByte: the next received byte is complete and enters the FIFO. A
// full FIFO drops it; BufferOvfl is reported at the end of the frame.
func (c *Chip) onRxByte() {
	m := &c.m
	b := m.rx.data[m.rxPushed]
	m.rxPushed++
	if m.fifoLen == fifoSize {
		m.rxOvfl = true
		return
	}
	c.fifoPush(b)
}

// onRxEnd: the last bit of the answer is in. What has not yet entered the
// FIFO does, ErrorReg and CollReg tell what went wrong, RxIRq is raised.
// Receive ends; Transceive waits for the next StartSend.
func (c *Chip) onRxEnd(t time.Time) {
	m := &c.m
	rx := m.rx
	for m.rxPushed < len(rx.data) {
		c.onRxByte()
	}
	m.rx = nil
	if rx.ignore {
		m.ph = phRxWait
		return
	}
	errs := rx.errs
	if errs&errColl != 0 {
		m.reg[regColl] = m.reg[regColl]&collValuesAfterColl | rx.collPos
	}
	if !rx.protocolErr {
		m.reg[regControl] = m.reg[regControl]&^ctlRxLastBits | byte(rx.lastBits)
	}
	if m.rxOvfl {
		errs |= errBufferOvfl
		m.rxOvfl = false
	}
	c.setErrors(errs)
	if len(rx.data) > 0 || !rx.noErr {
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

package emu

import "time"

// fifoPush appends b to the FIFO; a full FIFO drops it and sets BufferOvfl.
func (c *Chip) fifoPush(b byte) {
	m := &c.m
	if m.fifoLen == fifoSize {
		c.setErrors(errBufferOvfl)
		return
	}
	m.fifo[m.fifoLen] = b
	m.fifoLen++
	c.updateAlerts()
}

// fifoPop removes and returns the oldest FIFO byte; an empty FIFO reads 0.
func (c *Chip) fifoPop() byte {
	m := &c.m
	if m.fifoLen == 0 {
		return 0
	}
	b := m.fifo[0]
	copy(m.fifo[:], m.fifo[1:m.fifoLen])
	m.fifoLen--
	c.updateAlerts()
	return b
}

// fifoTake removes and returns the whole FIFO content.
func (c *Chip) fifoTake() []byte {
	m := &c.m
	b := append([]byte(nil), m.fifo[:m.fifoLen]...)
	c.fifoClear()
	return b
}

// fifoClear empties the FIFO (FlushBuffer clears BufferOvfl separately).
func (c *Chip) fifoClear() {
	c.m.fifoLen = 0
	c.updateAlerts()
}

// updateAlerts recomputes Status1Reg HiAlert and LoAlert and latches
// HiAlertIRq/LoAlertIRq when an alert becomes true (data sheet 9.3.1.5: the
// IRq bit "stores this event"; here the event is the alert turning on).
func (c *Chip) updateAlerts() {
	m := &c.m
	wl := int(m.reg[regWaterLevel] & waterLevelMask)
	lo := m.fifoLen <= wl
	hi := fifoSize-m.fifoLen <= wl
	if lo && !m.loAlert {
		m.reg[regComIrq] |= irqLoAlert
	}
	if hi && !m.hiAlert {
		m.reg[regComIrq] |= irqHiAlert
	}
	m.loAlert, m.hiAlert = lo, hi
}

// hostFIFOWrite is a host write to FIFODataReg.
func (c *Chip) hostFIFOWrite(v byte, t time.Time) {
	m := &c.m
	// WrErr: written during MFAuthent, or between the last bit sent and the
	// last bit received. The byte is stored anyway.
	if c.command() == cmdMFAuthent || m.ph == phRxWait || m.ph == phRx {
		c.setErrors(errWr)
	}
	c.fifoPush(v)
	if m.crc.active {
		c.crcFeed(t)
	}
}

package emu

import (
	"math/rand/v2"
	"time"

	"github.com/pkfreelance/seatgate/device/iso14443"
)

// startupTime is how long the chip needs after a hard reset or after
// leaving soft power-down before it works: the data sheet (8.8.2) gives
// the oscillator start-up as the crystal's start-up time plus 37.74 µs; the
// crystal part is not modelled.
const startupTime = 38 * time.Microsecond

// resetTime is how long SoftReset shows in CommandReg. The data sheet
// gives no figure; register writes made meanwhile take effect.
const resetTime = 38 * time.Microsecond

// command returns the active command, CommandReg[3:0].
func (c *Chip) command() byte { return c.m.reg[regCommand] & cmdMask }

func (c *Chip) setCommand(cmd byte) {
	c.m.reg[regCommand] = c.m.reg[regCommand]&^cmdMask | cmd
}

// finishCommand is a command terminating by itself: back to Idle, IdleIRq.
func (c *Chip) finishCommand() {
	c.setCommand(cmdIdle)
	c.m.ph = phIdle
	c.m.reg[regComIrq] |= irqIdle
}

// cancelCommand stops whatever the active command is doing, without
// IdleIRq: a frame on air is cut, an expected answer is dropped, a CRC
// calculation is abandoned.
func (c *Chip) cancelCommand() {
	m := &c.m
	m.ph = phIdle
	m.rx = nil // bytes already received stay in the FIFO
	m.rxPushed, m.rxOvfl = 0, false
	m.tx = bitFrame{}
	m.crc.active = false
	m.crc.busy = false
	c.setCommand(cmdIdle)
}

// writeCommand is a host write to CommandReg.
func (c *Chip) writeCommand(v byte, t time.Time) {
	m := &c.m
	cmd := v & cmdMask
	if cmd != cmdNoCmdChange {
		c.startCommand(cmd, t)
	}
	if cmd == cmdSoftReset {
		// RcvOff comes from the reset value; PowerDown cannot be set while
		// SoftReset is active.
		return
	}
	m.reg[regCommand] = m.reg[regCommand]&cmdMask | v&cmdRcvOff
	switch pd := v&cmdPowerDown != 0; {
	case pd && !m.softPD:
		// Soft power-down: the oscillator stops, so does the field and
		// any command; registers and FIFO keep their contents.
		m.softPD = true
		c.cancelCommand()
		c.updateField(t)
	case !pd && m.softPD:
		m.softPD = false
		m.wakeUntil = t.Add(startupTime)
	}
}

// startCommand starts cmd at time t, replacing the active command.
func (c *Chip) startCommand(cmd byte, t time.Time) {
	m := &c.m
	m.resetUntil = time.Time{}
	c.cancelCommand()
	// WrErr is cleared when a command starts; the data sheet does not say
	// when it clears.
	m.reg[regError] &^= errWr
	switch cmd {
	case cmdIdle:
	case cmdMem:
		c.mem()
		c.finishCommand()
	case cmdGenerateRandomID:
		for i := range 10 {
			m.mem[i] = byte(rand.Uint32())
		}
		c.finishCommand()
	case cmdCalcCRC:
		c.setCommand(cmd)
		c.crcStart(t)
	case cmdTransmit:
		c.setCommand(cmd)
		c.transmit(c.fifoFrame(), t)
	case cmdReceive:
		c.setCommand(cmd)
		c.receiverStartup()
		m.ph = phRxWait
	case cmdTransceive:
		c.setCommand(cmd)
		m.ph = phWaitStart
		if m.reg[regBitFraming]&bfStartSend != 0 {
			c.startSend(t)
		}
	case cmdMFAuthent:
		c.setCommand(cmd)
		c.mfAuthent(t)
	case cmdSoftReset:
		c.softReset(t)
	default:
		// Unknown command: "the CommandReg register Command[3:0] value
		// changes to the idle state and the IdleIRq bit is set".
		c.finishCommand()
	}
}

// mem is the Mem command: with an empty FIFO the 25-byte internal buffer is
// copied into the FIFO, otherwise up to 25 FIFO bytes move into the buffer.
func (c *Chip) mem() {
	m := &c.m
	if m.fifoLen == 0 {
		for _, b := range m.mem {
			c.fifoPush(b)
		}
		return
	}
	for i := 0; i < len(m.mem) && m.fifoLen > 0; i++ {
		m.mem[i] = c.fifoPop()
	}
}

// mfAuthent starts MFAuthent. The FIFO must hold the 12 bytes the data sheet
// lists (command, block address, 6 key bytes, 4 UID bytes); with fewer the
// command ends at once with ProtocolErr (an emulator choice). Otherwise the
// authentication command and block address go on air with CRC_A. Crypto1
// is not modelled: no card here answers it, so the command runs until the
// host cancels it and only the timer ends the wait.
func (c *Chip) mfAuthent(t time.Time) {
	data := c.fifoTake()
	if len(data) < 12 {
		c.setErrors(errProtocol)
		c.finishCommand()
		return
	}
	c.transmit(bytesFrame(iso14443.AppendCRCA(data[:2:2])), t)
}

// resetRegisters puts registers, FIFO, timer, CRC unit and radio into their
// reset state. The internal 25-byte buffer is kept.
func (c *Chip) resetRegisters() {
	m := &c.m
	m.reg = resetValues
	m.fifoLen = 0
	m.loAlert, m.hiAlert = true, false
	m.ph = phIdle
	m.rx = nil
	m.rxPushed, m.rxOvfl = 0, false
	m.tx = bitFrame{}
	m.timer = timerState{}
	m.crc = crcState{}
	m.softPD = false
	m.wakeUntil = time.Time{}
}

// softReset is the SoftReset command: every register to its reset value,
// so the field goes off and the cards in it lose power.
func (c *Chip) softReset(t time.Time) {
	c.resetRegisters()
	c.m.resetUntil = t.Add(resetTime)
	c.m.stats.SoftResets++
	c.updateField(t)
}

// hardPowerDown is NRSTPD going low: the chip stops, the field goes off.
func (c *Chip) hardPowerDown(t time.Time) {
	c.m.hardPD = true
	c.cancelCommand()
	c.m.timer = timerState{}
	c.updateField(t)
}

// hardReset is NRSTPD going high: a full reset, then the oscillator starts;
// until it runs the chip ignores SPI.
func (c *Chip) hardReset(t time.Time) {
	m := &c.m
	m.hardPD = false
	c.resetRegisters()
	m.mem = [25]byte{}
	m.resetUntil = time.Time{}
	m.startupUntil = t.Add(startupTime)
	c.updateField(t)
}

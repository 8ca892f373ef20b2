package emu

import "time"

// Register addresses (MFRC522 data sheet, section 9.2).
const (
	regCommand      = 0x01
	regComIEn       = 0x02
	regDivIEn       = 0x03
	regComIrq       = 0x04
	regDivIrq       = 0x05
	regError        = 0x06
	regStatus1      = 0x07
	regStatus2      = 0x08
	regFIFOData     = 0x09
	regFIFOLevel    = 0x0A
	regWaterLevel   = 0x0B
	regControl      = 0x0C
	regBitFraming   = 0x0D
	regColl         = 0x0E
	regMode         = 0x11
	regTxMode       = 0x12
	regRxMode       = 0x13
	regTxControl    = 0x14
	regTxASK        = 0x15
	regTxSel        = 0x16
	regRxSel        = 0x17
	regRxThreshold  = 0x18
	regDemod        = 0x19
	regMfTx         = 0x1C
	regMfRx         = 0x1D
	regSerialSpeed  = 0x1F
	regCRCResultH   = 0x21
	regCRCResultL   = 0x22
	regModWidth     = 0x24
	regRFCfg        = 0x26
	regGsN          = 0x27
	regCWGsP        = 0x28
	regModGsP       = 0x29
	regTMode        = 0x2A
	regTPrescaler   = 0x2B
	regTReloadH     = 0x2C
	regTReloadL     = 0x2D
	regTCounterValH = 0x2E
	regTCounterValL = 0x2F
	regTestSel1     = 0x31
	regTestSel2     = 0x32
	regTestPinEn    = 0x33
	regTestPinValue = 0x34
	regTestBus      = 0x35
	regAutoTest     = 0x36
	regVersion      = 0x37
	regAnalogTest   = 0x38
	regTestDAC1     = 0x39
	regTestDAC2     = 0x3A
	regTestADC      = 0x3B
)

// Command codes, CommandReg[3:0] (data sheet table 149).
const (
	cmdIdle             = 0x0
	cmdMem              = 0x1
	cmdGenerateRandomID = 0x2
	cmdCalcCRC          = 0x3
	cmdTransmit         = 0x4
	cmdNoCmdChange      = 0x7
	cmdReceive          = 0x8
	cmdTransceive       = 0xC
	cmdMFAuthent        = 0xE
	cmdSoftReset        = 0xF
)

// Register bits.
const (
	// CommandReg
	cmdRcvOff    = 0x20
	cmdPowerDown = 0x10
	cmdMask      = 0x0F

	// ComIEnReg, DivIEnReg
	ienIRqInv      = 0x80
	ienIRQPushPull = 0x80
	divIEnMask     = 0x94 // IRQPushPull, MfinActIEn, CRCIEn

	// ComIrqReg, DivIrqReg
	irqSet     = 0x80 // Set1, Set2
	irqTx      = 0x40
	irqRx      = 0x20
	irqIdle    = 0x10
	irqHiAlert = 0x08
	irqLoAlert = 0x04
	irqErr     = 0x02
	irqTimer   = 0x01
	divIrqCRC  = 0x04
	divIrqMask = 0x14 // MfinActIRq, CRCIRq

	// ErrorReg
	errWr         = 0x80
	errTemp       = 0x40
	errBufferOvfl = 0x10
	errColl       = 0x08
	errCRC        = 0x04
	errParity     = 0x02
	errProtocol   = 0x01

	// Status1Reg
	st1CRCOk     = 0x40
	st1CRCReady  = 0x20
	st1IRq       = 0x10
	st1TRunning  = 0x08
	st1HiAlert   = 0x02
	st1LoAlert   = 0x01
	st2Writable  = 0xC0 // TempSensClear, I2CForceHS
	st2MFCrypto1 = 0x08

	// FIFOLevelReg, WaterLevelReg, ControlReg
	fifoFlushBuffer = 0x80
	waterLevelMask  = 0x3F
	ctlTStopNow     = 0x80
	ctlTStartNow    = 0x40
	ctlRxLastBits   = 0x07

	// BitFramingReg, CollReg
	bfStartSend         = 0x80
	bfRxAlign           = 0x70
	bfTxLastBits        = 0x07
	bfMask              = 0xF7
	collValuesAfterColl = 0x80
	collPosNotValid     = 0x20

	// ModeReg, TxModeReg, RxModeReg, TxControlReg, DemodReg
	modeMSBFirst      = 0x80
	modeTxWaitRF      = 0x20
	modeCRCPreset     = 0x03
	txCRCEn           = 0x80
	rxCRCEn           = 0x80
	rxNoErr           = 0x08
	rxMultiple        = 0x04
	txRFEn            = 0x03 // Tx1RFEn | Tx2RFEn
	demodTPrescalEven = 0x10

	// TModeReg
	tAuto        = 0x80
	tAutoRestart = 0x10
	tPrescalerHi = 0x0F
)

// fifoSize is the depth of the FIFO buffer.
const fifoSize = 64

// resetValues are the register contents after power-on, a hard reset or
// SoftReset (data sheet section 9.3). Registers computed on read (Status1Reg,
// Status2Reg, FIFOLevelReg, ErrorReg, timer value, VersionReg) are derived
// from the model rather than from this table, but their reset state matches
// it: Status1Reg reads 0x21 (CRCReady, LoAlert).
var resetValues = [64]byte{
	regCommand:     0x20, // RcvOff set, Idle
	regComIEn:      0x80, // IRqInv
	regComIrq:      0x14, // IdleIRq, LoAlertIRq
	regWaterLevel:  0x08,
	regControl:     0x10,
	regColl:        0xA0, // ValuesAfterColl, CollPosNotValid
	regMode:        0x3F,
	regTxControl:   0x80,
	regTxSel:       0x10,
	regRxSel:       0x84,
	regRxThreshold: 0x84,
	regDemod:       0x4D,
	regMfTx:        0x62,
	regSerialSpeed: 0xEB,
	regCRCResultH:  0xFF,
	regCRCResultL:  0xFF,
	regModWidth:    0x26,
	regRFCfg:       0x48,
	regGsN:         0x88,
	regCWGsP:       0x20,
	regModGsP:      0x20,
	regTestPinEn:   0x80,
	regAutoTest:    0x40,
}

// reserved registers read 0x00 and ignore writes here; on silicon some
// return undocumented values.
var reserved = [64]bool{
	0x00: true, 0x0F: true, 0x10: true, 0x1A: true, 0x1B: true, 0x1E: true,
	0x20: true, 0x23: true, 0x25: true, 0x30: true,
	0x3C: true, 0x3D: true, 0x3E: true, 0x3F: true,
}

// readReg returns what a read of register a returns at time t, with the
// read's side effects (FIFODataReg pops a byte). The model must be synced to t.
func (c *Chip) readReg(a byte, t time.Time) byte {
	m := &c.m
	if reserved[a] {
		return 0
	}
	switch a {
	case regCommand:
		v := m.reg[regCommand]
		if t.Before(m.resetUntil) {
			// The SoftReset command shows while the reset runs, with the
			// PowerDown bit read as 1 until the chip is ready (data sheet
			// 9.3.1.2: "during this procedure this bit still shows a 1").
			v |= cmdPowerDown | cmdSoftReset
		}
		if m.softPD || !m.wakeUntil.IsZero() {
			v |= cmdPowerDown
		}
		return v
	case regComIrq:
		return m.reg[regComIrq] &^ irqSet
	case regDivIrq:
		return m.reg[regDivIrq] & divIrqMask
	case regStatus1:
		return c.status1(t)
	case regStatus2:
		return m.reg[regStatus2]&(st2Writable|st2MFCrypto1) | c.modemState(t)
	case regFIFOData:
		return c.fifoPop()
	case regFIFOLevel:
		return byte(m.fifoLen)
	case regControl:
		return m.reg[regControl] &^ (ctlTStopNow | ctlTStartNow)
	case regTCounterValH:
		return byte(c.timerValue(t) >> 8)
	case regTCounterValL:
		return byte(c.timerValue(t))
	case regVersion:
		return c.opts.Version
	}
	return m.reg[a]
}

// writeReg performs a host write of v to register a at time t. The model
// must be synced to t.
func (c *Chip) writeReg(a, v byte, t time.Time) {
	m := &c.m
	if reserved[a] {
		return
	}
	switch a {
	case regCommand:
		c.writeCommand(v, t)
	case regDivIEn:
		m.reg[a] = v & divIEnMask
	case regComIrq:
		// Set1: 1 sets the marked bits, 0 clears them; unmarked bits keep
		// their value.
		if v&irqSet != 0 {
			m.reg[a] |= v &^ irqSet
		} else {
			m.reg[a] &^= v
		}
	case regDivIrq:
		if v&irqSet != 0 {
			m.reg[a] |= v & divIrqMask
		} else {
			m.reg[a] &^= v & divIrqMask
		}
	case regError, regStatus1, regTCounterValH, regTCounterValL,
		regCRCResultH, regCRCResultL, regVersion, regTestBus, regTestADC:
		// read-only
	case regStatus2:
		// MFCrypto1On can only be cleared by the host.
		m.reg[a] = v&st2Writable | m.reg[a]&v&st2MFCrypto1
	case regFIFOData:
		c.hostFIFOWrite(v, t)
	case regFIFOLevel:
		if v&fifoFlushBuffer != 0 {
			c.fifoClear()
			m.reg[regError] &^= errBufferOvfl
		}
	case regWaterLevel:
		m.reg[a] = v & waterLevelMask
		c.updateAlerts()
	case regControl:
		if v&ctlTStopNow != 0 {
			c.timerStop(t)
		}
		if v&ctlTStartNow != 0 {
			c.timerStart(t)
		}
	case regBitFraming:
		m.reg[a] = v & bfMask
		if v&bfStartSend != 0 {
			c.startSend(t)
		}
	case regColl:
		m.reg[a] = m.reg[a]&^collValuesAfterColl | v&collValuesAfterColl
	case regTxControl:
		m.reg[a] = v
		c.updateField(t)
	default:
		m.reg[a] = v
	}
}

// status1 computes Status1Reg.
func (c *Chip) status1(t time.Time) byte {
	m := &c.m
	var v byte
	if !m.crc.busy {
		v |= st1CRCReady
		if m.crc.ok {
			v |= st1CRCOk
		}
	}
	if c.irqActive() {
		v |= st1IRq
	}
	if m.timer.running {
		v |= st1TRunning
	}
	if m.hiAlert {
		v |= st1HiAlert
	}
	if m.loAlert {
		v |= st1LoAlert
	}
	return v
}

// irqActive is Status1Reg.IRq: an enabled interrupt request is pending.
func (c *Chip) irqActive() bool {
	m := &c.m
	return m.reg[regComIEn]&m.reg[regComIrq]&^irqSet != 0 ||
		m.reg[regDivIEn]&m.reg[regDivIrq]&divIrqMask != 0
}

// setErrors sets ErrorReg bits and, for any of them, ErrIRq.
func (c *Chip) setErrors(e byte) {
	if e == 0 {
		return
	}
	c.m.reg[regError] |= e
	c.m.reg[regComIrq] |= irqErr
}

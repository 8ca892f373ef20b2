package emu

import (
	"math/bits"
	"time"
)

// crcByteTime is how long the CRC coprocessor takes per byte. The data
// sheet gives no figure; one byte per 8 cycles of 13.56 MHz is assumed.
const crcByteTime = 590 * time.Nanosecond

// crcState is the CRC coprocessor driven by CalcCRC. (During RF
// communication TxCRCEn and RxCRCEn use CRC_A from package iso14443.)
type crcState struct {
	active bool      // CalcCRC is the active command
	busy   bool      // data still being processed until doneAt
	doneAt time.Time // when CRCIRq and the result appear
	value  uint16    // running CRC register
	ok     bool      // Status1Reg.CRCOk: the last result was zero
}

// crcPresets are ModeReg.CRCPreset's initial values.
var crcPresets = [4]uint16{0x0000, 0x6363, 0xA671, 0xFFFF}

// crcStart is CalcCRC: the CRC register takes the preset and the
// coprocessor starts reading the FIFO.
func (c *Chip) crcStart(t time.Time) {
	m := &c.m
	m.crc = crcState{active: true, value: crcPresets[m.reg[regMode]&modeCRCPreset]}
	c.crcFeed(t)
}

// crcFeed moves the FIFO into the running calculation. CalcCRC does not stop
// when the FIFO runs empty: bytes written later are added to it.
func (c *Chip) crcFeed(t time.Time) {
	m := &c.m
	data := c.fifoTake()
	msbFirst := m.reg[regMode]&modeMSBFirst != 0
	for _, b := range data {
		if msbFirst {
			b = bits.Reverse8(b)
		}
		m.crc.value = crcUpdate(m.crc.value, b)
	}
	start := t
	if m.crc.busy && m.crc.doneAt.After(t) {
		start = m.crc.doneAt
	}
	m.crc.doneAt = start.Add(time.Duration(len(data)) * crcByteTime)
	m.crc.busy = true
}

// crcDone publishes the result: CRCResultReg, CRCOk, CRCReady, CRCIRq.
// With ModeReg.MSBFirst the bytes "are bit reversed" (data sheet 9.3.2.2).
func (c *Chip) crcDone() {
	m := &c.m
	m.crc.busy = false
	m.crc.ok = m.crc.value == 0
	hi, lo := byte(m.crc.value>>8), byte(m.crc.value)
	if m.reg[regMode]&modeMSBFirst != 0 {
		hi, lo = bits.Reverse8(hi), bits.Reverse8(lo)
	}
	m.reg[regCRCResultH], m.reg[regCRCResultL] = hi, lo
	m.reg[regDivIrq] |= divIrqCRC
}

// crcUpdate adds one byte, LSB first, to a CRC with the CRC_A polynomial
// (reflected 0x8408). iso14443.CRCA fixes the 0x6363 preset; the
// coprocessor needs the others too.
func crcUpdate(crc uint16, b byte) uint16 {
	b ^= byte(crc)
	b ^= b << 4
	return (crc >> 8) ^ uint16(b)<<8 ^ uint16(b)<<3 ^ uint16(b)>>4
}

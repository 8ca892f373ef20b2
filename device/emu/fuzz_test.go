package emu

import (
	"testing"
	"time"

	"periph.io/x/conn/v3/spi"
)

// FuzzChipSPI feeds arbitrary byte streams to the chip as Tx and TxPackets
// calls, with cards in the field and time passing, and checks that nothing
// panics and the FIFO never holds more than 64 bytes.
//
// The input is a sequence of operations: an op byte, a length byte, then
// that many payload bytes. op%5: 0 Tx with a read buffer, 1 Tx without, 2
// the payload split into two packets joined by KeepCS, 3 a packet left open
// (KeepCS) for the next call, 4 let op×10 µs of virtual time pass.
func FuzzChipSPI(f *testing.F) {
	w := func(reg byte) byte { return reg << 1 }
	rd := func(reg byte) byte { return 0x80 | reg<<1 }
	f.Add([]byte{1, 2, w(regTxControl), 0x83, 4, 0xFF, 0})
	f.Add([]byte{ // REQA by Transceive, then read everything back
		1, 2, w(regTxControl), 0x83,
		1, 2, w(regFIFOData), 0x26,
		1, 2, w(regBitFraming), 0x07,
		1, 2, w(regCommand), cmdTransceive,
		1, 2, w(regBitFraming), 0x87,
		4, 0xFF, 0,
		0, 4, rd(regFIFOLevel), rd(regFIFOData), rd(regFIFOData), 0,
	})
	f.Add([]byte{ // REQA, then FIFO reads while the ATQA arrives (byte 0 in at 270 µs)
		1, 2, w(regTxControl), 0x83,
		254, 0, 254, 0, // 5.08 ms: field guard
		1, 2, w(regWaterLevel), 63,
		1, 2, w(regFIFOData), 0x26,
		1, 2, w(regBitFraming), 0x07,
		1, 2, w(regCommand), cmdTransceive,
		1, 2, w(regBitFraming), 0x87,
		24, 0, 4, 0, // 280 µs
		0, 4, rd(regFIFOLevel), rd(regStatus2), rd(regFIFOData), 0,
		29, 0,
		0, 4, rd(regFIFOLevel), rd(regComIrq), rd(regFIFOData), 0,
	})
	f.Add([]byte{2, 6, w(regFIFOData), 1, 2, 3, 4, 5, 0, 3, rd(regFIFOLevel), rd(regFIFOData), 0})
	f.Add([]byte{1, 2, w(regTMode), tAutoRestart, 1, 2, w(regControl), ctlTStartNow, 4, 200, 0})
	f.Add([]byte{1, 2, w(regCommand), cmdSoftReset, 1, 2, w(regCommand), cmdCalcCRC, 1, 3, w(regFIFOData), 1, 2})
	f.Add([]byte{1, 66, w(regFIFOData), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
		20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46,
		47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64})

	f.Fuzz(fuzzOne)
}

// fuzzOne runs one input of FuzzChipSPI.
func fuzzOne(t *testing.T, data []byte) {
	clock := NewVirtualClock(t0)
	c := NewChip(clock, ChipOptions{})
	c.Place(NewCard(uid4, WithPowerUp(0)), NewCard(uid7, WithPowerUp(0)), NewCard(uid10))
	for len(data) >= 2 {
		op, n := data[0], int(data[1])
		data = data[2:]
		n = min(n, len(data))
		payload := data[:n]
		data = data[n:]
		switch op % 5 {
		case 0:
			_ = c.Tx(payload, make([]byte, len(payload)))
		case 1:
			_ = c.Tx(payload, nil)
		case 2:
			h := len(payload) / 2
			_ = c.TxPackets([]spi.Packet{{W: payload[:h], KeepCS: true}, {W: payload[h:], R: make([]byte, len(payload)-h)}})
		case 3:
			_ = c.TxPackets([]spi.Packet{{W: payload, KeepCS: true}})
		case 4:
			clock.Advance(time.Duration(op) * 10 * time.Microsecond)
		}
		c.mu.Lock()
		level := c.m.fifoLen
		pushed, rx := c.m.rxPushed, c.m.rx
		c.mu.Unlock()
		if level < 0 || level > fifoSize {
			t.Fatalf("FIFO level %d", level)
		}
		if rx != nil && (pushed < 0 || pushed > len(rx.data)) {
			t.Fatalf("%d of %d received bytes pushed", pushed, len(rx.data))
		}
	}
	rx := make([]byte, 2)
	if err := c.Tx([]byte{0x80 | regFIFOLevel<<1, 0}, rx); err != nil {
		t.Fatal(err)
	}
	if rx[1] > fifoSize {
		t.Fatalf("FIFOLevelReg %d", rx[1])
	}
}

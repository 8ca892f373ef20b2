package mfrc522

import (
	"fmt"

	"periph.io/x/conn/v3/spi"
)

// batch collects register accesses that go to the chip in one
// spi.Conn.TxPackets call: each write is its own chip-select frame, and a
// read frame reads several registers (or the FIFO several times) at once
// by repeating address bytes.
type batch struct {
	pkts []spi.Packet
}

// write queues one chip-select frame writing vals to reg (FIFODataReg takes
// many bytes in one frame).
func (b *batch) write(reg byte, vals ...byte) {
	w := make([]byte, 1+len(vals))
	w[0] = addrWrite(reg)
	copy(w[1:], vals)
	b.pkts = append(b.pkts, spi.Packet{W: w})
}

// read queues one chip-select frame reading regs in order and returns the
// index of the frame; values(i) gives the bytes read back.
func (b *batch) read(regs ...byte) int {
	w := make([]byte, len(regs)+1)
	for i, r := range regs {
		w[i] = addrRead(r)
	}
	b.pkts = append(b.pkts, spi.Packet{W: w, R: make([]byte, len(w))})
	return len(b.pkts) - 1
}

// values returns what the read frame i read: byte k is the value of the
// k-th register named in read.
func (b *batch) values(i int) []byte { return b.pkts[i].R[1:] }

func (b *batch) reset() { b.pkts = b.pkts[:0] }

// run sends the batch: one TxPackets call, or one Tx per frame when the
// port has no TxPackets.
func (d *Dev) run(b *batch) error {
	if len(b.pkts) == 0 {
		return nil
	}
	if d.packets {
		err := d.conn.TxPackets(b.pkts)
		if err == nil {
			d.stats.Transfers++
			d.okPackets = true
			return nil
		}
		if d.okPackets {
			d.stats.BusErrors++
			return &BusError{Reader: d.name, Err: err}
		}
		// The first TxPackets failed: assume the port lacks it and fall back
		// for good if plain Tx works.
		d.packets = false
	}
	for i := range b.pkts {
		p := &b.pkts[i]
		if err := d.conn.Tx(p.W, p.R); err != nil {
			d.stats.Transfers++
			d.stats.BusErrors++
			return &BusError{Reader: d.name, Err: err}
		}
		d.stats.Transfers++
	}
	return nil
}

// BusError is an SPI transfer that failed: the chip was not reached.
type BusError struct {
	Reader string
	Err    error
}

func (e *BusError) Error() string {
	return fmt.Sprintf("mfrc522 %s: spi transfer: %v", e.Reader, e.Err)
}
func (e *BusError) Unwrap() error { return e.Err }

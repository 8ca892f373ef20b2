package mfrc522_test

import (
	"testing"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"

	"github.com/pkfreelance/seatgate/device/emu"
	"github.com/pkfreelance/seatgate/device/iso14443"
	"github.com/pkfreelance/seatgate/device/mfrc522"
)

// noiseConn is a chip that answers every read with the next bytes of a
// fuzzer's input: any register value, FIFO content or status the driver
// could ever see from a broken, cloned or misbehaving chip.
type noiseConn struct {
	data []byte
	pos  int
}

var _ spi.Conn = (*noiseConn)(nil)

func (c *noiseConn) next() byte {
	if len(c.data) == 0 {
		return 0
	}
	b := c.data[c.pos%len(c.data)]
	c.pos++
	return b
}

func (c *noiseConn) String() string                                            { return "noise" }
func (c *noiseConn) Duplex() conn.Duplex                                       { return conn.Full }
func (c *noiseConn) Connect(physic.Frequency, spi.Mode, int) (spi.Conn, error) { return c, nil }

func (c *noiseConn) Tx(w, r []byte) error {
	for i := range r {
		r[i] = c.next()
	}
	return nil
}

func (c *noiseConn) TxPackets(p []spi.Packet) error {
	for _, pk := range p {
		c.Tx(pk.W, pk.R)
	}
	return nil
}

// FuzzDriverFrames: whatever the chip answers, the driver neither panics
// nor hangs, and a UID it returns is a valid 4, 7 or 10-byte UID.
func FuzzDriverFrames(f *testing.F) {
	f.Add([]byte{0x00, 0x92, 0x00})
	f.Add([]byte{0x92, 0x20, 0x00, 0x00, 0x02, 0x00, 0x00, 0x04, 0x00})
	f.Add([]byte{0xFF})
	f.Add([]byte{0x92, 0x21, 0x08, 0x06, 0x05, 0x00, 0x23, 0x88, 0x04, 0xA1, 0xB2, 0x9F})
	f.Fuzz(func(t *testing.T, data []byte) {
		clk := emu.NewVirtualClock(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
		d, err := mfrc522.New(&noiseConn{data: data}, mfrc522.Options{Clock: clk})
		if err != nil {
			return
		}
		for range 4 {
			c, err := d.ReadUID()
			if err == nil && !iso14443.UID(c.UID).Valid() {
				t.Fatalf("ReadUID returned invalid UID % X", []byte(c.UID))
			}
			if _, err := d.Request(true); err == nil {
				d.SelectUID(iso14443.UID{0x04, 0xA1, 0xB2, 0xC3})
			}
		}
	})
}

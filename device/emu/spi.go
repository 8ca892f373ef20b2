package emu

import (
	"fmt"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

// spiFrame is the chip's view of the chip-select frame in progress
// (data sheet 8.1.2): the first byte is an address, bit 7 set for a read,
// bits 6..1 the register. In a read frame every later MOSI byte is the next
// address and MISO returns the register the previous byte addressed
// ("addr0 addr1 … addrN 00" gives "X d0 … dN"); in a write frame every later
// byte is data for the first address.
type spiFrame struct {
	open bool
	read bool
	addr byte
}

// Connect implements spi.Port and returns the chip itself. The MFRC522 takes
// 8-bit words, MSB first, in SPI mode 0 or 3 (data sampled on the rising
// edge) with a chip select; f, when not 0, lowers the bus speed.
func (c *Chip) Connect(f physic.Frequency, mode spi.Mode, bits int) (spi.Conn, error) {
	if bits != 8 {
		return nil, fmt.Errorf("%s: connect: %d bits per word, want 8", c.opts.Name, bits)
	}
	if mode&(spi.HalfDuplex|spi.NoCS|spi.LSBFirst) != 0 || (mode&spi.Mode3 != spi.Mode0 && mode&spi.Mode3 != spi.Mode3) {
		return nil, fmt.Errorf("%s: connect: mode %s not supported, want Mode0 or Mode3", c.opts.Name, mode)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hz = c.opts.SPIHz
	if hz := int64(f / physic.Hertz); hz > 0 && hz < c.hz {
		c.hz = hz
	}
	return c, nil
}

// Duplex implements conn.Conn: SPI is full duplex.
func (c *Chip) Duplex() conn.Duplex { return conn.Full }

// Tx implements conn.Conn: one chip-select frame. r may be nil; otherwise
// it must be as long as w.
func (c *Chip) Tx(w, r []byte) error {
	if len(r) != 0 && len(r) != len(w) {
		return fmt.Errorf("%s: tx: read buffer is %d bytes, write buffer %d", c.opts.Name, len(r), len(w))
	}
	return c.transfer([]spi.Packet{{W: w, R: r}})
}

// TxPackets implements spi.Conn: one ioctl carrying several packets. A
// packet with KeepCS set continues its chip-select frame into the next
// packet, even across calls.
func (c *Chip) TxPackets(p []spi.Packet) error {
	for i, pk := range p {
		if len(pk.W) != 0 && len(pk.R) != 0 && len(pk.W) != len(pk.R) {
			return fmt.Errorf("%s: tx packets: packet %d: read buffer is %d bytes, write buffer %d", c.opts.Name, i, len(pk.R), len(pk.W))
		}
		if pk.BitsPerWord != 0 && pk.BitsPerWord != 8 {
			return fmt.Errorf("%s: tx packets: packet %d: %d bits per word, want 8", c.opts.Name, i, pk.BitsPerWord)
		}
	}
	return c.transfer(p)
}

// transfer clocks packets through the chip as one ioctl, charging its cost
// to a virtual clock.
func (c *Chip) transfer(pkts []spi.Packet) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := &c.m
	start := c.now()
	c.sync(start)
	m.stats.Transfers++
	m.stats.Packets += len(pkts)
	m.stats.BusTime += c.opts.TransferLatency
	t := start
	if c.vclock != nil {
		t = t.Add(c.opts.TransferLatency)
	}
	defer func() {
		if c.vclock != nil {
			c.sync(t)
			c.vclock.AdvanceTo(t)
		}
		c.notify()
	}()
	if m.faults.bus > 0 {
		m.faults.bus--
		c.spi = spiFrame{}
		return fmt.Errorf("%s: spi transfer: %w", c.opts.Name, ErrBusFault)
	}
	byteTime := time.Duration(8 * int64(time.Second) / c.hz)
	for _, p := range pkts {
		n := max(len(p.W), len(p.R))
		for i := range n {
			if c.vclock != nil {
				t = t.Add(byteTime)
			} else {
				t = c.now()
			}
			var mosi byte
			if i < len(p.W) {
				mosi = p.W[i]
			}
			miso := c.spiByte(mosi, t)
			if i < len(p.R) {
				p.R[i] = miso
			}
		}
		m.stats.Bytes += n
		m.stats.BusTime += time.Duration(n) * byteTime
		if !p.KeepCS {
			c.spi.open = false
		}
	}
	return nil
}

// spiByte clocks one byte through the chip at time t and returns MISO.
func (c *Chip) spiByte(mosi byte, t time.Time) byte {
	m := &c.m
	c.sync(t)
	deaf := m.hardPD || t.Before(m.startupUntil) || m.faults.missing
	miso := byte(0)
	if m.faults.missing {
		miso = m.faults.missingByte
	}
	f := &c.spi
	switch {
	case !f.open:
		f.open, f.read, f.addr = true, mosi&0x80 != 0, mosi>>1&0x3F
	case f.read:
		if !deaf {
			miso = c.readReg(f.addr, t)
		}
		f.addr = mosi >> 1 & 0x3F
	default:
		if !deaf {
			c.writeReg(f.addr, mosi, t)
		}
	}
	c.updateLine()
	return miso
}

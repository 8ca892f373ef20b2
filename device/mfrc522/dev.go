package mfrc522

import (
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/spi"

	"github.com/pkfreelance/seatgate/device/iso14443"
)

// Clock is the driver's source of time. Tests and the emulator pass a
// virtual clock; the daemon passes SystemClock.
type Clock interface {
	Now() time.Time
	Sleep(d time.Duration)
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep calls time.Sleep.
func (SystemClock) Sleep(d time.Duration) { time.Sleep(d) }

// Options configure a Dev. The zero value works: system clock, no pins.
type Options struct {
	// Name identifies the reader in errors and logs, e.g. "SPI0.1" or a desk id.
	Name string
	// Clock defaults to SystemClock.
	Clock Clock
	// IRQ, if set, is the chip's IRQ line (active low). The driver then
	// waits for its falling edge instead of sleeping for the air time.
	IRQ gpio.PinIn
	// Reset, if set, is NRSTPD: New pulses it low for a hard reset.
	Reset gpio.PinOut
	// AntennaGain is RFCfgReg RxGain (0..7, 7 = 48 dB). Default 4 (33 dB).
	AntennaGain int
	// Timeout is the chip-timer response timeout per frame. Default 1 ms,
	// far above the ≈0.6 ms the longest anticollision answer needs.
	Timeout time.Duration
	// NoPackets forces one Tx per chip-select frame even where TxPackets
	// works (for tests and for measuring the difference).
	NoPackets bool
}

// Stats counts what the driver did on the bus.
type Stats struct {
	Transfers int // spi.Conn calls (TxPackets or Tx): ioctls on Linux
	Frames    int // frames sent to cards
	Retries   int // exchanges repeated after a retryable error
	BusErrors int
	// AnswerMargin is how long after an answer's computed end the driver
	// reads it; it grows from 30 µs when answers come late.
	AnswerMargin time.Duration
}

// Dev is one MFRC522. It is not safe for concurrent use: one goroutine (the
// bus scanner) owns it.
type Dev struct {
	conn      spi.Conn
	name      string
	clk       Clock
	irq       gpio.PinIn
	packets   bool
	okPackets bool
	version   byte
	timeout   time.Duration
	margin    time.Duration // see answerMarginStart

	fieldOnAt time.Time // when the field last came on; zero if off
	busyUntil time.Time // end of the last frame on air (HLTA is not waited for)
	crc       int8      // current TxCRCEn/RxCRCEn state: -1 unknown, 0 off, 1 on
	pending   exchange  // the exchange started and not yet finished
	b         batch
	stats     Stats
}

// New checks that an MFRC522 answers on conn, resets it once, configures
// its timer and switches the antenna field on. The first frame goes out no
// sooner than iso14443.FieldGuard after that.
func New(conn spi.Conn, o Options) (*Dev, error) {
	d := &Dev{
		conn:    conn,
		name:    o.Name,
		clk:     o.Clock,
		irq:     o.IRQ,
		packets: !o.NoPackets,
		timeout: o.Timeout,
		crc:     -1,
		margin:  answerMarginStart,
	}
	if d.name == "" {
		d.name = conn.String()
	}
	if d.clk == nil {
		d.clk = SystemClock{}
	}
	if d.timeout <= 0 {
		d.timeout = time.Millisecond
	}
	gain := o.AntennaGain
	if gain == 0 {
		gain = 4
	}
	if gain < 0 || gain > 7 {
		return nil, fmt.Errorf("mfrc522 %s: antenna gain %d out of range 0..7", d.name, gain)
	}
	if o.Reset != nil {
		if err := o.Reset.Out(gpio.Low); err != nil {
			return nil, fmt.Errorf("mfrc522 %s: reset pin low: %w", d.name, err)
		}
		d.clk.Sleep(100 * time.Microsecond)
		if err := o.Reset.Out(gpio.High); err != nil {
			return nil, fmt.Errorf("mfrc522 %s: reset pin high: %w", d.name, err)
		}
		d.clk.Sleep(50 * time.Millisecond) // oscillator start-up
	}
	if err := d.checkVersion(); err != nil {
		return nil, err
	}
	if err := d.softReset(); err != nil {
		return nil, err
	}
	if d.irq != nil {
		if err := d.irq.In(gpio.PullUp, gpio.FallingEdge); err != nil {
			return nil, fmt.Errorf("mfrc522 %s: irq pin: %w", d.name, err)
		}
	}
	if err := d.configure(byte(gain)); err != nil {
		return nil, err
	}
	return d, nil
}

// String names the reader.
func (d *Dev) String() string { return "mfrc522 " + d.name }

// Version is what VersionReg read at New: 0x91 or 0x92 on genuine chips.
func (d *Dev) Version() byte { return d.version }

// Stats returns the counters since New.
func (d *Dev) Stats() Stats {
	s := d.stats
	s.AnswerMargin = d.margin
	return s
}

// Close switches the field off. The Dev must not be used afterwards; the
// caller still owns conn and the pins.
func (d *Dev) Close() error { return d.SetField(false) }

func (d *Dev) checkVersion() error {
	var v byte
	const tries = 3
	for i := 1; i <= tries; i++ {
		d.b.reset()
		r := d.b.read(regVersion)
		if err := d.run(&d.b); err != nil {
			return fmt.Errorf("mfrc522 %s: read VersionReg: %w", d.name, err)
		}
		v = d.b.values(r)[0]
		if v != 0x00 && v != 0xFF {
			d.version = v
			return nil
		}
		d.clk.Sleep(time.Millisecond)
	}
	return &NoChipError{Reader: d.name, Version: v, Reads: tries}
}

func (d *Dev) softReset() error {
	d.b.reset()
	d.b.write(regCommand, cmdSoftReset)
	if err := d.run(&d.b); err != nil {
		return fmt.Errorf("mfrc522 %s: soft reset: %w", d.name, err)
	}
	d.fieldOnAt = time.Time{}
	// The datasheet gives no soft-reset time; the oscillator needs about
	// 38 µs. PowerDown reads back set until the reset has finished.
	for i := 0; i < 10; i++ {
		d.clk.Sleep(50 * time.Microsecond)
		d.b.reset()
		r := d.b.read(regCommand)
		if err := d.run(&d.b); err != nil {
			return fmt.Errorf("mfrc522 %s: soft reset: %w", d.name, err)
		}
		if d.b.values(r)[0]&bitPowerDown == 0 {
			return nil
		}
	}
	return fmt.Errorf("mfrc522 %s: soft reset: %w", d.name, ErrChipStuck)
}

// configure sets the timer, modulation, CRC preset, gain and IRQ, then
// switches the field on.
func (d *Dev) configure(gain byte) error {
	// Timer: f = 13.56 MHz / (2*67+1) ≈ 100.4 kHz, one tick ≈ 9.96 µs.
	const prescaler = 67
	ticks := int(d.timeout / (9956 * time.Nanosecond))
	if ticks < 1 {
		ticks = 1
	}
	if ticks > 0xFFFF {
		ticks = 0xFFFF
	}
	d.b.reset()
	d.b.write(regTMode, tAuto|byte(prescaler>>8))
	d.b.write(regTPrescaler, byte(prescaler))
	d.b.write(regTReloadH, byte(ticks>>8))
	d.b.write(regTReloadL, byte(ticks))
	d.b.write(regTxASK, force100ASK)
	d.b.write(regMode, 0x3D) // TxWaitRF, PolMFin high, CRC preset 6363h
	d.b.write(regRFCfg, gain<<4)
	d.b.write(regColl, 0x00) // ValuesAfterColl=0: bits after a collision read as 0
	d.b.write(regTxMode, 0x00)
	d.b.write(regRxMode, 0x00)
	d.crc = 0
	if d.irq != nil {
		d.b.write(regComIEn, irqInv|irqRx|irqTimer|irqErr)
	}
	if err := d.run(&d.b); err != nil {
		return fmt.Errorf("mfrc522 %s: configure: %w", d.name, err)
	}
	return d.SetField(true)
}

// SetField switches the antenna field on or off. Switching it off resets
// every card in the field; after switching it on the driver waits
// iso14443.FieldGuard before the next frame.
func (d *Dev) SetField(on bool) error {
	d.b.reset()
	if on {
		d.b.write(regTxControl, 0x80|antennaOn)
	} else {
		d.b.write(regTxControl, 0x80)
	}
	if err := d.run(&d.b); err != nil {
		return fmt.Errorf("mfrc522 %s: switch field: %w", d.name, err)
	}
	if on {
		if d.fieldOnAt.IsZero() {
			d.fieldOnAt = d.clk.Now()
		}
	} else {
		d.fieldOnAt = time.Time{}
	}
	return nil
}

// guard sleeps until the field has been on for FieldGuard and the last
// frame has left the antenna.
func (d *Dev) guard() error {
	if d.fieldOnAt.IsZero() {
		if err := d.SetField(true); err != nil {
			return err
		}
	}
	ready := d.fieldOnAt.Add(iso14443.FieldGuard)
	if d.busyUntil.After(ready) {
		ready = d.busyUntil
	}
	if wait := ready.Sub(d.clk.Now()); wait > 0 {
		d.clk.Sleep(wait)
	}
	return nil
}

package emu

import (
	"sync"
	"time"

	"github.com/pkfreelance/seatgate/device/iso14443"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/spi"
)

// ChipOptions configures a Chip. The zero value is a genuine v2.0 chip on
// a 10 MHz bus with no per-transfer cost.
type ChipOptions struct {
	// Name identifies the chip in String and errors. Default "mfrc522".
	Name string
	// Version is what VersionReg reads. Default 0x92 (v2.0); genuine chips
	// also read 0x91 (v1.0) or 0x90, clones others such as 0x88 or 0x12.
	Version byte
	// TransferLatency is the fixed cost of each Tx or TxPackets call, that
	// is of each spidev ioctl: tens of microseconds on a Raspberry Pi. It is
	// charged to a VirtualClock only.
	TransferLatency time.Duration
	// SPIHz is the SPI clock; each byte costs 8/SPIHz of bus time. Default
	// 10 MHz, the chip's maximum; Connect may lower it.
	SPIHz int64
	// ZeroTimeoutWaitsForever selects the IRQ pin's WaitForEdge semantics.
	// False (legacy sysfs): 0 polls once and -1 waits forever; edges
	// coalesce. True (periph host ≥ v3.8.3 on the GPIO character device,
	// periph/host#78): 0 waits forever and -1 returns false at once; edges
	// queue, up to 16.
	ZeroTimeoutWaitsForever bool
}

// Stats counts what the chip has seen since it was made or ResetStats.
type Stats struct {
	Transfers       int           // Tx plus TxPackets calls: one ioctl each
	Packets         int           // packets (a Tx is one)
	Bytes           int           // bytes clocked on the bus
	BusTime         time.Duration // TransferLatency per transfer plus 8/SPIHz per byte
	RadioFrames     int           // frames the chip put on air
	GuardViolations int           // frames sent less than 5 ms after the field came on
	SoftResets      int           // SoftReset commands
	FieldOns        int           // times the RF field came on
}

// Chip is an emulated MFRC522. It implements spi.Port (Connect returns the
// chip itself) and spi.Conn, has an IRQ pin and an NRSTPD pin, and holds the
// cards in its field. It is safe for concurrent use; one mutex guards it.
type Chip struct {
	opts   ChipOptions
	clock  Clock
	vclock *VirtualClock // clock, when it is virtual
	irq    *IRQPin
	rst    *resetPin

	mu      sync.Mutex
	hz      int64
	cards   []*Card
	m       model
	spi     spiFrame
	changed chan struct{} // closed and replaced on every change, for IRQ waiters
}

var (
	_ spi.Conn = (*Chip)(nil)
	_ spi.Port = (*Chip)(nil)
)

// model is the chip's state. It is a value: an IRQ waiter copies it (with the
// cards' states) to look ahead and puts it back if nothing comes of it.
type model struct {
	now time.Time // events are applied up to here

	reg              [64]byte
	fifo             [fifoSize]byte
	fifoLen          int
	mem              [25]byte // internal buffer (Mem, GenerateRandomID)
	loAlert, hiAlert bool

	hardPD       bool      // NRSTPD low
	startupUntil time.Time // after a hard reset: SPI ignored until then
	resetUntil   time.Time // SoftReset shows in CommandReg until then
	softPD       bool      // CommandReg.PowerDown set by the host
	wakeUntil    time.Time // leaving soft power-down: oscillator starting

	field     bool
	fieldOnAt time.Time

	ph             phase
	tx             bitFrame
	txStart, txEnd time.Time
	rx             *reception // never modified once made
	rxStart, rxEnd time.Time  // first and last bit of the answer on air
	rxPushed       int        // bytes of rx.data already written to the FIFO
	rxOvfl         bool       // a received byte found the FIFO full
	rxTimerDone    bool

	timer  timerState
	crc    crcState
	faults faults
	line   lineState
	stats  Stats
}

// NewChip returns a chip powered up and reset, with an empty field. A nil
// clock means SystemClock.
func NewChip(clock Clock, opts ChipOptions) *Chip {
	if clock == nil {
		clock = SystemClock{}
	}
	if opts.Name == "" {
		opts.Name = "mfrc522"
	}
	if opts.Version == 0 {
		opts.Version = 0x92
	}
	if opts.SPIHz <= 0 {
		opts.SPIHz = 10_000_000
	}
	c := &Chip{opts: opts, clock: clock, hz: opts.SPIHz, changed: make(chan struct{})}
	c.vclock, _ = clock.(*VirtualClock)
	c.irq = &IRQPin{c: c}
	c.rst = &resetPin{c: c}
	c.m.now = clock.Now()
	c.resetRegisters()
	c.m.line = lineState{pull: defaultPull}
	c.m.line.level = c.lineLevel()
	return c
}

// String describes the chip.
func (c *Chip) String() string { return "MFRC522 emulator " + c.opts.Name }

// IRQ returns the chip's IRQ output pin.
func (c *Chip) IRQ() *IRQPin { return c.irq }

// ResetPin returns the chip's NRSTPD input: Low is hard power-down (the chip
// ignores SPI, the field is off); a rising edge is a hard reset.
func (c *Chip) ResetPin() gpio.PinOut { return c.rst }

// FieldOn reports whether the RF field is on now.
func (c *Chip) FieldOn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sync(c.now())
	return c.m.field
}

// Stats returns the counters.
func (c *Chip) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sync(c.now())
	return c.m.stats
}

// ResetStats zeroes the counters.
func (c *Chip) ResetStats() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sync(c.now())
	c.m.stats = Stats{}
}

// Place puts cards into the field. A card in another chip's field moves
// here; one already here stays. With the field on, a card starts powering
// up now.
func (c *Chip) Place(cards ...*Card) {
	for _, card := range cards {
		card.mu.Lock()
		prev := card.owner
		card.mu.Unlock()
		if prev != nil && prev != c {
			prev.remove(func(x *Card) bool { return x == card })
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.sync(now)
	for _, card := range cards {
		card.mu.Lock()
		if card.owner == c {
			card.mu.Unlock()
			continue
		}
		card.owner = c
		card.mu.Unlock()
		card.st = cardState{}
		if c.m.field {
			card.powerOn(now)
		}
		c.cards = append(c.cards, card)
	}
	c.notify()
}

// Remove takes the card with the given UID out of the field and reports
// whether there was one.
func (c *Chip) Remove(uid iso14443.UID) bool {
	return c.remove(func(x *Card) bool { return x.uid.Equal(uid) }) > 0
}

// RemoveAll empties the field.
func (c *Chip) RemoveAll() { c.remove(func(*Card) bool { return true }) }

func (c *Chip) remove(match func(*Card) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sync(c.now())
	kept := c.cards[:0]
	n := 0
	for _, card := range c.cards {
		if !match(card) {
			kept = append(kept, card)
			continue
		}
		n++
		card.st = cardState{}
		card.mu.Lock()
		card.owner = nil
		card.mu.Unlock()
	}
	clear(c.cards[len(kept):])
	c.cards = kept
	c.notify()
	return n
}

// Cards returns the cards in the field, in the order they were placed.
func (c *Chip) Cards() []*Card {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Card(nil), c.cards...)
}

// now is the clock's time, never earlier than the model's.
func (c *Chip) now() time.Time {
	t := c.clock.Now()
	if t.Before(c.m.now) {
		return c.m.now
	}
	return t
}

// notify wakes IRQ waiters after a change.
func (c *Chip) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// event is something the chip does by itself at a known time.
type event uint8

const (
	evNone        event = iota
	evTxEnd             // last bit sent
	evRxTimerStop       // 5th bit of the answer received
	evRxByte            // a received byte complete: into the FIFO
	evRxEnd             // last bit of the answer received
	evTimer             // timer reaches zero
	evCRC               // CRC coprocessor done
	evWake              // oscillator running again after soft power-down
)

// nextEvent returns the earliest pending event; ties go in the order above.
func (c *Chip) nextEvent() (event, time.Time) {
	m := &c.m
	best, at := evNone, time.Time{}
	consider := func(e event, t time.Time) {
		if best == evNone || t.Before(at) {
			best, at = e, t
		}
	}
	switch m.ph {
	case phTx:
		consider(evTxEnd, m.txEnd)
	case phRx:
		if !m.rxTimerDone {
			consider(evRxTimerStop, m.rxStart.Add(5*iso14443.ETU))
		}
		if m.rxPushed < len(m.rx.data) {
			consider(evRxByte, m.rx.at[m.rxPushed])
		}
		consider(evRxEnd, m.rxEnd)
	}
	if t, ok := c.timerNextExpiry(m.now); ok {
		consider(evTimer, t)
	}
	if m.crc.busy {
		consider(evCRC, m.crc.doneAt)
	}
	if !m.wakeUntil.IsZero() {
		consider(evWake, m.wakeUntil)
	}
	return best, at
}

// fire applies event e at time t.
func (c *Chip) fire(e event, t time.Time) {
	if t.After(c.m.now) {
		c.m.now = t
	}
	switch e {
	case evTxEnd:
		c.onTxEnd(t)
	case evRxTimerStop:
		c.onRxTimerStop(t)
	case evRxByte:
		c.onRxByte()
	case evRxEnd:
		c.onRxEnd(t)
	case evTimer:
		c.timerExpire()
	case evCRC:
		c.crcDone()
	case evWake:
		c.m.wakeUntil = time.Time{}
		c.updateField(t)
	}
	c.updateLine()
}

// sync applies every event due by t and moves the model to t.
func (c *Chip) sync(t time.Time) {
	for {
		e, at := c.nextEvent()
		if e == evNone || at.After(t) {
			break
		}
		c.fire(e, at)
	}
	if t.After(c.m.now) {
		c.m.now = t
	}
}

// snapshot is the chip's state with its cards', for looking ahead.
type snapshot struct {
	m     model
	cards []cardState
}

func (c *Chip) snapshot() snapshot {
	s := snapshot{m: c.m, cards: make([]cardState, len(c.cards))}
	for i, card := range c.cards {
		s.cards[i] = card.st
	}
	return s
}

func (c *Chip) restore(s snapshot) {
	c.m = s.m
	for i, card := range c.cards {
		card.st = s.cards[i]
	}
}

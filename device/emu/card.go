package emu

import (
	"bytes"
	"fmt"
	"sync"
	"time"

	"github.com/pkfreelance/seatgate/device/iso14443"
)

// CardState is where a card's ISO/IEC 14443-3 state machine is.
type CardState uint8

// Card states. CardWoken is or'ed into CardReady and CardActive for a card
// woken from HALT by WUPA (READY* and ACTIVE*), which falls back to HALT
// rather than IDLE on an unexpected frame.
const (
	CardPowerOff CardState = iota // no field, or still powering up
	CardIdle                      // powered; answers REQA and WUPA
	CardReady                     // answered REQA/WUPA; anticollision and SELECT
	CardActive                    // selected; only HLTA is understood here
	CardHalt                      // halted; answers WUPA only

	CardWoken CardState = 0x80
)

// Base returns the state without the CardWoken flag.
func (s CardState) Base() CardState { return s &^ CardWoken }

// Woken reports whether the state is READY* or ACTIVE*.
func (s CardState) Woken() bool { return s&CardWoken != 0 }

// String names the state as ISO/IEC 14443-3 does: "READY*" for a woken card.
func (s CardState) String() string {
	var name string
	switch s.Base() {
	case CardPowerOff:
		name = "POWER-OFF"
	case CardIdle:
		name = "IDLE"
	case CardReady:
		name = "READY"
	case CardActive:
		name = "ACTIVE"
	case CardHalt:
		name = "HALT"
	default:
		return fmt.Sprintf("CardState(%#x)", uint8(s))
	}
	if s.Woken() {
		name += "*"
	}
	return name
}

// CardOption changes a card's defaults.
type CardOption func(*Card)

// WithSAK sets the final SAK (the cascade bit 0x04 is removed: the card
// sets it itself at intermediate cascade levels). Default: 0x08 (MIFARE
// Classic 1K) for a 4-byte UID, 0x00 (MIFARE Ultralight) for 7 and 10 bytes.
func WithSAK(sak byte) CardOption {
	return func(c *Card) { c.sak = sak &^ iso14443.SAKCascade }
}

// WithATQA sets the ATQA, sent LSB first. Default by UID size: 0x0004
// single, 0x0044 double, 0x0084 triple.
func WithATQA(atqa uint16) CardOption { return func(c *Card) { c.atqa = atqa } }

// WithPowerUp sets how long after the field comes on the card accepts
// frames. Default 1 ms; ISO/IEC 14443 allows up to 5 ms.
func WithPowerUp(d time.Duration) CardOption { return func(c *Card) { c.powerUp = d } }

// WithAnswerDelay makes the card answer d later than the standard frame
// delay time (iso14443.FDTShort): a slow or marginal card. Default 0; a
// negative d counts as 0. When cards with different delays answer the same
// frame, the receiver hears only those that start first (the smallest
// delay), combined bit by bit; the later ones are not heard, although they
// act on the frame.
func WithAnswerDelay(d time.Duration) CardOption {
	return func(c *Card) { c.answerDelay = max(d, 0) }
}

// Card is an ISO/IEC 14443-3 type A card with a 4-, 7- or 10-byte UID. It
// answers REQA, WUPA, ANTICOLLISION, SELECT and HLTA; nothing above layer 3.
// A card is in at most one chip's field at a time.
type Card struct {
	uid     iso14443.UID
	atqa    uint16
	sak     byte
	powerUp time.Duration

	answerDelay time.Duration // added to the frame delay time

	mu    sync.Mutex // guards owner
	owner *Chip

	st cardState // guarded by the owner's mutex
}

// cardState is a card's state machine; the zero value is powered off.
type cardState struct {
	state   CardState // base state, without CardWoken
	woken   bool      // READY* / ACTIVE*
	level   int       // cascade level being resolved in READY, 1..3
	readyAt time.Time // when power-up completes
}

// NewCard returns a card with the given UID. It panics if the UID is not 4,
// 7 or 10 bytes long: cards are test and configuration fixtures, and a
// wrong size is a programming error (parse configured UIDs with
// iso14443.ParseUID first).
func NewCard(uid iso14443.UID, opts ...CardOption) *Card {
	c := &Card{uid: append(iso14443.UID(nil), uid...), powerUp: time.Millisecond}
	switch uid.Levels() {
	case 1:
		c.atqa, c.sak = 0x0004, 0x08
	case 2:
		c.atqa, c.sak = 0x0044, 0x00
	case 3:
		c.atqa, c.sak = 0x0084, 0x00
	default:
		panic(fmt.Sprintf("emu: card uid %s: %v", uid, iso14443.ErrUIDLength))
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// UID returns a copy of the card's UID.
func (c *Card) UID() iso14443.UID { return append(iso14443.UID(nil), c.uid...) }

// ATQA returns the card's answer to request.
func (c *Card) ATQA() uint16 { return c.atqa }

// SAK returns the card's final select acknowledge.
func (c *Card) SAK() byte { return c.sak }

// String describes the card by UID.
func (c *Card) String() string { return "card " + c.uid.String() }

// State returns the card's state now. A card outside any field, or still
// powering up, is CardPowerOff.
func (c *Card) State() CardState {
	c.mu.Lock()
	chip := c.owner
	c.mu.Unlock()
	if chip == nil {
		return CardPowerOff
	}
	chip.mu.Lock()
	defer chip.mu.Unlock()
	now := chip.now()
	chip.sync(now)
	st := c.st
	if st.state == CardPowerOff || now.Before(st.readyAt) {
		return CardPowerOff
	}
	if st.woken {
		return st.state | CardWoken
	}
	return st.state
}

// powerOn starts the card powering up in the field at t.
func (c *Card) powerOn(t time.Time) {
	c.st = cardState{state: CardIdle, readyAt: t.Add(c.powerUp)}
}

// fail is the answer to an unexpected frame: back to IDLE, or to HALT for
// a card woken from HALT.
func (st *cardState) fail() {
	if st.woken {
		*st = cardState{state: CardHalt, readyAt: st.readyAt}
		return
	}
	*st = cardState{state: CardIdle, readyAt: st.readyAt}
}

func (st *cardState) toReady(woken bool) {
	st.state, st.woken, st.level = CardReady, woken, 1
}

// receive runs the state machine on one frame and returns the card's
// answer, if it sends one.
func (c *Card) receive(f bitFrame) (bitFrame, bool) {
	st := &c.st
	switch st.state {
	case CardIdle:
		if f.isShort(iso14443.REQA) || f.isShort(iso14443.WUPA) {
			st.toReady(false)
			return c.atqaFrame(), true
		}
	case CardHalt:
		if f.isShort(iso14443.WUPA) {
			st.toReady(true)
			return c.atqaFrame(), true
		}
	case CardReady:
		return c.anticollision(f)
	case CardActive:
		if isHLTA(f) {
			*st = cardState{state: CardHalt, readyAt: st.readyAt}
			return bitFrame{}, false
		}
		st.fail()
	}
	return bitFrame{}, false
}

func (c *Card) atqaFrame() bitFrame {
	return bytesFrame([]byte{byte(c.atqa), byte(c.atqa >> 8)})
}

func isHLTA(f bitFrame) bool {
	return f.n == 32 && f.b[0] == iso14443.HLTA0 && f.b[1] == iso14443.HLTA1 && iso14443.CheckCRCA(f.b)
}

// anticollision handles a frame in READY at the current cascade level:
// ANTICOLLISION (NVB 0x20..0x67) answers the bits of CLn+BCC after those
// the reader sent if they match, and stays silent otherwise; SELECT (NVB
// 0x70) with a matching CLn+BCC and a valid CRC_A answers SAK+CRC_A, moving
// to the next level (cascade bit set) or to ACTIVE. Anything else is
// unexpected.
func (c *Card) anticollision(f bitFrame) (bitFrame, bool) {
	st := &c.st
	if f.n < 16 || f.b[0] != iso14443.SelectCommand(st.level) {
		st.fail()
		return bitFrame{}, false
	}
	cl := c.uid.CascadeLevel(st.level)
	clBCC := append(cl[:], iso14443.BCC(cl[:]))
	ref := bytesFrame(clBCC)
	nvb := f.b[1]
	if nvb == iso14443.NVBSelect {
		if f.n != 9*8 || !iso14443.CheckCRCA(f.b) || !bytes.Equal(f.b[2:7], clBCC) {
			st.fail()
			return bitFrame{}, false
		}
		var sak byte
		if st.level < c.uid.Levels() {
			sak = iso14443.SAKCascade
			st.level++
		} else {
			sak = c.sak
			st.state = CardActive
		}
		return bytesFrame(iso14443.AppendCRCA([]byte{sak})), true
	}
	nbytes, nbits := int(nvb>>4), int(nvb&0x0F)
	known := (nbytes-2)*8 + nbits
	if nbytes < 2 || nbits > 7 || known > 39 || f.n != 16+known {
		st.fail()
		return bitFrame{}, false
	}
	for i := range known {
		if f.bit(16+i) != ref.bit(i) {
			return bitFrame{}, false // not this card: silent, still READY
		}
	}
	var a bitFrame
	for i := known; i < ref.n; i++ {
		a.push(ref.bit(i))
	}
	return a, true
}

package emu

import (
	"fmt"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/device/iso14443"
)

func TestREQA(t *testing.T) {
	tests := []struct {
		name string
		uid  iso14443.UID
		want []byte // ATQA, LSB first
	}{
		{"single size UID", uid4, []byte{0x04, 0x00}},
		{"double size UID", uid7, []byte{0x44, 0x00}},
		{"triple size UID", uid10, []byte{0x84, 0x00}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := NewCard(tt.uid)
			r := newRig(t, ChipOptions{}, card)
			r.setUp()
			a := r.transceive([]byte{iso14443.REQA}, 0x07) // TxLastBits 7: a short frame
			if !equalBytes(a.data, tt.want) || a.lastBits != 0 || a.err != 0 {
				t.Errorf("got %x (RxLastBits %d, ErrorReg %#02x), want %x, 16 bits, no error", a.data, a.lastBits, a.err, tt.want)
			}
			if got := card.State(); got != CardReady {
				t.Errorf("card: got %v, want READY", got)
			}
		})
	}
}

func TestREQAAirTime(t *testing.T) {
	// REQA (7 bits) ends 85 µs after StartSend, the card answers 91 µs
	// later, and the ATQA (16 bits) takes 189 µs: RxIRq is not visible a
	// moment before the end of the answer, and is right after it.
	r := newRig(t, ChipOptions{}, NewCard(uid4))
	r.setUp()
	r.start([]byte{iso14443.REQA}, 0x07)
	sent := r.clock.Now() // StartSend was the last byte clocked in
	end := sent.Add(iso14443.FrameAirTime(7) + iso14443.FDTShort + iso14443.FrameAirTime(16))
	r.clock.AdvanceTo(end.Add(-2 * time.Microsecond))
	if got := r.read(regComIrq); got&irqRx != 0 {
		t.Errorf("ComIrqReg %#02x before the end of the ATQA: RxIRq already set", got)
	}
	if got := r.read(regComIrq); got&irqRx == 0 {
		t.Errorf("ComIrqReg %#02x after the end of the ATQA: RxIRq not set", got)
	}
	if got := end.Sub(sent); got < 360*time.Microsecond || got > 370*time.Microsecond {
		t.Errorf("REQA to end of ATQA: %v, want about 365µs", got)
	}
}

// step is one exchange in an activation and what must come of it.
type step struct {
	name    string
	send    []byte
	framing byte // BitFramingReg
	want    []byte
	state   CardState // the card's state afterwards
}

func activationSteps(uid iso14443.UID, sak byte) []step {
	steps := []step{{"REQA", []byte{iso14443.REQA}, 0x07, []byte{byte(NewCard(uid).ATQA()), 0x00}, CardReady}}
	for n := 1; n <= uid.Levels(); n++ {
		sel := iso14443.SelectCommand(n)
		wantSAK, state := byte(iso14443.SAKCascade), CardReady
		if n == uid.Levels() {
			wantSAK, state = sak, CardActive
		}
		steps = append(steps,
			step{fmt.Sprintf("ANTICOLLISION CL%d: %02X 20", n, sel), []byte{sel, 0x20}, 0, clBCC(uid, n), CardReady},
			step{fmt.Sprintf("SELECT CL%d: %02X 70 CL%d BCC CRC_A", n, sel, n), selectFrame(uid, n), 0, iso14443.AppendCRCA([]byte{wantSAK}), state},
		)
	}
	return steps
}

func TestActivation(t *testing.T) {
	tests := []struct {
		name string
		uid  iso14443.UID
		sak  byte
	}{
		{"4-byte UID: one level, SAK 08", uid4, 0x08},
		{"7-byte UID: CT 88 at level 1, SAK 04 then 00", uid7, 0x00},
		{"10-byte UID: CT at levels 1 and 2, SAK 04 04 00", uid10, 0x00},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := NewCard(tt.uid)
			r := newRig(t, ChipOptions{}, card)
			r.setUp()
			for _, s := range activationSteps(tt.uid, tt.sak) {
				a := r.transceive(s.send, s.framing)
				if !equalBytes(a.data, s.want) || a.err != 0 {
					t.Fatalf("%s: got %x (ErrorReg %#02x), want %x", s.name, a.data, a.err, s.want)
				}
				if got := card.State(); got != s.state {
					t.Fatalf("%s: card %v, want %v", s.name, got, s.state)
				}
			}
		})
	}
}

func TestCascadeTagAndBCC(t *testing.T) {
	// The answers above come from the card; spell the 7-byte case out in
	// bytes once: CL1 = 88 04 A1 B2, BCC1 = 88^04^A1^B2; CL2 = C3 D4 E5 F6.
	if got, want := clBCC(uid7, 1), []byte{0x88, 0x04, 0xA1, 0xB2, 0x88 ^ 0x04 ^ 0xA1 ^ 0xB2}; !equalBytes(got, want) {
		t.Errorf("CL1+BCC: got %x, want %x", got, want)
	}
	if got, want := clBCC(uid7, 2), []byte{0xC3, 0xD4, 0xE5, 0xF6, 0xC3 ^ 0xD4 ^ 0xE5 ^ 0xF6}; !equalBytes(got, want) {
		t.Errorf("CL2+BCC: got %x, want %x", got, want)
	}
}

func TestHardwareCRC(t *testing.T) {
	// With TxCRCEn and RxCRCEn the chip appends CRC_A to the SELECT and
	// checks and strips it from the SAK.
	card := NewCard(uid4)
	r := newRig(t, ChipOptions{}, card)
	r.setUp()
	r.transceive([]byte{iso14443.REQA}, 0x07)
	r.transceive([]byte{iso14443.SEL1, 0x20}, 0)
	r.write(regTxMode, txCRCEn)
	r.write(regRxMode, rxCRCEn)
	a := r.transceive(append([]byte{iso14443.SEL1, iso14443.NVBSelect}, clBCC(uid4, 1)...), 0)
	if !equalBytes(a.data, []byte{0x08}) || a.err != 0 {
		t.Errorf("SELECT: got %x (ErrorReg %#02x), want SAK 08 alone", a.data, a.err)
	}
	if got := card.State(); got != CardActive {
		t.Errorf("card: got %v, want ACTIVE", got)
	}
	// An ATQA has no CRC: with RxCRCEn still on it is a CRC error.
	r.write(regTxMode, 0)
	r.transceive([]byte{0x50, 0x00, 0x57, 0xCD}, 0) // HLTA
	a = r.transceive([]byte{iso14443.WUPA}, 0x07)
	if a.err&errCRC == 0 {
		t.Errorf("ATQA with RxCRCEn: ErrorReg %#02x, want CRCErr", a.err)
	}
}

func TestAnticollisionWithKnownBits(t *testing.T) {
	// The reader sends SEL, NVB 0x25 (2 bytes + 5 bits) and the first 5
	// bits of CL1 with TxLastBits 5; the card answers the other 35 bits,
	// which the chip stores from bit 5 of the first byte (RxAlign 5).
	card := NewCard(uid4)
	r := newRig(t, ChipOptions{}, card)
	r.setUp()
	r.transceive([]byte{iso14443.REQA}, 0x07)
	cl := clBCC(uid4, 1)
	a := r.transceive([]byte{iso14443.SEL1, 0x25, cl[0] & 0x1F}, 0x55) // RxAlign 5, TxLastBits 5
	want := append([]byte{cl[0] &^ 0x1F}, cl[1:]...)
	if !equalBytes(a.data, want) || a.lastBits != 0 || a.err != 0 {
		t.Errorf("got %x (RxLastBits %d, ErrorReg %#02x), want %x", a.data, a.lastBits, a.err, want)
	}
	// Bits that do not match the card's UID: the card stays silent, still READY.
	a = r.transceive([]byte{iso14443.SEL1, 0x25, ^cl[0] & 0x1F}, 0x55)
	if !a.timedOut() {
		t.Errorf("mismatching bits: got %x, want no answer", a.data)
	}
	if got := card.State(); got != CardReady {
		t.Errorf("card: got %v, want READY", got)
	}
}

func TestTwoCardsCollide(t *testing.T) {
	// 12345678 and 12345679 differ first in bit 24 of CL1 (LSB of the last
	// UID byte, 0-based) and in the BCC.
	a, b := NewCard(uid4), NewCard(iso14443.UID{0x12, 0x34, 0x56, 0x79})
	r := newRig(t, ChipOptions{}, a, b)
	r.setUp()
	atqa := r.transceive([]byte{iso14443.REQA}, 0x07)
	if !equalBytes(atqa.data, []byte{0x04, 0x00}) || atqa.err != 0 {
		t.Fatalf("REQA: got %x (ErrorReg %#02x), want 04 00: equal ATQAs do not collide", atqa.data, atqa.err)
	}

	t.Run("ANTICOLLISION reports the first collision: CollErr, CollPos 25", func(t *testing.T) {
		r.write(regColl, 0x00) // ValuesAfterColl = 0: bits after a collision read 0
		got := r.transceive([]byte{iso14443.SEL1, 0x20}, 0)
		if got.err != errColl {
			t.Errorf("ErrorReg: got %#02x, want CollErr", got.err)
		}
		if got.coll != 25 {
			t.Errorf("CollReg: got %#02x, want 19 (CollPos 25, position valid)", got.coll)
		}
		if want := []byte{0x12, 0x34, 0x56, 0x00, 0x00}; !equalBytes(got.data, want) {
			t.Errorf("data: got %x, want %x (zeros from the collision on)", got.data, want)
		}
	})
	t.Run("the reader picks bit 24 = 1: only 12345679 answers, from bit 1 of byte 3", func(t *testing.T) {
		// NVB 0x51: SEL, NVB, 3 bytes and 1 bit of CL1; RxAlign 1, TxLastBits 1.
		got := r.transceive([]byte{iso14443.SEL1, 0x51, 0x12, 0x34, 0x56, 0x01}, 0x11)
		want := []byte{0x78, 0x12 ^ 0x34 ^ 0x56 ^ 0x79} // 79 without its bit 0, then BCC
		if got.err != 0 || !equalBytes(got.data, want) {
			t.Errorf("got %x (ErrorReg %#02x), want %x", got.data, got.err, want)
		}
	})
	t.Run("SELECT 12345679: it goes ACTIVE; for 12345678 the SELECT is unexpected: IDLE", func(t *testing.T) {
		got := r.transceive(selectFrame(b.UID(), 1), 0)
		if !equalBytes(got.data, iso14443.AppendCRCA([]byte{0x08})) {
			t.Errorf("SAK: got %x", got.data)
		}
		if a.State() != CardIdle || b.State() != CardActive {
			t.Errorf("states: %v and %v, want IDLE and ACTIVE", a.State(), b.State())
		}
	})
	t.Run("HLTA 12345679, then REQA finds 12345678 alone", func(t *testing.T) {
		r.transceive([]byte{0x50, 0x00, 0x57, 0xCD}, 0)
		got := r.transceive([]byte{iso14443.SEL1, 0x20}, 0)
		if !got.timedOut() {
			t.Errorf("ANTICOLLISION before REQA: got %x, want silence (no card READY)", got.data)
		}
		r.activate(a.UID())
		if a.State() != CardActive || b.State() != CardHalt {
			t.Errorf("states: %v and %v, want ACTIVE and HALT", a.State(), b.State())
		}
	})
}

func TestDifferentATQAsCollide(t *testing.T) {
	// 04 00 and 44 00 differ in bit 6: CollPos 7, data bit read as 1.
	r := newRig(t, ChipOptions{}, NewCard(uid4), NewCard(uid7))
	r.setUp()
	got := r.transceive([]byte{iso14443.REQA}, 0x07)
	if got.err != errColl || got.coll != 0x80|7 {
		t.Errorf("ErrorReg %#02x, CollReg %#02x: want CollErr, CollReg 87 (ValuesAfterColl, CollPos 7)", got.err, got.coll)
	}
	if !equalBytes(got.data, []byte{0x44, 0x00}) {
		t.Errorf("data: got %x, want 44 00 (ValuesAfterColl = 1 keeps the values; a collided bit reads 1)", got.data)
	}
}

func TestHaltAndWakeUp(t *testing.T) {
	card := NewCard(uid4)
	r := newRig(t, ChipOptions{}, card)
	r.setUp()
	r.activate(uid4)
	steps := []struct {
		name    string
		send    []byte
		framing byte
		answers bool
		state   CardState
	}{
		{"HLTA 50 00 57 CD: no answer, HALT", []byte{0x50, 0x00, 0x57, 0xCD}, 0, false, CardHalt},
		{"REQA: a halted card stays silent", []byte{iso14443.REQA}, 0x07, false, CardHalt},
		{"WUPA: ATQA, READY*", []byte{iso14443.WUPA}, 0x07, true, CardReady | CardWoken},
		{"an unexpected frame sends READY* back to HALT", []byte{0x30, 0x04}, 0, false, CardHalt},
		{"WUPA again", []byte{iso14443.WUPA}, 0x07, true, CardReady | CardWoken},
		{"ANTICOLLISION", []byte{iso14443.SEL1, 0x20}, 0, true, CardReady | CardWoken},
		{"SELECT: ACTIVE*", selectFrame(uid4, 1), 0, true, CardActive | CardWoken},
		{"HLTA with a bad CRC: unexpected, back to HALT", []byte{0x50, 0x00, 0x00, 0x00}, 0, false, CardHalt},
	}
	for _, s := range steps {
		a := r.transceive(s.send, s.framing)
		if answered := !a.timedOut(); answered != s.answers {
			t.Errorf("%s: answered %v (%x), want %v", s.name, answered, a.data, s.answers)
		}
		if got := card.State(); got != s.state {
			t.Errorf("%s: card %v, want %v", s.name, got, s.state)
		}
	}
}

func TestReadyCardFallsBackToIdle(t *testing.T) {
	// A second REQA to a READY card is unexpected: it goes IDLE without
	// answering, and answers the next one. (This is why a driver that
	// polls with REQA alone sees a card every other time.)
	card := NewCard(uid4)
	r := newRig(t, ChipOptions{}, card)
	r.setUp()
	for i, want := range []bool{true, false, true} {
		a := r.transceive([]byte{iso14443.REQA}, 0x07)
		if answered := !a.timedOut(); answered != want {
			t.Errorf("REQA %d: answered %v, want %v", i+1, answered, want)
		}
	}
}

func TestFieldOffResetsCards(t *testing.T) {
	card := NewCard(uid4)
	r := newRig(t, ChipOptions{}, card)
	r.setUp()
	r.activate(uid4)
	r.write(regTxControl, 0x80)
	if got := card.State(); got != CardPowerOff {
		t.Errorf("field off: card %v, want POWER-OFF", got)
	}
	r.write(regTxControl, 0x83)
	r.clock.Advance(time.Millisecond) // default power-up time
	if got := card.State(); got != CardIdle {
		t.Errorf("field back on: card %v, want IDLE (its ACTIVE state is gone)", got)
	}
	if got := r.chip.Stats().FieldOns; got != 2 {
		t.Errorf("Stats.FieldOns: got %d, want 2", got)
	}
}

func TestGuardTime(t *testing.T) {
	// A card that needs the full 5 ms to power up ignores a REQA sent 1 ms
	// after field-on and answers one sent at 5 ms. The early frame is a
	// guard violation, the one at 5 ms is not.
	card := NewCard(uid4, WithPowerUp(5*time.Millisecond))
	r := newRig(t, ChipOptions{}, card)
	r.setUp()
	r.write(regTxControl, 0x80)
	r.write(regTxControl, 0x83)
	on := r.clock.Now()
	r.chip.ResetStats()

	r.clock.AdvanceTo(on.Add(time.Millisecond))
	if a := r.transceive([]byte{iso14443.REQA}, 0x07); !a.timedOut() {
		t.Errorf("REQA at 1 ms: got %x, want no answer", a.data)
	}
	if got := r.chip.Stats().GuardViolations; got != 1 {
		t.Errorf("GuardViolations after the REQA at 1 ms: got %d, want 1", got)
	}

	r.clock.AdvanceTo(on.Add(iso14443.FieldGuard))
	if a := r.transceive([]byte{iso14443.REQA}, 0x07); !equalBytes(a.data, []byte{0x04, 0x00}) {
		t.Errorf("REQA at 5 ms: got %x, want 04 00", a.data)
	}
	if got := r.chip.Stats().GuardViolations; got != 1 {
		t.Errorf("GuardViolations after the REQA at 5 ms: got %d, want still 1", got)
	}
}

func TestPlaceAndRemove(t *testing.T) {
	a, b := NewCard(uid4), NewCard(uid7)
	r := newRig(t, ChipOptions{}, a)
	r.setUp()
	r.chip.Place(b, a) // a is already here
	if got := len(r.chip.Cards()); got != 2 {
		t.Fatalf("Cards: got %d, want 2", got)
	}
	if got := b.State(); got != CardPowerOff {
		t.Errorf("card placed now: %v, want POWER-OFF while powering up", got)
	}
	r.clock.Advance(time.Millisecond)
	if got := b.State(); got != CardIdle {
		t.Errorf("card placed 1 ms ago: %v, want IDLE", got)
	}
	if !r.chip.Remove(uid4) || r.chip.Remove(uid4) {
		t.Error("Remove: want true once, then false")
	}
	other := NewChip(r.clock, ChipOptions{Name: "other"})
	other.Place(b)
	if got := len(r.chip.Cards()); got != 0 {
		t.Errorf("after moving the card to another chip: %d cards left, want 0", got)
	}
	other.RemoveAll()
	if got := b.State(); got != CardPowerOff {
		t.Errorf("removed card: %v, want POWER-OFF", got)
	}
}

func TestTxWaitRF(t *testing.T) {
	// ModeReg.TxWaitRF (set at reset): with the field off, StartSend waits
	// for the field; the frame goes out when it comes on.
	r := newRig(t, ChipOptions{}, NewCard(uid4, WithPowerUp(0)))
	r.start([]byte{iso14443.REQA}, 0x07)
	r.clock.Advance(time.Millisecond)
	if got := r.read(regStatus2) & 0x07; got != 0b010 {
		t.Errorf("ModemState: got %03b, want 010 (TxWait)", got)
	}
	r.write(regTxControl, 0x83)
	if a := r.wait(); !equalBytes(a.data, []byte{0x04, 0x00}) {
		t.Errorf("got %x, want the ATQA once the field is on", a.data)
	}
	if got := r.chip.Stats().GuardViolations; got != 1 {
		t.Errorf("GuardViolations: got %d, want 1 (sent at field-on)", got)
	}
}

func TestNewCardPanicsOnBadUID(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewCard with a 5-byte UID did not panic")
		}
	}()
	NewCard(iso14443.UID{1, 2, 3, 4, 5})
}

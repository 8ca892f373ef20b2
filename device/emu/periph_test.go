package emu

import (
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/device/iso14443"
	"periph.io/x/devices/v3/mfrc522"
)

// TestPeriphReadUID runs periph.io/x/devices/v3/mfrc522 v3.7.4, unmodified,
// against the emulator: NewSPI, then ReadUID, which waits for the IRQ pin
// (with legacy sysfs WaitForEdge semantics: it calls WaitForEdge(0) to
// clear pending edges, which would block forever with character-device
// semantics), re-initialises the chip and runs REQA, ANTICOLLISION and
// SELECT, polling ComIrqReg with one 2-byte transfer per register access.
func TestPeriphReadUID(t *testing.T) {
	tests := []struct {
		name    string
		uid     iso14443.UID
		latency time.Duration
		want    iso14443.UID
		state   CardState
	}{
		{"4-byte UID, instant ioctls", uid4, 0, uid4, CardActive},
		{"4-byte UID, 40 µs per ioctl", uid4, 40 * time.Microsecond, uid4, CardActive},
		// periph v3.7.4 never SELECTs cascade level 2: after SELECT CL1
		// (SAK 04) it sends ANTICOLLISION CL2 and builds the UID from CL1
		// without the cascade tag and BCC plus CL2 without BCC. That gives
		// all 7 bytes, correctly: nothing is truncated. What is wrong is
		// the card's state: READY at level 2, not ACTIVE, so anything after
		// ReadUID (Auth, ReadCard) talks to an unselected card.
		{"7-byte UID, instant ioctls", uid7, 0, uid7, CardReady},
		{"7-byte UID, 40 µs per ioctl", uid7, 40 * time.Microsecond, uid7, CardReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := NewCard(tt.uid, WithPowerUp(0))
			r := newRig(t, ChipOptions{Name: "periph", TransferLatency: tt.latency, ZeroTimeoutWaitsForever: false}, card)
			dev, err := mfrc522.NewSPI(r.chip, r.chip.ResetPin(), r.chip.IRQ())
			if err != nil {
				t.Fatalf("NewSPI: %v", err)
			}
			r.chip.ResetStats()
			start := r.clock.Now()
			got, err := dev.ReadUID(5 * time.Second)
			if err != nil {
				t.Fatalf("ReadUID: %v", err)
			}
			if !iso14443.UID(got).Equal(tt.want) {
				t.Errorf("ReadUID: got %X, want %X", got, tt.want)
			}
			if s := card.State(); s != tt.state {
				t.Errorf("card after ReadUID: %v, want %v", s, tt.state)
			}
			s := r.chip.Stats()
			t.Logf("ReadUID: %d transfers, %d bytes, %d radio frames, %d guard violations, %d soft resets, %v of virtual time",
				s.Transfers, s.Bytes, s.RadioFrames, s.GuardViolations, s.SoftResets, r.clock.Now().Sub(start))
			if s.GuardViolations == 0 {
				t.Error("periph sends REQA right after switching the field on: want guard violations")
			}
			if err := dev.Halt(); err != nil {
				t.Errorf("Halt: %v", err)
			}
		})
	}
}

package emu

import (
	"errors"
	"testing"

	"github.com/pkfreelance/seatgate/device/iso14443"
)

func TestFaults(t *testing.T) {
	hlta := []byte{0x50, 0x00, 0x57, 0xCD}
	tests := []struct {
		name  string
		fault Fault
		// run does the exchange under test after REQA and ANTICOLLISION
		// brought the card to READY at level 1.
		run func(*rig) answer
		// check inspects it.
		check func(*testing.T, answer)
	}{
		{
			name:  "FaultCRC: the SAK's CRC_A no longer matches; with RxCRCEn: CRCErr",
			fault: Fault{Kind: FaultCRC, Count: 1},
			run: func(r *rig) answer {
				r.write(regRxMode, rxCRCEn)
				return r.transceive(selectFrame(uid4, 1), 0)
			},
			check: func(t *testing.T, a answer) {
				if a.err != errCRC {
					t.Errorf("ErrorReg: got %#02x, want CRCErr", a.err)
				}
			},
		},
		{
			name:  "FaultCRC without RxCRCEn: the driver's own check must catch it",
			fault: Fault{Kind: FaultCRC},
			run: func(r *rig) answer {
				return r.transceive(selectFrame(uid4, 1), 0)
			},
			check: func(t *testing.T, a answer) {
				if a.err != 0 || len(a.data) != 3 || iso14443.CheckCRCA(a.data) {
					t.Errorf("got %x (ErrorReg %#02x), want 3 bytes, no chip error, a bad CRC_A", a.data, a.err)
				}
			},
		},
		{
			name:  "FaultParity: ParityErr, data intact",
			fault: Fault{Kind: FaultParity},
			run: func(r *rig) answer {
				return r.transceive(selectFrame(uid4, 1), 0)
			},
			check: func(t *testing.T, a answer) {
				if a.err != errParity || !equalBytes(a.data, iso14443.AppendCRCA([]byte{0x08})) {
					t.Errorf("got %x (ErrorReg %#02x), want SAK 08 with ParityErr", a.data, a.err)
				}
			},
		},
		{
			name:  "FaultProtocol: ProtocolErr, ErrIRq and RxIRq, nothing in the FIFO",
			fault: Fault{Kind: FaultProtocol},
			run: func(r *rig) answer {
				return r.transceive(selectFrame(uid4, 1), 0)
			},
			check: func(t *testing.T, a answer) {
				if a.err != errProtocol || len(a.data) != 0 || a.irq&(irqErr|irqRx) != irqErr|irqRx {
					t.Errorf("got %x (ErrorReg %#02x, ComIrqReg %#02x), want ProtocolErr, ErrIRq, RxIRq, no data", a.data, a.err, a.irq)
				}
			},
		},
		{
			name:  "FaultNoAnswer 2: two frames are lost, the third is answered",
			fault: Fault{Kind: FaultNoAnswer, Count: 2},
			run: func(r *rig) answer {
				for i := range 2 {
					if a := r.transceive(selectFrame(uid4, 1), 0); !a.timedOut() {
						r.t.Errorf("frame %d: answered %x, want silence", i+1, a.data)
					}
				}
				return r.transceive(selectFrame(uid4, 1), 0)
			},
			check: func(t *testing.T, a answer) {
				if !equalBytes(a.data, iso14443.AppendCRCA([]byte{0x08})) {
					t.Errorf("third frame: got %x, want SAK 08", a.data)
				}
			},
		},
		{
			name:  "FaultClear: a pending fault is dropped",
			fault: Fault{Kind: FaultParity, Count: 3},
			run: func(r *rig) answer {
				r.chip.Inject(Fault{Kind: FaultClear})
				return r.transceive(selectFrame(uid4, 1), 0)
			},
			check: func(t *testing.T, a answer) {
				if a.err != 0 {
					t.Errorf("ErrorReg: got %#02x, want 0", a.err)
				}
			},
		},
		{
			name:  "a counted fault is spent: the next exchange is clean",
			fault: Fault{Kind: FaultParity, Count: 1},
			run: func(r *rig) answer {
				if a := r.transceive(selectFrame(uid4, 1), 0); a.err != errParity {
					r.t.Errorf("SELECT: ErrorReg %#02x, want ParityErr", a.err)
				}
				r.transceive(hlta, 0)
				return r.transceive([]byte{iso14443.WUPA}, 0x07)
			},
			check: func(t *testing.T, a answer) {
				if a.err != 0 || !equalBytes(a.data, []byte{0x04, 0x00}) {
					t.Errorf("got %x (ErrorReg %#02x), want a clean ATQA", a.data, a.err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, ChipOptions{}, NewCard(uid4))
			r.setUp()
			r.transceive([]byte{iso14443.REQA}, 0x07)
			r.transceive([]byte{iso14443.SEL1, 0x20}, 0)
			r.chip.Inject(tt.fault)
			tt.check(t, tt.run(r))
		})
	}
}

func TestFaultBusError(t *testing.T) {
	r := newRig(t, ChipOptions{TransferLatency: 40_000})
	r.chip.Inject(Fault{Kind: FaultBusError, Count: 2})
	for i := range 2 {
		err := r.chip.Tx([]byte{regWaterLevel << 1, 0x10}, nil)
		if !errors.Is(err, ErrBusFault) {
			t.Errorf("Tx %d: got %v, want ErrBusFault", i+1, err)
		}
	}
	if got := r.read(regWaterLevel); got != 0x08 {
		t.Errorf("WaterLevelReg: got %#02x, want 08: failed writes reach nothing", got)
	}
	if got := r.chip.Stats().Transfers; got != 3 {
		t.Errorf("Stats.Transfers: got %d, want 3: a failed ioctl is still an ioctl", got)
	}
}

func TestFaultMissing(t *testing.T) {
	for _, tt := range []struct {
		kind FaultKind
		want byte
	}{{FaultMissing, 0x00}, {FaultMissingFF, 0xFF}} {
		t.Run(tt.kind.String(), func(t *testing.T) {
			r := newRig(t, ChipOptions{})
			r.chip.Inject(Fault{Kind: tt.kind})
			if got := r.read(regVersion); got != tt.want {
				t.Errorf("VersionReg: got %#02x, want %#02x", got, tt.want)
			}
			rx := make([]byte, 3)
			if err := r.chip.Tx([]byte{0x80 | regComIEn<<1, 0x80 | regWaterLevel<<1, 0}, rx); err != nil {
				t.Fatal(err)
			}
			if rx[0] != tt.want || rx[1] != tt.want || rx[2] != tt.want {
				t.Errorf("MISO: got % x, want every byte %#02x", rx, tt.want)
			}
			r.write(regWaterLevel, 0x20) // lost
			r.chip.Inject(Fault{Kind: FaultClear})
			if got := r.read(regVersion); got != 0x92 {
				t.Errorf("VersionReg after FaultClear: got %#02x, want 92", got)
			}
			if got := r.read(regWaterLevel); got != 0x08 {
				t.Errorf("WaterLevelReg: got %#02x, want 08: writes while missing are lost", got)
			}
		})
	}
}

func TestHardPowerDownAndReset(t *testing.T) {
	card := NewCard(uid4)
	r := newRig(t, ChipOptions{}, card)
	r.setUp()
	r.activate(uid4)
	rst := r.chip.ResetPin()
	if err := rst.Out(false); err != nil {
		t.Fatal(err)
	}
	if r.chip.FieldOn() || card.State() != CardPowerOff {
		t.Error("NRSTPD low: field and card should be off")
	}
	if got := r.read(regVersion); got != 0x00 {
		t.Errorf("VersionReg in hard power-down: got %#02x, want 00", got)
	}
	if err := rst.Out(true); err != nil {
		t.Fatal(err)
	}
	if got := r.read(regVersion); got != 0x00 {
		t.Errorf("VersionReg right after the rising edge: got %#02x, want 00 while the oscillator starts", got)
	}
	r.clock.Advance(startupTime)
	if got := r.read(regVersion); got != 0x92 {
		t.Errorf("VersionReg after start-up: got %#02x, want 92", got)
	}
	if got := r.read(regTMode); got != 0x00 {
		t.Errorf("TModeReg after the hard reset: got %#02x, want the reset value 00", got)
	}
}

package mfrc522_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pkfreelance/seatgate/device/emu"
	"github.com/pkfreelance/seatgate/device/iso14443"
	"github.com/pkfreelance/seatgate/device/mfrc522"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var start = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// rig is one emulated chip on a virtual clock with the latency of a Pi's
// spidev ioctl.
type rig struct {
	clk  *emu.VirtualClock
	chip *emu.Chip
}

func newRig(t testing.TB, opts ...func(*emu.ChipOptions)) *rig {
	t.Helper()
	clk := emu.NewVirtualClock(start)
	o := emu.ChipOptions{Name: "test0.0", TransferLatency: 30 * time.Microsecond}
	for _, f := range opts {
		f(&o)
	}
	return &rig{clk: clk, chip: emu.NewChip(clk, o)}
}

func (r *rig) open(t testing.TB, o mfrc522.Options) *mfrc522.Dev {
	t.Helper()
	o.Clock = r.clk
	if o.Name == "" {
		o.Name = "test0.0"
	}
	d, err := mfrc522.New(r.chip, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

func mustUID(t testing.TB, s string) iso14443.UID {
	t.Helper()
	u, err := iso14443.ParseUID(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestReadUIDSizes(t *testing.T) {
	tests := []struct {
		name          string
		uid           string
		wantSAK       byte
		wantTransfers int // per read, with TxPackets
	}{
		{"4-byte", "04A1B2C3", 0x08, 7},
		{"7-byte", "04A1B2C3D4E5F6", 0x00, 11},
		{"10-byte", "0102030405060708090A", 0x00, 15},
		{"leading zeros kept", "00000001", 0x08, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			d := r.open(t, mfrc522.Options{})
			r.chip.Place(emu.NewCard(mustUID(t, tt.uid)))
			before := d.Stats().Transfers
			c, err := d.ReadUID()
			if err != nil {
				t.Fatalf("ReadUID: %v", err)
			}
			if got := c.UID.String(); got != tt.uid {
				t.Errorf("UID = %s, want %s", got, tt.uid)
			}
			if c.SAK != tt.wantSAK {
				t.Errorf("SAK = %#02x, want %#02x", c.SAK, tt.wantSAK)
			}
			if got := d.Stats().Transfers - before; got != tt.wantTransfers {
				t.Errorf("transfers per read = %d, want %d", got, tt.wantTransfers)
			}
			if g := r.chip.Stats().GuardViolations; g != 0 {
				t.Errorf("GuardViolations = %d, want 0", g)
			}
			// The card is halted: REQA finds nobody, WUPA wakes it.
			if _, err := d.Request(false); !errors.Is(err, mfrc522.ErrNoCard) {
				t.Errorf("REQA after HLTA: err = %v, want ErrNoCard", err)
			}
			if _, err := d.Request(true); err != nil {
				t.Errorf("WUPA after HLTA: %v", err)
			}
		})
	}
}

func TestEmptyField(t *testing.T) {
	r := newRig(t)
	d := r.open(t, mfrc522.Options{})
	_, err := d.ReadUID()
	if !errors.Is(err, mfrc522.ErrNoCard) {
		t.Fatalf("ReadUID on an empty field: err = %v, want ErrNoCard", err)
	}
	var fe *mfrc522.FrameError
	if !errors.As(err, &fe) || fe.Op != "REQA" {
		t.Errorf("error %v: want a FrameError for REQA", err)
	}
}

// TestFieldGuard: the driver leaves 5 ms of unmodulated field after
// switching it on, so a card that needs all of that still answers the
// first request.
func TestFieldGuard(t *testing.T) {
	r := newRig(t)
	r.chip.Place(emu.NewCard(mustUID(t, "04A1B2C3"), emu.WithPowerUp(5*time.Millisecond)))
	d := r.open(t, mfrc522.Options{})
	c, err := d.ReadUID()
	if err != nil {
		t.Fatalf("first ReadUID after power-on: %v", err)
	}
	if c.UID.String() != "04A1B2C3" {
		t.Errorf("UID = %s", c.UID)
	}
	if g := r.chip.Stats().GuardViolations; g != 0 {
		t.Errorf("GuardViolations = %d, want 0", g)
	}
	if s := r.chip.Stats().SoftResets; s != 1 {
		t.Errorf("SoftResets = %d, want 1 (at New only)", s)
	}
	for range 5 {
		d.Request(true)
	}
	if s := r.chip.Stats().SoftResets; s != 1 {
		t.Errorf("SoftResets after more reads = %d, want still 1", s)
	}
}

func TestTwoCardsCollision(t *testing.T) {
	r := newRig(t)
	d := r.open(t, mfrc522.Options{})
	// The UIDs differ first in bit 3 of byte 1: the driver takes the 0 branch.
	a, b := mustUID(t, "04A1B2C3"), mustUID(t, "04A9B2C3")
	r.chip.Place(emu.NewCard(b), emu.NewCard(a))
	first, err := d.ReadUID()
	if err != nil {
		t.Fatalf("first ReadUID: %v", err)
	}
	if !first.UID.Equal(a) {
		t.Errorf("first card = %s, want %s (0 at the first colliding bit)", first.UID, a)
	}
	second, err := d.ReadUID()
	if err != nil {
		t.Fatalf("second ReadUID: %v", err)
	}
	if !second.UID.Equal(b) {
		t.Errorf("second card = %s, want %s", second.UID, b)
	}
	if _, err := d.ReadUID(); !errors.Is(err, mfrc522.ErrNoCard) {
		t.Errorf("third ReadUID: err = %v, want ErrNoCard (both halted)", err)
	}
}

func TestCollisionAcrossCascadeLevels(t *testing.T) {
	r := newRig(t)
	d := r.open(t, mfrc522.Options{})
	// Same first level, differing only in the last byte of level 2.
	a, b := mustUID(t, "04A1B2C3D4E5F6"), mustUID(t, "04A1B2C3D4E5F7")
	r.chip.Place(emu.NewCard(a), emu.NewCard(b))
	seen := map[string]bool{}
	for range 2 {
		c, err := d.ReadUID()
		if err != nil {
			t.Fatalf("ReadUID: %v", err)
		}
		seen[c.UID.String()] = true
	}
	if !seen[a.String()] || !seen[b.String()] {
		t.Errorf("read %v, want both %s and %s", seen, a, b)
	}
}

func TestSelectUID(t *testing.T) {
	r := newRig(t)
	d := r.open(t, mfrc522.Options{})
	u := mustUID(t, "04A1B2C3D4E5F6")
	r.chip.Place(emu.NewCard(u))
	if _, err := d.ReadUID(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Request(true); err != nil {
		t.Fatalf("WUPA: %v", err)
	}
	if _, err := d.SelectUID(u); err != nil {
		t.Fatalf("SelectUID of the card in the field: %v", err)
	}
	d.Halt()
	if _, err := d.Request(true); err != nil {
		t.Fatalf("WUPA: %v", err)
	}
	if _, err := d.SelectUID(mustUID(t, "04A1B2C3D4E5F7")); !errors.Is(err, mfrc522.ErrNoCard) {
		t.Errorf("SelectUID of an absent card: err = %v, want ErrNoCard", err)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name    string
		fault   emu.Fault
		wantErr error // nil: the driver recovers by itself
	}{
		{"one CRC error is retried", emu.Fault{Kind: emu.FaultCRC, Count: 1}, nil},
		{"one parity error is retried", emu.Fault{Kind: emu.FaultParity, Count: 1}, nil},
		{"persistent corruption", emu.Fault{Kind: emu.FaultCRC, Count: 100}, errRetryable},
		{"persistent parity errors", emu.Fault{Kind: emu.FaultParity, Count: 100}, mfrc522.ErrParity},
		{"one protocol error is retried", emu.Fault{Kind: emu.FaultProtocol, Count: 1}, nil},
		{"card does not answer", emu.Fault{Kind: emu.FaultNoAnswer, Count: 100}, mfrc522.ErrNoCard},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			d := r.open(t, mfrc522.Options{})
			r.chip.Place(emu.NewCard(mustUID(t, "04A1B2C3D4E5F6")))
			r.chip.Inject(tt.fault)
			c, err := d.ReadUID()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("ReadUID: %v", err)
				}
				if c.UID.String() != "04A1B2C3D4E5F6" {
					t.Errorf("UID = %s", c.UID)
				}
				return
			}
			if tt.wantErr == errRetryable {
				if err == nil || !mfrc522.Retryable(err) {
					t.Fatalf("ReadUID: err = %v, want a retryable radio error", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ReadUID: err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// errRetryable in a table stands for any error Retryable accepts.
var errRetryable = errors.New("any retryable error")

func TestBusError(t *testing.T) {
	r := newRig(t)
	d := r.open(t, mfrc522.Options{})
	r.chip.Place(emu.NewCard(mustUID(t, "04A1B2C3")))
	r.chip.Inject(emu.Fault{Kind: emu.FaultBusError, Count: 1})
	_, err := d.ReadUID()
	var be *mfrc522.BusError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a BusError", err)
	}
	if mfrc522.Retryable(err) {
		t.Errorf("a bus error must not be retryable by the radio logic")
	}
	if _, err := d.ReadUID(); err != nil {
		t.Errorf("ReadUID after the bus recovered: %v", err)
	}
}

func TestNoChip(t *testing.T) {
	for _, v := range []struct {
		kind emu.FaultKind
		want string
	}{{emu.FaultMissing, "0x00"}, {emu.FaultMissingFF, "0xff"}} {
		r := newRig(t)
		r.chip.Inject(emu.Fault{Kind: v.kind})
		_, err := mfrc522.New(r.chip, mfrc522.Options{Name: "desk-07 (SPI0.1)", Clock: r.clk})
		var nc *mfrc522.NoChipError
		if !errors.As(err, &nc) {
			t.Fatalf("New with no chip: err = %v, want NoChipError", err)
		}
		msg := err.Error()
		for _, want := range []string{"desk-07 (SPI0.1)", "VersionReg", v.want, "chip select"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not mention %q", msg, want)
			}
		}
	}
}

func TestWithoutTxPackets(t *testing.T) {
	r := newRig(t)
	d := r.open(t, mfrc522.Options{NoPackets: true})
	r.chip.Place(emu.NewCard(mustUID(t, "04A1B2C3")))
	before := d.Stats().Transfers
	c, err := d.ReadUID()
	if err != nil {
		t.Fatalf("ReadUID: %v", err)
	}
	if c.UID.String() != "04A1B2C3" {
		t.Errorf("UID = %s", c.UID)
	}
	if got := d.Stats().Transfers - before; got <= 7 {
		t.Errorf("transfers without TxPackets = %d, want more than with (7)", got)
	}
}

func TestWithIRQPin(t *testing.T) {
	for _, zeroForever := range []bool{false, true} {
		r := newRig(t, func(o *emu.ChipOptions) { o.ZeroTimeoutWaitsForever = zeroForever })
		d := r.open(t, mfrc522.Options{IRQ: r.chip.IRQ()})
		r.chip.Place(emu.NewCard(mustUID(t, "04A1B2C3D4E5F6")))
		c, err := d.ReadUID()
		if err != nil {
			t.Fatalf("ReadUID with IRQ (zero waits forever: %v): %v", zeroForever, err)
		}
		if c.UID.String() != "04A1B2C3D4E5F6" {
			t.Errorf("UID = %s", c.UID)
		}
		if _, err := d.ReadUID(); !errors.Is(err, mfrc522.ErrNoCard) {
			t.Errorf("second ReadUID: err = %v, want ErrNoCard", err)
		}
	}
}

// TestCardToUIDTime: the emulated time from a request to a known UID stays
// within the 10 ms budget for every UID size.
func TestCardToUIDTime(t *testing.T) {
	for _, uid := range []string{"04A1B2C3", "04A1B2C3D4E5F6", "0102030405060708090A"} {
		r := newRig(t)
		d := r.open(t, mfrc522.Options{})
		r.clk.Advance(10 * time.Millisecond)
		r.chip.Place(emu.NewCard(mustUID(t, uid), emu.WithPowerUp(0)))
		t0 := r.clk.Now()
		if _, err := d.ReadUID(); err != nil {
			t.Fatal(err)
		}
		if el := r.clk.Now().Sub(t0); el > 10*time.Millisecond {
			t.Errorf("%s: request to UID took %v of emulated time, want ≤ 10 ms", uid, el)
		} else {
			t.Logf("%s: %v", uid, el)
		}
	}
}

// TestChipLostWhileRunning: a chip that drops off the bus mid-operation
// (every byte reads 0x00 or 0xFF) is reported as lost, not as an empty
// field, so the scanner can raise a fault.
func TestChipLostWhileRunning(t *testing.T) {
	for _, kind := range []emu.FaultKind{emu.FaultMissing, emu.FaultMissingFF} {
		r := newRig(t)
		d := r.open(t, mfrc522.Options{})
		r.chip.Inject(emu.Fault{Kind: kind})
		_, err := d.Request(false)
		if !errors.Is(err, mfrc522.ErrChipLost) {
			t.Errorf("%v: Request err = %v, want ErrChipLost", kind, err)
		}
		if mfrc522.Retryable(err) {
			t.Errorf("%v: a lost chip must not be retryable", kind)
		}
	}
}

// TestStaleIRQEdges: with character-device edge semantics, edges nobody
// waited for (pipelined requests finished after their answer was due, the
// timer after an HLTA) stay queued. A wait that returns on such an edge
// before the answer is due must not be taken for "no card".
func TestStaleIRQEdges(t *testing.T) {
	r := newRig(t, func(o *emu.ChipOptions) { o.ZeroTimeoutWaitsForever = true })
	d := r.open(t, mfrc522.Options{IRQ: r.chip.IRQ()})
	for range 20 {
		if err := d.StartRequest(false); err != nil {
			t.Fatal(err)
		}
		r.clk.Advance(2 * time.Millisecond) // as the scanner does: sleep past the answer
		if _, err := d.FinishRequest(); !errors.Is(err, mfrc522.ErrNoCard) {
			t.Fatalf("empty field: %v", err)
		}
	}
	r.chip.Place(emu.NewCard(mustUID(t, "04A1B2C3D4E5F6"), emu.WithPowerUp(0)))
	c, err := d.ReadUID()
	if err != nil {
		t.Fatalf("ReadUID after queued edges: %v", err)
	}
	if c.UID.String() != "04A1B2C3D4E5F6" {
		t.Errorf("UID = %s", c.UID)
	}
}

// TestLateAnswersCalibrate: a card (or chip) slower than the standard's
// frame delay makes the first reads find answers still arriving; the
// driver widens its margin and then reads every time.
func TestLateAnswersCalibrate(t *testing.T) {
	r := newRig(t)
	d := r.open(t, mfrc522.Options{})
	u := mustUID(t, "04A1B2C3D4E5F6")
	ok := 0
	for i := range 10 {
		r.chip.RemoveAll()
		r.chip.Place(emu.NewCard(u, emu.WithPowerUp(0), emu.WithAnswerDelay(120*time.Microsecond)))
		c, err := d.ReadUID()
		switch {
		case err == nil && c.UID.Equal(u):
			ok++
		case i >= 3:
			t.Errorf("read %d after calibration: %v %v", i, c.UID, err)
		}
	}
	if ok < 7 {
		t.Errorf("%d of 10 reads of a late card succeeded, want ≥ 7", ok)
	}
	if m := d.Stats().AnswerMargin; m <= 30*time.Microsecond {
		t.Errorf("answer margin = %v, want it widened", m)
	}
	t.Logf("margin after calibration: %v, %d/10 reads", d.Stats().AnswerMargin, ok)
}

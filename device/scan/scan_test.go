package scan_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pkfreelance/seatgate/device/emu"
	"github.com/pkfreelance/seatgate/device/iso14443"
	"github.com/pkfreelance/seatgate/device/mfrc522"
	"github.com/pkfreelance/seatgate/device/scan"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var start = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// bench is n emulated readers on one bus with a virtual clock.
type bench struct {
	clk   *emu.VirtualClock
	chips []*emu.Chip
	s     *scan.Scanner
}

func newBench(t testing.TB, n int, opts scan.Options) *bench {
	t.Helper()
	b := &bench{clk: emu.NewVirtualClock(start)}
	bus := scan.Bus{Name: "spi0", Clock: b.clk}
	for i := range n {
		chip := emu.NewChip(b.clk, emu.ChipOptions{Name: fmt.Sprintf("spi0.%d", i), TransferLatency: 30 * time.Microsecond})
		b.chips = append(b.chips, chip)
		id := fmt.Sprintf("r%d", i)
		bus.Readers = append(bus.Readers, scan.ReaderSpec{ID: id, Open: func() (scan.Reader, error) {
			return mfrc522.New(chip, mfrc522.Options{Name: id, Clock: b.clk})
		}})
	}
	b.s = scan.New([]scan.Bus{bus}, opts)
	return b
}

// cycles runs n cycles, advancing the clock to the next cycle start.
func (b *bench) cycles(n int) []scan.Event {
	var evs []scan.Event
	for range n {
		t0 := b.clk.Now()
		b.s.Cycle(func(e scan.Event) { evs = append(evs, e) })
		if next := t0.Add(5 * time.Millisecond); b.clk.Now().Before(next) {
			b.clk.AdvanceTo(next)
		}
	}
	return evs
}

// forDuration runs cycles for d of emulated time.
func (b *bench) forDuration(d time.Duration) []scan.Event {
	end := b.clk.Now().Add(d)
	var evs []scan.Event
	for b.clk.Now().Before(end) {
		evs = append(evs, b.cycles(1)...)
	}
	return evs
}

func uid(t testing.TB, s string) iso14443.UID {
	u, err := iso14443.ParseUID(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func kinds(evs []scan.Event) []string {
	var out []string
	for _, e := range evs {
		s := e.Reader + ":" + string(e.Kind)
		if e.UID != nil {
			s += ":" + e.UID.String()
		}
		out = append(out, s)
	}
	return out
}

func TestHeldCardReportedOnce(t *testing.T) {
	b := newBench(t, 2, scan.Options{})
	b.cycles(2) // open readers, field guard
	b.chips[1].Place(emu.NewCard(uid(t, "04A1B2C3D4E5F6")))
	evs := b.forDuration(2 * time.Second)
	if got := kinds(evs); len(got) != 1 || got[0] != "r1:tap:04A1B2C3D4E5F6" {
		t.Fatalf("events while the card is held = %v, want one tap", got)
	}
	b.chips[1].Remove(uid(t, "04A1B2C3D4E5F6"))
	evs = b.forDuration(500 * time.Millisecond)
	if got := kinds(evs); len(got) != 1 || got[0] != "r1:removed:04A1B2C3D4E5F6" {
		t.Fatalf("events after removal = %v, want one removal", got)
	}
	b.chips[1].Place(emu.NewCard(uid(t, "04A1B2C3D4E5F6")))
	evs = b.forDuration(200 * time.Millisecond)
	if got := kinds(evs); len(got) != 1 || got[0] != "r1:tap:04A1B2C3D4E5F6" {
		t.Fatalf("events after re-tap = %v, want a new tap", got)
	}
}

func TestTwoCardsBothReported(t *testing.T) {
	b := newBench(t, 1, scan.Options{})
	b.cycles(2)
	b.chips[0].Place(emu.NewCard(uid(t, "04A1B2C3")), emu.NewCard(uid(t, "04A9B2C3")))
	evs := b.forDuration(time.Second)
	got := kinds(evs)
	if len(got) != 2 || got[0] != "r0:tap:04A1B2C3" || got[1] != "r0:tap:04A9B2C3" {
		t.Fatalf("events = %v, want taps of 04A1B2C3 then 04A9B2C3", got)
	}
	// Lift one: only that one is removed.
	b.chips[0].Remove(uid(t, "04A1B2C3"))
	got = kinds(b.forDuration(time.Second))
	if len(got) != 1 || got[0] != "r0:removed:04A1B2C3" {
		t.Fatalf("after lifting one card: %v, want its removal only", got)
	}
}

// TestTapLatency: a card placed at any moment is reported within 10 ms of
// emulated time.
func TestTapLatency(t *testing.T) {
	b := newBench(t, 16, scan.Options{})
	b.cycles(3)
	for i := range 16 {
		b.clk.Advance(time.Duration(i) * 317 * time.Microsecond)
		placed := b.clk.Now()
		u := uid(t, fmt.Sprintf("04A1B2C3D4E5%02X", i))
		b.chips[i].Place(emu.NewCard(u, emu.WithPowerUp(0)))
		var at time.Time
		for at.IsZero() && b.clk.Now().Sub(placed) < 100*time.Millisecond {
			for _, e := range b.cycles(1) {
				if e.Kind == scan.Tap && e.UID.Equal(u) {
					at = e.At
				}
			}
		}
		if at.IsZero() {
			t.Fatalf("reader %d: card never reported", i)
		}
		if lat := at.Sub(placed); lat > 10*time.Millisecond {
			t.Errorf("reader %d: card reported %v after it was placed, want ≤ 10 ms", i, lat)
		}
		b.chips[i].RemoveAll()
	}
}

func TestFaultyReaderDoesNotSlowOthers(t *testing.T) {
	healthy := newBench(t, 4, scan.Options{})
	healthy.cycles(3)
	t0 := healthy.clk.Now()
	healthy.cycles(100)
	base := healthy.clk.Now().Sub(t0)

	b := newBench(t, 4, scan.Options{})
	b.chips[2].Inject(emu.Fault{Kind: emu.FaultMissing})
	evs := b.cycles(3)
	if got := kinds(evs); len(got) != 1 || got[0] != "r2:fault" {
		t.Fatalf("events = %v, want one fault for r2", got)
	}
	var nc *mfrc522.NoChipError
	if !errors.As(evs[0].Err, &nc) {
		t.Errorf("fault error = %v, want NoChipError", evs[0].Err)
	}
	t0 = b.clk.Now()
	evs = b.cycles(100)
	if el := b.clk.Now().Sub(t0); el > base+base/10 {
		t.Errorf("100 cycles with a missing reader took %v, without %v", el, base)
	}
	for _, e := range evs {
		if e.Kind == scan.Fault {
			t.Errorf("fault reported again: %v", e)
		}
	}
	st := b.s.Status()
	if st[2].OK || st[2].Faults == 0 || st[2].Error == "" {
		t.Errorf("status of r2 = %+v, want not OK with an error", st[2])
	}
	// The chip comes back: the reader recovers after its backoff.
	b.chips[2].Inject(emu.Fault{Kind: emu.FaultClear})
	evs = b.forDuration(5 * time.Second)
	if got := kinds(evs); len(got) != 1 || got[0] != "r2:recovered" {
		t.Fatalf("events after the chip returned = %v, want one recovery", got)
	}
	b.chips[2].Place(emu.NewCard(uid(t, "CAFE0042")))
	if got := kinds(b.forDuration(100 * time.Millisecond)); len(got) != 1 || got[0] != "r2:tap:CAFE0042" {
		t.Errorf("tap on the recovered reader: %v", got)
	}
}

func TestBusErrorMidScan(t *testing.T) {
	b := newBench(t, 2, scan.Options{})
	b.cycles(3)
	b.chips[0].Inject(emu.Fault{Kind: emu.FaultBusError, Count: 1})
	evs := b.forDuration(3 * time.Second)
	got := kinds(evs)
	if len(got) != 2 || got[0] != "r0:fault" || got[1] != "r0:recovered" {
		t.Fatalf("events = %v, want fault then recovery of r0", got)
	}
}

func TestRunStopsAndClosesReaders(t *testing.T) {
	clk := emu.SystemClock{}
	chip := emu.NewChip(clk, emu.ChipOptions{Name: "live"})
	s := scan.New([]scan.Bus{{Name: "emu0", Clock: mfrc522.SystemClock{}, Readers: []scan.ReaderSpec{{ID: "r0",
		Open: func() (scan.Reader, error) { return mfrc522.New(chip, mfrc522.Options{Name: "r0"}) }}}}}, scan.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan scan.Event, 8)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, out) }()
	// Status is read by health checks and the API while the bus runs.
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for ctx.Err() == nil {
			s.Status()
			time.Sleep(time.Millisecond)
		}
	}()
	time.Sleep(20 * time.Millisecond)
	chip.Place(emu.NewCard(uid(t, "04A1B2C3")))
	select {
	case e := <-out:
		if e.Kind != scan.Tap || e.UID.String() != "04A1B2C3" {
			t.Errorf("event = %+v, want a tap", e)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no tap within 2 s of real time")
	}
	chip.RemoveAll()
	time.Sleep(400 * time.Millisecond) // the removal is noticed while Status is polled
	cancel()
	<-polled
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	if chip.FieldOn() {
		t.Errorf("field still on after Run returned")
	}
}

// TestChipLostWhileScanning: a reader whose chip drops off the bus while it
// is being scanned is reported faulty, and recovers when the chip returns.
func TestChipLostWhileScanning(t *testing.T) {
	b := newBench(t, 3, scan.Options{})
	b.cycles(3)
	b.chips[1].Inject(emu.Fault{Kind: emu.FaultMissingFF})
	got := kinds(b.cycles(2))
	if len(got) != 1 || got[0] != "r1:fault" {
		t.Fatalf("events after the chip dropped off = %v, want one fault", got)
	}
	b.chips[1].Inject(emu.Fault{Kind: emu.FaultClear})
	got = kinds(b.forDuration(2 * time.Second))
	if len(got) != 1 || got[0] != "r1:recovered" {
		t.Fatalf("events after the chip came back = %v, want one recovery", got)
	}
}

// TestCardLyingAtOpenIsNotATap: after a power cut or a restart the card
// left on the desk must not check its owner out (or anyone in).
func TestCardLyingAtOpenIsNotATap(t *testing.T) {
	b := newBench(t, 2, scan.Options{})
	b.chips[0].Place(emu.NewCard(uid(t, "04A1B2C3")), emu.NewCard(uid(t, "04A9B2C3")))
	if got := kinds(b.forDuration(time.Second)); len(got) != 0 {
		t.Fatalf("events with cards lying on the reader at start = %v, want none", got)
	}
	if st := b.s.Status(); len(st[0].Present) != 2 {
		t.Errorf("present at r0 = %v, want both cards", st[0].Present)
	}
	b.chips[0].Remove(uid(t, "04A1B2C3"))
	b.forDuration(500 * time.Millisecond)
	b.chips[0].Place(emu.NewCard(uid(t, "04A1B2C3")))
	if got := kinds(b.forDuration(200 * time.Millisecond)); len(got) != 1 || got[0] != "r0:tap:04A1B2C3" {
		t.Errorf("lift and tap again = %v, want one tap", got)
	}
}

// TestFaultDoesNotRetapHeldCard: a transient reader fault (the chip is
// reset when it is reopened, so the card wakes up again) is not a tap.
func TestFaultDoesNotRetapHeldCard(t *testing.T) {
	b := newBench(t, 1, scan.Options{})
	b.cycles(3)
	b.chips[0].Place(emu.NewCard(uid(t, "04A1B2C3")))
	if got := kinds(b.forDuration(200 * time.Millisecond)); len(got) != 1 {
		t.Fatalf("events = %v, want one tap", got)
	}
	b.chips[0].Inject(emu.Fault{Kind: emu.FaultBusError, Count: 1})
	got := kinds(b.forDuration(3 * time.Second))
	if len(got) != 2 || got[0] != "r0:fault" || got[1] != "r0:recovered" {
		t.Fatalf("events across a fault with a card lying there = %v, want fault and recovery only", got)
	}
	b.chips[0].RemoveAll()
	if got := kinds(b.forDuration(time.Second)); len(got) != 1 || got[0] != "r0:removed:04A1B2C3" {
		t.Errorf("after lifting the card: %v, want its removal", got)
	}
}

// TestNoisyPresenceCheckIsNotRemoval: garbled answers to presence checks
// mean the card is there; they are retried, not counted as misses.
func TestNoisyPresenceCheckIsNotRemoval(t *testing.T) {
	b := newBench(t, 1, scan.Options{})
	b.cycles(3)
	b.chips[0].Place(emu.NewCard(uid(t, "04A1B2C3")))
	b.forDuration(200 * time.Millisecond)
	b.chips[0].Inject(emu.Fault{Kind: emu.FaultCRC, Count: 4})
	if got := kinds(b.forDuration(2 * time.Second)); len(got) != 0 {
		t.Errorf("events with noisy presence checks = %v, want none", got)
	}
	if st := b.s.Status(); len(st[0].Present) != 1 || st[0].RadioErrors == 0 {
		t.Errorf("status = %+v, want the card present and radio errors counted", st[0])
	}
}

// flakyReader opens fine and fails at its first request.
type flakyReader struct{ scan.Reader }

func (flakyReader) StartRequest(bool) error { return errors.New("spi: ioctl failed") }
func (flakyReader) Close() error            { return nil }

// TestFlappingReaderBacksOff: a reader that opens and fails at once is
// retried less and less often, not at the minimum backoff forever.
func TestFlappingReaderBacksOff(t *testing.T) {
	clk := emu.NewVirtualClock(start)
	s := scan.New([]scan.Bus{{Name: "spi0", Clock: clk, Readers: []scan.ReaderSpec{{ID: "r0",
		Open: func() (scan.Reader, error) { return flakyReader{}, nil }}}}}, scan.Options{})
	faults := 0
	for end := clk.Now().Add(time.Minute); clk.Now().Before(end); {
		t0 := clk.Now()
		s.Cycle(func(e scan.Event) {
			if e.Kind == scan.Fault {
				faults++
			}
		})
		clk.AdvanceTo(t0.Add(5 * time.Millisecond))
	}
	// 0.2 s doubling to 30 s: about 9 attempts in a minute.
	if faults > 12 {
		t.Errorf("%d faults in a minute, want the backoff to grow (≤ 12)", faults)
	}
}

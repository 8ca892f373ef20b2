package daemon

import (
	"context"
	"fmt"
	"slices"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/pkfreelance/seatgate/device/desk"
	"github.com/pkfreelance/seatgate/device/emu"
	"github.com/pkfreelance/seatgate/device/iso14443"
	"github.com/pkfreelance/seatgate/device/scan"
	"github.com/pkfreelance/seatgate/web/api"
)

// emulator implements api.Emulator over the emulated readers: cards are
// put into an emulated chip's field and the real driver, scanner and tap
// path handle them.
type emulator struct {
	readers map[string]*emuReader
	gate    *gate
	scanner *scan.Scanner
	clock   *wallClock // nil unless emulator.clock is enabled
}

type emuReader struct {
	id, seat                  string
	chip                      *emu.Chip
	desk                      *desk.Desk
	green, red, buzzer, relay *gpiotest.Pin
}

var _ api.Emulator = (*emulator)(nil)

func (e *emulator) reader(id string) (*emuReader, error) {
	r, ok := e.readers[id]
	if !ok {
		return nil, fmt.Errorf("%w: %q", api.ErrUnknownReader, id)
	}
	return r, nil
}

func parseUID(s string) (iso14443.UID, error) {
	u, err := iso14443.ParseUID(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	}
	return u, nil
}

// Tap presents a card, waits for the tap path's outcome, then takes the
// card away. If the same card was just lifted from this reader, it first
// waits until the scanner has noticed (as a person's next tap would).
func (e *emulator) Tap(ctx context.Context, id, uidText string) (api.TapResult, error) {
	r, uid, err := e.readerCard(id, uidText)
	if err != nil {
		return api.TapResult{}, err
	}
	if r.hasCard(uid) {
		return api.TapResult{}, fmt.Errorf("%w: card %s is already on reader %s; remove it first", api.ErrConflict, uid, id)
	}
	if err := e.waitGone(ctx, id, uid); err != nil {
		return api.TapResult{}, err
	}
	ch, cancel := e.gate.await(id, uid.String())
	defer cancel()
	r.chip.Place(emu.NewCard(uid))
	defer r.chip.Remove(uid)
	select {
	case o := <-ch:
		if o.Err != nil {
			return api.TapResult{}, fmt.Errorf("tap at %s: %w", id, o.Err)
		}
		d := o.Decision
		return api.TapResult{Outcome: string(d.Outcome), Reason: string(d.Reason), Warning: string(d.Warning),
			Seat: o.Event.Seat, PrevSeat: d.PrevSeat, Member: d.Member, Seq: o.Event.Seq}, nil
	case <-ctx.Done():
		return api.TapResult{}, fmt.Errorf("tap at %s: %w", id, ctx.Err())
	}
}

// waitGone waits until the reader is open and settled and no longer holds
// uid (a card put down while the reader starts is taken as lying there, not
// as a tap), and fails fast if the reader is faulty.
func (e *emulator) waitGone(ctx context.Context, id string, uid iso14443.UID) error {
	want := uid.String()
	for {
		busy := false
		for _, st := range e.scanner.Status() {
			if st.ID != id {
				continue
			}
			if !st.OK && st.Faults > 0 {
				return fmt.Errorf("%w: reader %s is faulty: %s", api.ErrConflict, id, st.Error)
			}
			busy = st.Settling || slices.Contains(st.Present, want)
		}
		if !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for card %s to leave reader %s: %w", want, id, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (r *emuReader) hasCard(uid iso14443.UID) bool {
	for _, c := range r.chip.Cards() {
		if c.UID().Equal(uid) {
			return true
		}
	}
	return false
}

// readerCard resolves a reader id and a UID as the API gave them.
func (e *emulator) readerCard(id, uidText string) (*emuReader, iso14443.UID, error) {
	r, err := e.reader(id)
	if err != nil {
		return nil, nil, err
	}
	uid, err := parseUID(uidText)
	if err != nil {
		return nil, nil, err
	}
	return r, uid, nil
}

// PlaceCard leaves a card on the reader until RemoveCard.
func (e *emulator) PlaceCard(id, uidText string) error {
	r, uid, err := e.readerCard(id, uidText)
	if err != nil {
		return err
	}
	if r.hasCard(uid) {
		return fmt.Errorf("%w: card %s is already on reader %s", api.ErrConflict, uid, id)
	}
	r.chip.Place(emu.NewCard(uid))
	return nil
}

// RemoveCard takes a card off the reader.
func (e *emulator) RemoveCard(id, uidText string) error {
	r, uid, err := e.readerCard(id, uidText)
	if err != nil {
		return err
	}
	if !r.chip.Remove(uid) {
		return fmt.Errorf("%w: card %s is not on reader %s", api.ErrConflict, uid, id)
	}
	return nil
}

// Reader shows what the desk shows now and which cards lie on it.
func (e *emulator) Reader(id string) (api.ReaderView, error) {
	r, err := e.reader(id)
	if err != nil {
		return api.ReaderView{}, err
	}
	v := api.ReaderView{Reader: id, Seat: r.seat, Cards: []string{},
		Green: r.green.Read() == gpio.High, Red: r.red.Read() == gpio.High,
		Buzzer: r.buzzer.Read() == gpio.High, Relay: r.relay.Read() == gpio.High}
	if r.desk != nil {
		v.Pattern = string(r.desk.State().Pattern)
	}
	for _, c := range r.chip.Cards() {
		v.Cards = append(v.Cards, c.UID().String())
	}
	for _, st := range e.scanner.Status() {
		if st.ID == id {
			v.OK, v.Error = st.OK, st.Error
		}
	}
	return v, nil
}

// faultKinds are the faults the API can inject, by name.
var faultKinds = map[string]emu.FaultKind{
	"clear": emu.FaultClear, "missing": emu.FaultMissing, "missing_ff": emu.FaultMissingFF,
	"bus_error": emu.FaultBusError, "crc": emu.FaultCRC, "parity": emu.FaultParity,
	"protocol": emu.FaultProtocol, "no_answer": emu.FaultNoAnswer,
}

// InjectFault makes the emulated reader misbehave (for tests and for
// training owners to recognise a reader fault at the desk).
func (e *emulator) InjectFault(id, fault string, count int) error {
	r, err := e.reader(id)
	if err != nil {
		return err
	}
	k, ok := faultKinds[fault]
	if !ok {
		return fmt.Errorf("%w: unknown fault %q (clear, missing, missing_ff, bus_error, crc, parity, protocol, no_answer)", api.ErrBadRequest, fault)
	}
	if count < 0 || count > 1000 {
		return fmt.Errorf("%w: count %d out of range 0..1000", api.ErrBadRequest, count)
	}
	r.chip.Inject(emu.Fault{Kind: k, Count: count})
	return nil
}

// SetClock moves the gateway's wall clock (emulator.clock must be on).
func (e *emulator) SetClock(now time.Time) error {
	if e.clock == nil {
		return api.ErrClockDisabled
	}
	e.clock.Set(now)
	return nil
}

// EmulatedTap taps a card on an emulated reader through the real scan path
// (the demo's script uses it).
func (g *Gateway) EmulatedTap(ctx context.Context, reader, uid string) (api.TapResult, error) {
	if g.emu == nil {
		return api.TapResult{}, api.ErrUnknownReader
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return g.emu.Tap(ctx, reader, uid)
}

// SetClock moves the gateway's wall clock (the demo's accelerated day;
// emulator.clock must be on).
func (g *Gateway) SetClock(now time.Time) error {
	if g.emu == nil {
		return api.ErrUnknownReader
	}
	return g.emu.SetClock(now)
}

package store_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/pkfreelance/seatgate/access/store"
)

func TestFirmwareReportsAreLoggedOnceAndChained(t *testing.T) {
	s, path := newStore(t)
	logTaps(t, s, 2, at("2026-11-04 10:00"))
	before, _ := s.Seats()
	for seq := uint64(1); seq <= 3; seq++ {
		r := store.FirmwareReport{Seq: seq, Phase: "downloading", Version: "1.1.0", Rollout: "r-1", At: at("2026-11-04 10:10")}
		ev, err := s.LogFirmware(r, at("2026-11-04 10:11"))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind != store.KindFirmware || ev.Firmware == nil || ev.Firmware.Seq != seq || ev.Seat != "" {
			t.Fatalf("event %+v", ev)
		}
	}
	// An entry logged before (a crash between reading the history and
	// logging it) is refused, and nothing is appended.
	last, _ := s.LastSeq()
	if _, err := s.LogFirmware(store.FirmwareReport{Seq: 2, Phase: "ready"}, at("2026-11-04 10:12")); !errors.Is(err, store.ErrReported) {
		t.Errorf("logging seq 2 again: %v, want ErrReported", err)
	}
	if l, _ := s.LastSeq(); l != last {
		t.Errorf("a refused report appended an event")
	}
	s = reopen(t, s, path, store.Options{})
	if n, err := s.FirmwareReported(); err != nil || n != 3 {
		t.Errorf("FirmwareReported after reopening = %d, %v; want 3", n, err)
	}
	// Firmware events are part of the hash chain HQ checks, and change no seat.
	evs := allEvents(t, s)
	if err := store.VerifyChain(store.GenesisHash, evs); err != nil {
		t.Fatal(err)
	}
	if after, _ := s.Seats(); !reflect.DeepEqual(before, after) {
		t.Errorf("firmware reports changed the seats: %+v → %+v", before, after)
	}
}

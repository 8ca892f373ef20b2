package store_test

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
)

// logTaps writes n deny events (unknown cards) a minute apart from start.
func logTaps(t *testing.T, s *store.Store, n int, start time.Time) {
	t.Helper()
	for i := range n {
		when := start.Add(time.Duration(i) * time.Minute)
		if _, _, err := s.Tap(access.Tap{Reader: "r-a1", UID: "FFEE0001", At: when}, when); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEventsAreHashChained(t *testing.T) {
	s, path := newStore(t)
	logTaps(t, s, 5, at("2026-11-04 10:00"))
	tap(t, s, "r-a1", "04A1B2C3D4E5F6", "2026-11-04 10:30")
	s = reopen(t, s, path, store.Options{})
	logTaps(t, s, 3, at("2026-11-04 11:00"))
	evs := allEvents(t, s)
	if err := store.VerifyChain(store.GenesisHash, evs); err != nil {
		t.Fatalf("chain of a clean log: %v", err)
	}
	o, err := s.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	if o.ChainHead != evs[len(evs)-1].Hash || o.LastSeq != 9 || o.Depth != 9 {
		t.Errorf("outbox = %+v, want head = last hash, 9 events undelivered", o)
	}
	tests := []struct {
		name   string
		edit   func([]store.Event) []store.Event
		wantIs error
	}{
		{"an event changed", func(e []store.Event) []store.Event { e[3].Seat = "B1"; return e }, store.ErrChainBroken},
		{"an event removed", func(e []store.Event) []store.Event { return append(e[:2], e[3:]...) }, store.ErrChainGap},
		{"an invented event with a fresh hash", func(e []store.Event) []store.Event {
			e[4].Member = "m-002"
			e[4].Hash, _ = store.ChainHash(e[3].Hash, e[4])
			return e // event 6 no longer follows
		}, store.ErrChainBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := tt.edit(allEvents(t, s))
			if err := store.VerifyChain(store.GenesisHash, evs); !errors.Is(err, tt.wantIs) {
				t.Errorf("VerifyChain = %v, want %v", err, tt.wantIs)
			}
		})
	}
}

func TestOutboxDeliveryAndPruning(t *testing.T) {
	s, path := newStore(t)
	logTaps(t, s, 10, at("2026-11-04 10:00")) // 10:00 … 10:09
	if err := s.MarkDelivered(11); !errors.Is(err, store.ErrAckBeyondLog) {
		t.Errorf("ack beyond the log: %v, want ErrAckBeyondLog", err)
	}
	if err := s.MarkDelivered(6); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDelivered(4); err != nil { // late duplicate: harmless
		t.Fatal(err)
	}
	o, _ := s.Outbox()
	if o.Delivered != 6 || o.Depth != 4 || !o.OldestUndelivered.Equal(at("2026-11-04 10:06")) {
		t.Errorf("outbox = %+v, want delivered 6, depth 4, oldest 10:06", o)
	}
	head6, _ := s.PrevHash(7)

	// Everything is old, but only delivered events go.
	n, err := s.Prune(at("2026-11-05 00:00"))
	if err != nil || n != 6 {
		t.Fatalf("Prune = %d, %v, want 6", n, err)
	}
	evs := allEvents(t, s)
	if len(evs) != 4 || evs[0].Seq != 7 {
		t.Fatalf("log after pruning starts at %d with %d events, want 7 and 4", evs[0].Seq, len(evs))
	}
	s = reopen(t, s, path, store.Options{})
	prev, err := s.PrevHash(7)
	if err != nil || prev != head6 {
		t.Errorf("PrevHash(7) after pruning = %q, %v, want the hash of event 6", prev, err)
	}
	if err := store.VerifyChain(prev, allEvents(t, s)); err != nil {
		t.Errorf("chain after pruning: %v", err)
	}
	// Retention by age: only events older than the cut go.
	s.MarkDelivered(10)
	if n, _ := s.Prune(at("2026-11-04 10:08")); n != 2 {
		t.Errorf("Prune before 10:08 removed %d, want 2 (events 7 and 8, at 10:06 and 10:07)", n)
	}
	o, _ = s.Outbox()
	if o.Pruned != 8 || o.Depth != 0 || !o.OldestUndelivered.IsZero() {
		t.Errorf("outbox = %+v, want pruned 8, nothing undelivered", o)
	}
}

func TestNextBootCountsStarts(t *testing.T) {
	s, path := newStore(t)
	for want := uint64(1); want <= 3; want++ {
		got, err := s.NextBoot()
		if err != nil || got != want {
			t.Fatalf("NextBoot = %d, %v, want %d", got, err, want)
		}
		s = reopen(t, s, path, store.Options{})
	}
}

// TestFourteenDaysOffline: a 100-seat centre working two weeks with no
// link to HQ (every seat turning over three times a day, plus refusals)
// keeps every event, in order and chained, in a file of a few megabytes.
func TestFourteenDaysOffline(t *testing.T) {
	path := t.TempDir() + "/seatgate.db"
	s := openAt(t, path, store.Options{NoSync: true})
	var seats []access.Seat
	for i := range 100 {
		seats = append(seats, access.Seat{ID: fmt.Sprintf("S%03d", i), Zone: "A", Reader: fmt.Sprintf("r%03d", i)})
	}
	if err := s.SetSeats(seats); err != nil {
		t.Fatal(err)
	}
	const perDay = 100 * 7 // 3 check-ins and check-outs per seat, plus a refusal
	start := at("2026-11-02 08:00")
	for day := range 14 {
		for i := range perDay {
			when := start.AddDate(0, 0, day).Add(time.Duration(i) * time.Minute)
			r := fmt.Sprintf("r%03d", i%100)
			if _, _, err := s.Tap(access.Tap{Reader: r, UID: "FFEE0001", At: when}, when); err != nil {
				t.Fatal(err)
			}
		}
	}
	o, err := s.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	if o.Depth != 14*perDay || o.Delivered != 0 {
		t.Fatalf("outbox = %+v, want all %d events undelivered", o, 14*perDay)
	}
	if n, _ := s.Prune(start.AddDate(0, 1, 0)); n != 0 {
		t.Errorf("pruned %d undelivered events", n)
	}
	if err := store.VerifyChain(store.GenesisHash, allEvents(t, s)); err != nil {
		t.Error(err)
	}
	st, _ := os.Stat(path)
	t.Logf("%d events over 14 days: database %.1f MiB", o.Depth, float64(st.Size())/(1<<20))
	if st.Size() > 64<<20 {
		t.Errorf("database is %d bytes after 14 days offline; want well under 64 MiB", st.Size())
	}
}

package wire_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/wire"
)

func TestVerifyChain(t *testing.T) {
	events := chain(t, 10) // seqs 1..10
	rehash := func(prev string, e store.Event) store.Event {
		h, err := wire.EventHash(prev, e)
		if err != nil {
			t.Fatal(err)
		}
		e.Hash = h
		return e
	}
	// A fork: another event 3 chained properly onto event 2, and an event
	// 4 chained onto that.
	fork3 := events[2]
	fork3.Seat = "B1"
	fork3 = rehash(events[1].Hash, fork3)
	fork4 := rehash(fork3.Hash, events[3])

	tests := []struct {
		name    string
		prev    string
		events  []store.Event
		wantErr error
		wantSeq uint64
	}{
		{"whole log from genesis", wire.GenesisHash, events, nil, 0},
		{"continuing from event 5", events[4].Hash, events[5:], nil, 0},
		{"no events", events[9].Hash, nil, nil, 0},
		{"event 3 missing", wire.GenesisHash, slices.Delete(slices.Clone(events), 2, 3), wire.ErrGap, 4},
		{"event 3 twice", wire.GenesisHash, slices.Insert(slices.Clone(events[:3]), 3, events[2]), wire.ErrGap, 3},
		{"events 3 and 4 swapped", wire.GenesisHash, append(slices.Clone(events[:2]), events[3], events[2]), wire.ErrGap, 4},
		{"seq 0", wire.GenesisHash, []store.Event{{Seq: 0}}, wire.ErrGap, 0},
		{"event 3 changed", wire.GenesisHash, with(events, 2, func(e *store.Event) { e.Member = "m-999" }), wire.ErrChainBroken, 3},
		{"event 3 changed and rehashed", wire.GenesisHash, with(events, 2, func(e *store.Event) {
			e.Member = "m-999"
			*e = rehash(events[1].Hash, *e)
		}), wire.ErrChainBroken, 4},
		{"event 3 hash removed", wire.GenesisHash, with(events, 2, func(e *store.Event) { e.Hash = "" }), wire.ErrChainBroken, 3},
		{"fork: the other event 3 followed by our event 4", wire.GenesisHash,
			append(append(slices.Clone(events[:2]), fork3), events[3:]...), wire.ErrChainBroken, 4},
		{"fork: HQ holds our 3, the gateway sends the other 4", events[2].Hash, []store.Event{fork4}, wire.ErrChainBroken, 4},
		{"batch that does not continue HQ's chain", events[3].Hash, events[5:], wire.ErrChainBroken, 6},
		{"reset: the log starts again at 1 after HQ has 10", events[9].Hash, events[:3], wire.ErrChainBroken, 1},
		{"event 1 chained onto something", strings.Repeat("1", 64), events[:1], wire.ErrChainBroken, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := wire.VerifyChain(tt.prev, tt.events)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			var ce *wire.ChainError
			if !errors.As(err, &ce) || !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want a *ChainError wrapping %v", err, tt.wantErr)
			}
			if ce.Seq != tt.wantSeq {
				t.Errorf("got seq %d (%v), want %d", ce.Seq, err, tt.wantSeq)
			}
		})
	}
}

// with returns a copy of events with events[i] changed.
func with(events []store.Event, i int, change func(*store.Event)) []store.Event {
	out := slices.Clone(events)
	change(&out[i])
	return out
}

func TestVerifyChainBadPrev(t *testing.T) {
	for _, prev := range []string{"", "00", strings.Repeat("G", 64), strings.ToUpper(chain(t, 1)[0].Hash)} {
		err := wire.VerifyChain(prev, chain(t, 2))
		var ce *wire.ChainError
		if err == nil || errors.As(err, &ce) {
			t.Errorf("prev %q: got %v, want an error about prev that is not a chain break", prev, err)
		}
		if _, err := wire.EventHash(prev, store.Event{Seq: 1}); err == nil {
			t.Errorf("EventHash with prev %q: got no error", prev)
		}
	}
}

// TestEventHashIsTheStoresHash: the gateway's store and HQ hash the same
// way, so that what one writes the other verifies.
func TestEventHashIsTheStoresHash(t *testing.T) {
	if wire.GenesisHash != store.GenesisHash {
		t.Fatalf("GenesisHash %s, store.GenesisHash %s", wire.GenesisHash, store.GenesisHash)
	}
	prev := wire.GenesisHash
	for _, e := range chain(t, 6) {
		h, err := store.ChainHash(prev, e)
		if err != nil {
			t.Fatal(err)
		}
		if h != e.Hash {
			t.Errorf("event %d: store.ChainHash %s, wire.EventHash %s", e.Seq, h, e.Hash)
		}
		prev = e.Hash
	}
}

// TestStoreLogVerifies runs taps through a real store and checks its log
// the way HQ will: in a signed batch, over the wire, then the chain.
func TestStoreLogVerifies(t *testing.T) {
	s, err := store.Open(filepath.Join(t.TempDir(), "seatgate.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetSeats([]access.Seat{{ID: "A1", Zone: "A", Reader: "r-a1"}, {ID: "A2", Zone: "A", Reader: "r-a2"}}); err != nil {
		t.Fatal(err)
	}
	m, err := store.ParseMembership(strings.NewReader(`{"centre":"lhr-01","revision":1,"generated_at":"2026-11-01T09:00:00+05:00",
		"plans":[{"id":"open","name":"Open","grace_days":0,"price_pkr":4000}],
		"members":[{"id":"m-001","name":"Ayesha Khan","status":"active","plan":"open","valid_from":"2026-11-01",
		  "valid_until":"2026-11-30","seats":{"kind":"any"},"cards":[{"uid":"04A1B2C3D4E5F6","revoked":false}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceMembership(m); err != nil {
		t.Fatal(err)
	}
	for i, tap := range []struct{ reader, uid, when string }{
		{"r-a1", "04A1B2C3D4E5F6", "2026-11-04 09:00:00"}, // checkin
		{"r-a2", "0A0B0C0D", "2026-11-04 09:05:00"},       // deny: unknown card
		{"r-a2", "04A1B2C3D4E5F6", "2026-11-04 09:10:00"}, // move
		{"r-a2", "04A1B2C3D4E5F6", "2026-11-04 17:00:00"}, // checkout
	} {
		if _, _, err := s.Tap(access.Tap{Reader: tap.reader, UID: tap.uid}, at(tap.when)); err != nil {
			t.Fatalf("tap %d: %v", i, err)
		}
	}
	events, err := s.Events(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := wire.EventBatch{V: wire.Version, Centre: "lhr-01", Gateway: "gw-1", Boot: 1, First: 1,
		Last: uint64(len(events)), PrevHash: wire.GenesisHash, Events: events}
	mustSign(t, deviceKey, &b)
	got, err := wire.DecodeEventBatch(mustEncode(t, b))
	if err != nil {
		t.Fatal(err)
	}
	if err := wire.Verify(pub(deviceKey), &got); err != nil {
		t.Fatal(err)
	}
	if err := wire.VerifyChain(got.PrevHash, got.Events); err != nil {
		t.Fatalf("the store's own log: %v", err)
	}
	if len(got.Events) != 4 {
		t.Errorf("got %d events, want 4", len(got.Events))
	}
}

package wire_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// Fixed keys, so that golden signatures are stable: ed25519 is deterministic.
var (
	deviceKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x01}, ed25519.SeedSize))
	hqKey     = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x02}, ed25519.SeedSize))
	otherKey  = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x03}, ed25519.SeedSize))
)

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

var karachi = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Karachi") // tzdata is embedded by package store
	if err != nil {
		panic(err)
	}
	return loc
}()

// at parses "2006-01-02 15:04:05" in Karachi.
func at(s string) time.Time {
	t, err := time.ParseInLocation(time.DateTime, s, karachi)
	if err != nil {
		panic(err)
	}
	return t
}

// chain returns events 1..n of a gateway's log, hash-chained from
// GenesisHash: a check-in, a deny, a checkout, and so on.
func chain(t testing.TB, n int) []store.Event {
	t.Helper()
	events := make([]store.Event, n)
	prev := wire.GenesisHash
	for i := range events {
		e := store.Event{
			Seq: uint64(i + 1), Time: at("2026-11-04 09:00:00").Add(time.Duration(i) * time.Minute),
			Seat: "A1", Member: "m-001", Card: "04A1B2C3D4E5F6", Reader: "r-a1", ClockTrusted: true,
		}
		switch i % 3 {
		case 0:
			e.Kind = access.OutcomeCheckin
		case 1:
			e.Kind, e.Reason, e.Member, e.Card = access.OutcomeDeny, access.ReasonUnknownCard, "", "0A0B0C0D"
		case 2:
			e.Kind, e.Since = access.OutcomeCheckout, at("2026-11-04 09:00:00").Add(time.Duration(i-2)*time.Minute)
		}
		h, err := wire.EventHash(prev, e)
		if err != nil {
			t.Fatal(err)
		}
		e.Hash, prev = h, h
		events[i] = e
	}
	return events
}

// batch returns a signed batch of events first..last of chain(last).
func batch(t testing.TB, first, last int) wire.EventBatch {
	t.Helper()
	events := chain(t, last)
	prev := wire.GenesisHash
	if first > 1 {
		prev = events[first-2].Hash
	}
	b := wire.EventBatch{
		V: wire.Version, Centre: "lhr-01", Gateway: "gw-1", Boot: 7, First: uint64(first), Last: uint64(last),
		PrevHash: prev, Events: events[first-1:],
	}
	mustSign(t, deviceKey, &b)
	return b
}

func ack() wire.Ack {
	return wire.Ack{V: wire.Version, Centre: "lhr-01", Gateway: "gw-1", Boot: 7, Upto: 150}
}

func firmwareAssign() wire.FirmwareAssign {
	return wire.FirmwareAssign{V: wire.Version, Centre: "lhr-01", Gateway: "gw-1", Rollout: "r-142",
		Manifest: []byte(`{"signed":{},"signatures":[]}`), URLs: []string{"https://hq.example:8443/firmware/v1/ab/artifact"},
		Window: "02:00-05:00", Issued: at("2026-11-04 10:00:00")}
}

func birth() wire.Birth {
	return wire.Birth{
		V: wire.Version, Centre: "lhr-01", Gateway: "gw-1", Boot: 7, Firmware: "1.4.2",
		StartedAt: at("2026-11-04 08:59:30"), KeyID: wire.KeyID(pub(deviceKey)),
	}
}

func status() wire.Status { return wire.Status{V: wire.Version, State: wire.StateOnline, Boot: 7} }

func health() wire.Health {
	return wire.Health{
		V: wire.Version, Time: at("2026-11-04 10:00:00"), Boot: 7, UptimeSec: 3630, Firmware: "1.4.2",
		OutboxDepth: 12, OutboxOldest: 95, DiskFree: 3 << 30, ReadersOK: 11, ReadersTotal: 12,
		ClockTrusted: true, MembershipRev: 42,
	}
}

func occupancy() wire.Occupancy {
	return wire.Occupancy{V: wire.Version, Time: at("2026-11-04 10:00:00"), Seats: []wire.SeatOccupancy{
		{Seat: "A1", Zone: "A", State: store.SeatOccupied, Member: "m-001", Since: at("2026-11-04 09:00:00")},
		{Seat: "A2", Zone: "A", State: store.SeatFree},
	}}
}

func want() wire.JournalWant { return wire.JournalWant{V: wire.Version, From: 43} }

// entry returns an unsigned journal entry for op with its payload.
func entry(op wire.Op) wire.JournalEntry {
	e := wire.JournalEntry{V: wire.Version, Centre: "lhr-01", Rev: 42, Time: at("2026-11-04 10:00:00"), Op: op}
	switch op {
	case wire.OpMemberPut:
		e.Member = &access.Member{
			ID: "m-001", Name: "Ayesha Khan", Status: access.StatusActive, PlanID: "day",
			ValidFrom: access.Date{Year: 2026, Month: 11, Day: 1}, ValidUntil: access.Date{Year: 2026, Month: 11, Day: 30},
			Seats: access.SeatRule{Kind: access.SeatZones, Zones: []string{"A", "B"}},
		}
	case wire.OpCardPut:
		e.Card = &access.Card{UID: "04A1B2C3D4E5F6", MemberID: "m-001"}
	case wire.OpPlanPut:
		e.Plan = &access.Plan{
			ID: "night", Name: "Night shift", Days: []time.Weekday{time.Monday, time.Friday},
			Windows:   []access.Window{{Start: access.Clock(20, 0), End: access.Clock(6, 0)}},
			GraceDays: 3, PricePKR: 3000,
		}
	case wire.OpCardRevoke:
		e.ID = "04A1B2C3D4E5F6"
	default:
		e.ID = "m-001"
	}
	return e
}

func chunk() wire.SnapshotChunk {
	chunks, err := wire.ChunkSnapshot("lhr-01", 42, []byte(`{"centre":"lhr-01","revision":42}`))
	if err != nil {
		panic(err)
	}
	return chunks[0]
}

func mustSign(t testing.TB, k ed25519.PrivateKey, m wire.Signable) {
	t.Helper()
	if err := wire.Sign(k, m); err != nil {
		t.Fatalf("sign %T: %v", m, err)
	}
}

func mustEncode(t testing.TB, m interface{ Validate() error }) []byte {
	t.Helper()
	b, err := wire.Encode(m)
	if err != nil {
		t.Fatalf("encode %T: %v", m, err)
	}
	return b
}

// edited decodes b into a generic JSON document, lets edit change it and
// encodes it again.
func edited(t testing.TB, b []byte, edit func(doc map[string]any)) []byte {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	edit(doc)
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// obj returns the object at path in doc: keys (string) and list indexes
// (int).
func obj(doc map[string]any, path ...any) map[string]any {
	var v any = doc
	for _, p := range path {
		switch p := p.(type) {
		case string:
			v = v.(map[string]any)[p]
		case int:
			v = v.([]any)[p]
		}
	}
	return v.(map[string]any)
}

// wantMessageError checks that err is a *MessageError of kind, about
// field when field is not empty, whose text contains every one of texts.
func wantMessageError(t *testing.T, err, kind error, field string, texts ...string) {
	t.Helper()
	var me *wire.MessageError
	if !errors.As(err, &me) {
		t.Fatalf("got error %v (%T), want a *wire.MessageError of kind %v", err, err, kind)
	}
	if !errors.Is(err, kind) {
		t.Errorf("got kind %v (%v), want %v", me.Kind, err, kind)
	}
	if field != "" && me.Field != field {
		t.Errorf("got field %q (%v), want %q", me.Field, err, field)
	}
	for _, s := range texts {
		if !bytes.Contains([]byte(err.Error()), []byte(s)) {
			t.Errorf("got %q, want it to mention %q", err, s)
		}
	}
}

func sprint(v any) string { return fmt.Sprintf("%+v", v) }

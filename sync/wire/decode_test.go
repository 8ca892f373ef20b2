package wire_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// decoder is one Decode function with a valid message for it.
type decoder struct {
	name   string
	valid  func(t *testing.T) []byte
	decode func([]byte) (any, error)
}

func adapt[T any](f func([]byte) (T, error)) func([]byte) (any, error) {
	return func(b []byte) (any, error) { return f(b) }
}

func signed[M any, PM interface {
	*M
	wire.Signable
}](k []byte, m M) func(t *testing.T) []byte {
	return func(t *testing.T) []byte {
		mustSign(t, k, PM(&m))
		return mustEncode(t, PM(&m))
	}
}

func unsigned(m interface{ Validate() error }) func(t *testing.T) []byte {
	return func(t *testing.T) []byte { return mustEncode(t, m) }
}

var decoders = []decoder{
	{"EventBatch", func(t *testing.T) []byte { b := batch(t, 101, 103); return mustEncode(t, b) }, adapt(wire.DecodeEventBatch)},
	{"Birth", signed(deviceKey, birth()), adapt(wire.DecodeBirth)},
	{"Status", unsigned(status()), adapt(wire.DecodeStatus)},
	{"Health", unsigned(health()), adapt(wire.DecodeHealth)},
	{"Occupancy", unsigned(occupancy()), adapt(wire.DecodeOccupancy)},
	{"JournalWant", unsigned(want()), adapt(wire.DecodeJournalWant)},
	{"Ack", signed(hqKey, ack()), adapt(wire.DecodeAck)},
	{"JournalEntry", signed(hqKey, entry(wire.OpMemberPut)), adapt(wire.DecodeJournalEntry)},
	{"SnapshotChunk", signed(hqKey, chunk()), adapt(wire.DecodeSnapshotChunk)},
}

// TestDecodeValid: every decoder accepts its valid message, and the value
// encodes back to the same bytes.
func TestDecodeValid(t *testing.T) {
	for _, d := range decoders {
		t.Run(d.name, func(t *testing.T) {
			b := d.valid(t)
			v, err := d.decode(b)
			if err != nil {
				t.Fatalf("decode %s: %v", b, err)
			}
			again, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, b) {
				t.Errorf("re-encoded:\ngot  %s\nwant %s", again, b)
			}
		})
	}
}

// TestDecodeRejectsCommon: what every decoder rejects, whatever the message.
func TestDecodeRejectsCommon(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(valid []byte) []byte
		kind   error
		text   string
	}{
		{"empty", func([]byte) []byte { return nil }, wire.ErrMalformed, "not a JSON object"},
		{"garbage", func([]byte) []byte { return []byte("\x00\xffnot json") }, wire.ErrMalformed, ""},
		{"not an object", func([]byte) []byte { return []byte(`[{"v":1}]`) }, wire.ErrMalformed, "not a JSON object"},
		{"null", func([]byte) []byte { return []byte(`null`) }, wire.ErrMalformed, ""},
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }, wire.ErrMalformed, ""},
		{"truncated by one byte", func(b []byte) []byte { return b[:len(b)-1] }, wire.ErrMalformed, ""},
		{"trailing data", func(b []byte) []byte { return append(b, `{"v":1}`...) }, wire.ErrMalformed, ""},
		{"unknown field", func(b []byte) []byte { return insert(b, `"extra":1,`) }, wire.ErrMalformed, `"extra"`},
		{"field of another message", func(b []byte) []byte { return insert(b, `"upto_not":1,`) }, wire.ErrMalformed, ""},
		{"duplicate key", func(b []byte) []byte { return insert(b, `"v":1,`) }, wire.ErrMalformed, `"v" given twice`},
		{"key in another case", func(b []byte) []byte { return bytes.Replace(b, []byte(`"v":1`), []byte(`"V":1`), 1) }, wire.ErrMalformed, `"V"`},
		{"key folded to ASCII", func(b []byte) []byte { return bytes.Replace(b, []byte(`"v":1`), []byte(`"\u212a":1,"v":1`), 1) }, wire.ErrMalformed, ""},
		{"version 2", func(b []byte) []byte { return bytes.Replace(b, []byte(`"v":1`), []byte(`"v":2`), 1) }, wire.ErrVersion, "version 2, want 1"},
		{"version 2 with new fields", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"v":1`), []byte(`"v":2,"future":true`), 1)
		}, wire.ErrVersion, "version 2"},
		{"version 0", func(b []byte) []byte { return bytes.Replace(b, []byte(`"v":1`), []byte(`"v":0`), 1) }, wire.ErrVersion, "version 0"},
		{"version missing", func(b []byte) []byte { return bytes.Replace(b, []byte(`"v":1,`), nil, 1) }, wire.ErrVersion, "missing"},
		{"version null", func(b []byte) []byte { return bytes.Replace(b, []byte(`"v":1`), []byte(`"v":null`), 1) }, wire.ErrVersion, "missing"},
		{"version as a string", func(b []byte) []byte { return bytes.Replace(b, []byte(`"v":1`), []byte(`"v":"1"`), 1) }, wire.ErrVersion, `version "1"`},
		{"oversized", func(b []byte) []byte {
			return append(b, bytes.Repeat([]byte(" "), wire.MaxPayload+1-len(b))...)
		}, wire.ErrTooLarge, "limit 262144"},
	}
	for _, d := range decoders {
		for _, tt := range tests {
			t.Run(d.name+"/"+tt.name, func(t *testing.T) {
				in := tt.mutate(d.valid(t))
				v, err := d.decode(in)
				if err == nil {
					t.Fatalf("decode %.200s: got %s, want an error", in, sprint(v))
				}
				wantMessageError(t, err, tt.kind, "", tt.text)
			})
		}
	}
}

// insert puts s right after the opening brace of b.
func insert(b []byte, s string) []byte { return append([]byte("{"+s), b[1:]...) }

// TestDecodeAcceptsSpacing: white space and escapes do not matter; the
// decoded value, not the bytes received, is what a signature covers.
func TestDecodeAcceptsSpacing(t *testing.T) {
	a := ack()
	mustSign(t, hqKey, &a)
	in := fmt.Sprintf(" {\n \"v\" : 1 , \"centre\":\"lhr\\u002d01\",\t\"gateway\":\"gw-1\",\"boot\":7,\"upto\":150,\"sig\":%q}\n", a.Sig)
	got, err := wire.DecodeAck([]byte(in))
	if err != nil {
		t.Fatalf("decode %s: %v", in, err)
	}
	if got != a {
		t.Errorf("got %+v, want %+v", got, a)
	}
	if err := wire.Verify(pub(hqKey), &got); err != nil {
		t.Errorf("verify re-spaced ack: %v", err)
	}
}

// TestDecodeEscapes: escaped keys are the keys they spell, and quotes or
// braces inside strings are not structure.
func TestDecodeEscapes(t *testing.T) {
	in := `{"v":1,"\u0063entre":"lhr-01","gateway":"gw-1","boot":7,"firmware":"1.4\"},{\\","started_at":"2026-11-04T08:59:30+05:00","key_id":"34750f98bd59fcfc"}`
	got, err := wire.DecodeBirth([]byte(in))
	if err != nil {
		t.Fatalf("decode %s: %v", in, err)
	}
	if got.Centre != "lhr-01" || got.Firmware != `1.4"},{\` {
		t.Errorf("got centre %q, firmware %q", got.Centre, got.Firmware)
	}
	dup := `{"v":1,"centre":"lhr-01","\u0063entre":"khi-02","gateway":"gw-1","boot":7,"upto":1}`
	_, err = wire.DecodeAck([]byte(dup))
	wantMessageError(t, err, wire.ErrMalformed, "", `"centre" given twice`)
}

type rejection struct {
	name  string
	in    []byte
	kind  error
	field string
	text  string
}

func runRejections[T any](t *testing.T, decode func([]byte) (T, error), tests []rejection) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := decode(tt.in)
			if err == nil {
				t.Fatalf("decode %.300s: got %s, want an error", tt.in, sprint(v))
			}
			wantMessageError(t, err, tt.kind, tt.field, tt.text)
		})
	}
}

func TestDecodeEventBatchRejects(t *testing.T) {
	valid := mustEncode(t, batch(t, 101, 103))
	from1 := mustEncode(t, batch(t, 1, 2))
	e := func(edit func(doc map[string]any)) []byte { return edited(t, valid, edit) }
	event := func(doc map[string]any, i int) map[string]any { return obj(doc, "events", i) }
	many := func(n int) []byte {
		return e(func(doc map[string]any) {
			evs := make([]any, n)
			for i := range evs {
				evs[i] = map[string]any{"seq": 101 + i, "time": "2026-11-04T09:00:00+05:00", "kind": "deny", "hash": strings.Repeat("a", 64)}
			}
			doc["events"], doc["last"] = evs, 100+n
		})
	}
	runRejections(t, wire.DecodeEventBatch, []rejection{
		{"centre in capitals", e(func(d map[string]any) { d["centre"] = "LHR-01" }), wire.ErrInvalid, "centre", "a-z"},
		{"centre missing", e(func(d map[string]any) { delete(d, "centre") }), wire.ErrInvalid, "centre", "missing"},
		{"centre too long", e(func(d map[string]any) { d["centre"] = strings.Repeat("a", 33) }), wire.ErrInvalid, "centre", "longer than 32"},
		{"gateway with underscore", e(func(d map[string]any) { d["gateway"] = "gw_1" }), wire.ErrInvalid, "gateway", ""},
		{"gateway with slash", e(func(d map[string]any) { d["gateway"] = "gw/1" }), wire.ErrInvalid, "gateway", ""},
		{"gateway reserved", e(func(d map[string]any) { d["gateway"] = "journal" }), wire.ErrInvalid, "gateway", "reserved"},
		{"boot 0", e(func(d map[string]any) { d["boot"] = 0 }), wire.ErrInvalid, "boot", "at least 1"},
		{"boot negative", e(func(d map[string]any) { d["boot"] = -1 }), wire.ErrMalformed, "boot", "uint64"},
		{"boot a string", e(func(d map[string]any) { d["boot"] = "7" }), wire.ErrMalformed, "boot", ""},
		{"first 0", e(func(d map[string]any) { d["first"] = 0 }), wire.ErrInvalid, "first", ""},
		{"last one too many", e(func(d map[string]any) { d["last"] = 104 }), wire.ErrInvalid, "last", "want last = first + 2"},
		{"last before first", e(func(d map[string]any) { d["last"] = 100 }), wire.ErrInvalid, "last", ""},
		{"first and last shifted", e(func(d map[string]any) { d["first"], d["last"] = 102, 104 }), wire.ErrInvalid, "events[0].seq", "101, want 102"},
		{"no events", e(func(d map[string]any) { d["events"] = []any{} }), wire.ErrInvalid, "events", "no events"},
		{"events null", e(func(d map[string]any) { d["events"] = nil }), wire.ErrInvalid, "events", "no events"},
		{"1001 events", many(1001), wire.ErrInvalid, "events", "1001 events, limit 1000"},
		{"gap inside", e(func(d map[string]any) { event(d, 2)["seq"] = 104 }), wire.ErrInvalid, "events[2].seq", "104, want 103"},
		{"events reordered", e(func(d map[string]any) {
			evs := d["events"].([]any)
			evs[0], evs[1] = evs[1], evs[0]
		}), wire.ErrInvalid, "events[0].seq", ""},
		{"prev_hash short", e(func(d map[string]any) { d["prev_hash"] = "abc" }), wire.ErrInvalid, "prev_hash", "64 lower-case hex"},
		{"prev_hash upper case", e(func(d map[string]any) { d["prev_hash"] = strings.Repeat("A", 64) }), wire.ErrInvalid, "prev_hash", ""},
		{"prev_hash not hex", e(func(d map[string]any) { d["prev_hash"] = strings.Repeat("g", 64) }), wire.ErrInvalid, "prev_hash", ""},
		{"first 1 after a non-genesis hash", edited(t, from1, func(d map[string]any) { d["prev_hash"] = strings.Repeat("1", 64) }),
			wire.ErrInvalid, "prev_hash", "GenesisHash"},
		{"event without hash", e(func(d map[string]any) { delete(event(d, 1), "hash") }), wire.ErrInvalid, "events[1].hash", ""},
		{"event without time", e(func(d map[string]any) { delete(event(d, 0), "time") }), wire.ErrInvalid, "events[0].time", "missing"},
		{"event time not RFC 3339", e(func(d map[string]any) { event(d, 0)["time"] = "yesterday" }), wire.ErrInvalid, "", "yesterday"},
		{"event without kind", e(func(d map[string]any) { event(d, 0)["kind"] = "" }), wire.ErrInvalid, "events[0].kind", ""},
		{"event with unknown field", e(func(d map[string]any) { event(d, 0)["colour"] = "red" }), wire.ErrMalformed, "", `"colour"`},
		{"event with a key of another object", e(func(d map[string]any) { event(d, 0)["upto"] = 1 }), wire.ErrMalformed, "", "upto"},
		{"event with seq a float", e(func(d map[string]any) { event(d, 0)["seq"] = 101.5 }), wire.ErrMalformed, "events.seq", ""},
		{"sig not base64", e(func(d map[string]any) { d["sig"] = strings.Repeat("!", 88) }), wire.ErrInvalid, "sig", "base64"},
		{"sig of 63 bytes", e(func(d map[string]any) { d["sig"] = base64.StdEncoding.EncodeToString(make([]byte, 63)) }), wire.ErrInvalid, "sig", "want 88"},
		{"sig unpadded", e(func(d map[string]any) { d["sig"] = base64.RawStdEncoding.EncodeToString(make([]byte, 64)) }), wire.ErrInvalid, "sig", ""},
	})
}

func TestFitBatch(t *testing.T) {
	events := chain(t, 1200)
	n, err := wire.FitBatch(events)
	if err != nil {
		t.Fatal(err)
	}
	// Events of a real log are about 280 bytes: fewer than MaxBatchEvents fit.
	if n < 800 || n >= wire.MaxBatchEvents {
		t.Errorf("got %d events in a batch, want 800 to %d", n, wire.MaxBatchEvents-1)
	}
	b := wire.EventBatch{V: wire.Version, Centre: "lhr-01", Gateway: "gw-1", Boot: 7, First: 1, Last: uint64(n),
		PrevHash: wire.GenesisHash, Events: events[:n]}
	mustSign(t, deviceKey, &b)
	enc := mustEncode(t, b)
	if _, err := wire.DecodeEventBatch(enc); err != nil {
		t.Fatalf("decode a batch FitBatch allowed (%d events, %d bytes): %v", n, len(enc), err)
	}
	// One more event and the batch is refused by Sign, never sent.
	b.Events, b.Last, b.Sig = events[:n+1], uint64(n+1), ""
	for wire.Sign(deviceKey, &b) == nil { // FitBatch assumes the longest IDs: grow them
		b.Events = append(b.Events, events[len(b.Events)])
		b.Last++
	}
	wantMessageError(t, wire.Sign(deviceKey, &b), wire.ErrTooLarge, "", "limit 262144")

	// Small events: the count limit binds first.
	small := make([]store.Event, 1200)
	for i := range small {
		small[i] = store.Event{Seq: uint64(i + 1), Kind: "deny"}
	}
	if n, err := wire.FitBatch(small); n != wire.MaxBatchEvents || err != nil {
		t.Errorf("small events: got %d, %v; want %d", n, err, wire.MaxBatchEvents)
	}
	if n, err := wire.FitBatch(nil); n != 0 || err != nil {
		t.Errorf("no events: got %d, %v; want 0, nil", n, err)
	}
	huge := []store.Event{{Seq: 9, Reader: strings.Repeat("r", wire.MaxPayload)}}
	_, err = wire.FitBatch(huge)
	wantMessageError(t, err, wire.ErrTooLarge, "events[0]", "event 9")
}

func TestDecodeAckRejects(t *testing.T) {
	valid := decoders[6].valid(t)
	e := func(edit func(doc map[string]any)) []byte { return edited(t, valid, edit) }
	runRejections(t, wire.DecodeAck, []rejection{
		{"centre missing", e(func(d map[string]any) { delete(d, "centre") }), wire.ErrInvalid, "centre", "missing"},
		{"gateway missing", e(func(d map[string]any) { delete(d, "gateway") }), wire.ErrInvalid, "gateway", "missing"},
		{"gateway with space", e(func(d map[string]any) { d["gateway"] = "gw 1" }), wire.ErrInvalid, "gateway", ""},
		{"boot 0", e(func(d map[string]any) { d["boot"] = 0 }), wire.ErrInvalid, "boot", ""},
		{"upto 0", e(func(d map[string]any) { d["upto"] = 0 }), wire.ErrInvalid, "upto", "at least 1"},
		{"upto negative", e(func(d map[string]any) { d["upto"] = -5 }), wire.ErrMalformed, "upto", ""},
		{"upto beyond uint64", e(func(d map[string]any) { d["upto"] = json.Number("18446744073709551616") }), wire.ErrMalformed, "upto", ""},
		{"upto a string", e(func(d map[string]any) { d["upto"] = "150" }), wire.ErrMalformed, "upto", ""},
		{"sig a number", e(func(d map[string]any) { d["sig"] = 5 }), wire.ErrMalformed, "sig", ""},
		{"sig truncated", e(func(d map[string]any) { d["sig"] = d["sig"].(string)[:80] }), wire.ErrInvalid, "sig", ""},
	})
}

func TestDecodeBirthRejects(t *testing.T) {
	valid := decoders[1].valid(t)
	e := func(edit func(doc map[string]any)) []byte { return edited(t, valid, edit) }
	runRejections(t, wire.DecodeBirth, []rejection{
		{"firmware missing", e(func(d map[string]any) { delete(d, "firmware") }), wire.ErrInvalid, "firmware", "missing"},
		{"firmware with space", e(func(d map[string]any) { d["firmware"] = "1.4 beta" }), wire.ErrInvalid, "firmware", "spaces"},
		{"firmware too long", e(func(d map[string]any) { d["firmware"] = strings.Repeat("1", 65) }), wire.ErrInvalid, "firmware", ""},
		{"started_at missing", e(func(d map[string]any) { delete(d, "started_at") }), wire.ErrInvalid, "started_at", "missing"},
		{"started_at zero", e(func(d map[string]any) { d["started_at"] = "0001-01-01T00:00:00Z" }), wire.ErrInvalid, "started_at", ""},
		{"key_id short", e(func(d map[string]any) { d["key_id"] = "abcdef" }), wire.ErrInvalid, "key_id", "16 lower-case hex"},
		{"key_id upper case", e(func(d map[string]any) { d["key_id"] = strings.ToUpper(d["key_id"].(string)) }), wire.ErrInvalid, "key_id", ""},
	})
}

func TestDecodeStatusRejects(t *testing.T) {
	valid := decoders[2].valid(t)
	e := func(edit func(doc map[string]any)) []byte { return edited(t, valid, edit) }
	runRejections(t, wire.DecodeStatus, []rejection{
		{"state unknown", e(func(d map[string]any) { d["state"] = "away" }), wire.ErrInvalid, "state", `"away"`},
		{"state missing", e(func(d map[string]any) { delete(d, "state") }), wire.ErrInvalid, "state", ""},
		{"boot 0", e(func(d map[string]any) { d["boot"] = 0 }), wire.ErrInvalid, "boot", ""},
		{"signed", e(func(d map[string]any) { d["sig"] = "x" }), wire.ErrMalformed, "", "sig"},
	})
}

func TestDecodeHealthRejects(t *testing.T) {
	valid := decoders[3].valid(t)
	e := func(edit func(doc map[string]any)) []byte { return edited(t, valid, edit) }
	runRejections(t, wire.DecodeHealth, []rejection{
		{"time missing", e(func(d map[string]any) { delete(d, "time") }), wire.ErrInvalid, "time", ""},
		{"firmware missing", e(func(d map[string]any) { d["firmware"] = "" }), wire.ErrInvalid, "firmware", ""},
		{"uptime negative", e(func(d map[string]any) { d["uptime_s"] = -1 }), wire.ErrInvalid, "uptime_s", "negative"},
		{"oldest negative", e(func(d map[string]any) { d["outbox_oldest_s"] = -1 }), wire.ErrInvalid, "outbox_oldest_s", ""},
		{"more readers ok than readers", e(func(d map[string]any) { d["readers_ok"] = 13 }), wire.ErrInvalid, "readers_total", ""},
		{"disk free negative", e(func(d map[string]any) { d["disk_free_bytes"] = -1 }), wire.ErrMalformed, "disk_free_bytes", ""},
		{"uptime in ns", e(func(d map[string]any) { d["uptime_ns"] = 1 }), wire.ErrMalformed, "", "uptime_ns"},
	})
}

func TestDecodeOccupancyRejects(t *testing.T) {
	valid := decoders[4].valid(t)
	e := func(edit func(doc map[string]any)) []byte { return edited(t, valid, edit) }
	seat := func(d map[string]any, i int) map[string]any { return obj(d, "seats", i) }
	runRejections(t, wire.DecodeOccupancy, []rejection{
		{"time missing", e(func(d map[string]any) { delete(d, "time") }), wire.ErrInvalid, "time", ""},
		{"seat listed twice", e(func(d map[string]any) { seat(d, 1)["seat"] = "A1" }), wire.ErrInvalid, "seats[1].seat", "twice"},
		{"seat without id", e(func(d map[string]any) { seat(d, 0)["seat"] = "" }), wire.ErrInvalid, "seats[0].seat", ""},
		{"state unknown", e(func(d map[string]any) { seat(d, 0)["state"] = "taken" }), wire.ErrInvalid, "seats[0].state", ""},
		{"free seat with a member", e(func(d map[string]any) { seat(d, 1)["member"] = "m-002" }), wire.ErrInvalid, "seats[1].state", ""},
		{"occupied seat without member", e(func(d map[string]any) { delete(seat(d, 0), "member") }), wire.ErrInvalid, "seats[0].member", ""},
		{"occupied seat without since", e(func(d map[string]any) { delete(seat(d, 0), "since") }), wire.ErrInvalid, "seats[0].since", ""},
		{"member name leaked", e(func(d map[string]any) { seat(d, 0)["member_name"] = "Ayesha" }), wire.ErrMalformed, "", "member_name"},
		{"sig bad", e(func(d map[string]any) { d["sig"] = "abc=" }), wire.ErrInvalid, "sig", ""},
	})
}

func TestDecodeJournalWantRejects(t *testing.T) {
	runRejections(t, wire.DecodeJournalWant, []rejection{
		{"from 0", []byte(`{"v":1,"from":0}`), wire.ErrInvalid, "from", "at least 1"},
		{"from missing", []byte(`{"v":1}`), wire.ErrInvalid, "from", ""},
		{"from a float", []byte(`{"v":1,"from":1.5}`), wire.ErrMalformed, "from", ""},
		{"from a string", []byte(`{"v":1,"from":"43"}`), wire.ErrMalformed, "from", ""},
	})
}

func TestDecodeJournalEntryRejects(t *testing.T) {
	enc := func(m wire.JournalEntry) []byte { mustSign(t, hqKey, &m); return mustEncode(t, &m) }
	member, card, plan := enc(entry(wire.OpMemberPut)), enc(entry(wire.OpCardPut)), enc(entry(wire.OpPlanPut))
	revoke := enc(entry(wire.OpCardRevoke))
	e := func(b []byte, edit func(doc map[string]any)) []byte { return edited(t, b, edit) }
	runRejections(t, wire.DecodeJournalEntry, []rejection{
		{"rev 0", e(member, func(d map[string]any) { d["rev"] = 0 }), wire.ErrInvalid, "rev", ""},
		{"time missing", e(member, func(d map[string]any) { delete(d, "time") }), wire.ErrInvalid, "time", ""},
		{"op unknown", e(member, func(d map[string]any) { d["op"] = "member_upsert" }), wire.ErrInvalid, "op", "member_upsert"},
		{"op missing", e(member, func(d map[string]any) { delete(d, "op") }), wire.ErrInvalid, "op", ""},
		{"member_put without member", e(member, func(d map[string]any) { delete(d, "member") }), wire.ErrInvalid, "member", "missing"},
		{"member_put with an id too", e(member, func(d map[string]any) { d["id"] = "m-001" }), wire.ErrInvalid, "id", "not allowed"},
		{"member_delete with a member", e(member, func(d map[string]any) { d["op"] = "member_delete" }), wire.ErrInvalid, "member", "not allowed"},
		{"member id with space", e(member, func(d map[string]any) { obj(d, "member")["id"] = "m 1" }), wire.ErrInvalid, "member.id", ""},
		{"member name blank", e(member, func(d map[string]any) { obj(d, "member")["name"] = "  " }), wire.ErrInvalid, "member.name", ""},
		{"member status unknown", e(member, func(d map[string]any) { obj(d, "member")["status"] = "banned" }), wire.ErrInvalid, "member.status", ""},
		{"member date not a day", e(member, func(d map[string]any) { obj(d, "member")["valid_until"] = "2026-02-30" }), wire.ErrInvalid, "", "no such day"},
		{"member dates reversed", e(member, func(d map[string]any) { obj(d, "member")["valid_until"] = "2026-10-31" }), wire.ErrInvalid, "member.valid_until", "before"},
		{"member zones empty", e(member, func(d map[string]any) { obj(d, "member", "seats")["zones"] = []any{} }), wire.ErrInvalid, "member.seats", ""},
		{"member seat kind unknown", e(member, func(d map[string]any) { obj(d, "member", "seats")["kind"] = "window" }), wire.ErrInvalid, "member.seats.kind", ""},
		{"member with cards", e(member, func(d map[string]any) { obj(d, "member")["cards"] = []any{} }), wire.ErrMalformed, "", "cards"},
		{"member with a key of a card", e(member, func(d map[string]any) { obj(d, "member")["uid"] = "04A1B2C3" }), wire.ErrMalformed, "", "uid"},
		{"member in Go field names", e(member, func(d map[string]any) { obj(d, "member")["PlanID"] = "day" }), wire.ErrMalformed, "", "PlanID"},
		{"card uid not canonical", e(card, func(d map[string]any) { obj(d, "card")["uid"] = "04:a1:b2:c3:d4:e5:f6" }), wire.ErrInvalid, "card.uid", "canonical"},
		{"card uid not a uid", e(card, func(d map[string]any) { obj(d, "card")["uid"] = "04A1" }), wire.ErrInvalid, "card.uid", ""},
		{"card without member", e(card, func(d map[string]any) { delete(obj(d, "card"), "member") }), wire.ErrInvalid, "card.member", ""},
		{"card_revoke of a bad uid", e(revoke, func(d map[string]any) { d["id"] = "zz" }), wire.ErrInvalid, "id", ""},
		{"plan day unknown", e(plan, func(d map[string]any) { obj(d, "plan")["days"] = []any{"mon", "funday"} }), wire.ErrInvalid, "", "funday"},
		{"plan day twice", e(plan, func(d map[string]any) { obj(d, "plan")["days"] = []any{"mon", "mon"} }), wire.ErrInvalid, "plan.days[1]", "twice"},
		{"plan day as number", e(plan, func(d map[string]any) { obj(d, "plan")["days"] = []any{1} }), wire.ErrMalformed, "", ""},
		{"plan window 24:00", e(plan, func(d map[string]any) { obj(d, "plan", "windows", 0)["end"] = "24:00" }), wire.ErrInvalid, "", "24:00"},
		{"plan grace too long", e(plan, func(d map[string]any) { obj(d, "plan")["grace_days"] = 400 }), wire.ErrInvalid, "plan.grace_days", ""},
		{"plan price negative", e(plan, func(d map[string]any) { obj(d, "plan")["price_pkr"] = -1 }), wire.ErrInvalid, "plan.price_pkr", ""},
	})
}

func TestDecodeSnapshotChunkRejects(t *testing.T) {
	valid := decoders[8].valid(t)
	e := func(edit func(doc map[string]any)) []byte { return edited(t, valid, edit) }
	runRejections(t, wire.DecodeSnapshotChunk, []rejection{
		{"rev negative", e(func(d map[string]any) { d["rev"] = -1 }), wire.ErrInvalid, "rev", ""},
		{"count 0", e(func(d map[string]any) { d["count"] = 0 }), wire.ErrInvalid, "count", ""},
		{"count too big", e(func(d map[string]any) { d["count"] = wire.MaxChunks + 1 }), wire.ErrInvalid, "count", ""},
		{"index = count", e(func(d map[string]any) { d["index"] = 1 }), wire.ErrInvalid, "index", ""},
		{"index negative", e(func(d map[string]any) { d["index"] = -1 }), wire.ErrInvalid, "index", ""},
		{"data empty", e(func(d map[string]any) { d["data"] = "" }), wire.ErrInvalid, "data", "empty"},
		{"data not base64", e(func(d map[string]any) { d["data"] = "not base64!" }), wire.ErrInvalid, "", ""},
		{"data too long", e(func(d map[string]any) { d["data"] = make([]byte, wire.MaxChunkData+1) }), wire.ErrInvalid, "data", ""},
		{"sha256 missing", e(func(d map[string]any) { delete(d, "sha256") }), wire.ErrInvalid, "sha256", ""},
	})
}

func TestDecodeCatchUp(t *testing.T) {
	entryMsg, chunkMsg := decoders[7].valid(t), decoders[8].valid(t)
	got, err := wire.DecodeCatchUp(entryMsg)
	if _, ok := got.(wire.JournalEntry); err != nil || !ok {
		t.Errorf("entry: got %T, %v; want a wire.JournalEntry", got, err)
	}
	got, err = wire.DecodeCatchUp(chunkMsg)
	if _, ok := got.(wire.SnapshotChunk); err != nil || !ok {
		t.Errorf("chunk: got %T, %v; want a wire.SnapshotChunk", got, err)
	}
	_, err = wire.DecodeCatchUp([]byte(`{"v":1,"op":`))
	wantMessageError(t, err, wire.ErrMalformed, "", "")
	_, err = wire.DecodeCatchUp(bytes.Repeat([]byte(" "), wire.MaxPayload+1))
	wantMessageError(t, err, wire.ErrTooLarge, "", "")
	// A chunk with an op is an entry, and an invalid one.
	_, err = wire.DecodeCatchUp(insert(chunkMsg, `"op":"member_put",`))
	wantMessageError(t, err, wire.ErrMalformed, "", "JournalEntry")
}

// TestJournalEntryJSON pins the JSON form of each op's payload.
func TestJournalEntryJSON(t *testing.T) {
	const head = `{"v":1,"centre":"lhr-01","rev":42,"time":"2026-11-04T10:00:00+05:00",`
	tests := []struct {
		op   wire.Op
		want string
	}{
		{wire.OpMemberPut, `"op":"member_put","member":{"id":"m-001","name":"Ayesha Khan","status":"active","plan":"day",` +
			`"valid_from":"2026-11-01","valid_until":"2026-11-30","seats":{"kind":"zones","zones":["A","B"]}}}`},
		{wire.OpCardPut, `"op":"card_put","card":{"uid":"04A1B2C3D4E5F6","member":"m-001","revoked":false}}`},
		{wire.OpPlanPut, `"op":"plan_put","plan":{"id":"night","name":"Night shift","days":["mon","fri"],` +
			`"windows":[{"start":"20:00","end":"06:00"}],"grace_days":3,"price_pkr":3000}}`},
		{wire.OpCardRevoke, `"op":"card_revoke","id":"04A1B2C3D4E5F6"}`},
		{wire.OpMemberDelete, `"op":"member_delete","id":"m-001"}`},
		{wire.OpPlanDelete, `"op":"plan_delete","id":"m-001"}`},
		{wire.OpSuspend, `"op":"suspend","id":"m-001"}`},
		{wire.OpResume, `"op":"resume","id":"m-001"}`},
	}
	if len(tests) != len(wire.Ops()) {
		t.Fatalf("%d ops tested, want all %d", len(tests), len(wire.Ops()))
	}
	for _, tt := range tests {
		t.Run(string(tt.op), func(t *testing.T) {
			e := entry(tt.op)
			got := string(mustEncode(t, e))
			if got != head+tt.want {
				t.Errorf("got  %s\nwant %s", got, head+tt.want)
			}
			back, err := wire.DecodeJournalEntry([]byte(got))
			if err != nil {
				t.Fatal(err)
			}
			if g, w := sprint(back.Member)+sprint(back.Card)+sprint(back.Plan)+back.ID, sprint(e.Member)+sprint(e.Card)+sprint(e.Plan)+e.ID; g != w {
				t.Errorf("payload: got %s, want %s", g, w)
			}
		})
	}
}

// TestKeysAreSnakeCase keeps the wire's keys in one style: a Go field
// added without a json tag would otherwise go out as "FieldName".
func TestKeysAreSnakeCase(t *testing.T) {
	for _, d := range decoders {
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, x := range v {
					if k != strings.ToLower(k) || strings.ContainsAny(k, " -") {
						t.Errorf("%s: key %s.%s is not snake_case", d.name, path, k)
					}
					walk(path+"."+k, x)
				}
			case []any:
				for _, x := range v {
					walk(path+"[]", x)
				}
			}
		}
		var doc any
		if err := json.Unmarshal(d.valid(t), &doc); err != nil {
			t.Fatal(err)
		}
		walk(d.name, doc)
	}
}

// TestValidateMatchesDecode: a value that Validate accepts survives
// Encode and decode unchanged, for every op of the journal.
func TestValidateMatchesDecode(t *testing.T) {
	for _, op := range wire.Ops() {
		e := entry(op)
		mustSign(t, hqKey, &e)
		got, err := wire.DecodeJournalEntry(mustEncode(t, e))
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		if !reflect.DeepEqual(mustEncode(t, got), mustEncode(t, e)) {
			t.Errorf("%s: re-encoding differs", op)
		}
	}
}

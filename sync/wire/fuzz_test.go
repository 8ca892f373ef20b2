package wire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/pkfreelance/seatgate/sync/wire"
)

// fuzzDecode checks a decoder on arbitrary input: it never panics; every
// error is a *MessageError of one of the four kinds; anything it accepts
// encodes to bytes that it accepts again, as the same value, which
// encodes to the same bytes; and Verify of an accepted signed message
// does not panic either.
func fuzzDecode[T any](f *testing.F, decode func([]byte) (T, error), seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
		for _, mutate := range []func([]byte) []byte{
			func(b []byte) []byte { return b[:len(b)/2] },
			func(b []byte) []byte { return insert(b, `"v":1,`) },
			func(b []byte) []byte { return bytes.Replace(b, []byte(`"v":1`), []byte(`"v":2`), 1) },
			func(b []byte) []byte { return bytes.Replace(b, []byte(`"v":1`), []byte(`"V":1`), 1) },
		} {
			f.Add(mutate(bytes.Clone(s)))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := decode(in)
		if err != nil {
			var me *wire.MessageError
			if !errors.As(err, &me) {
				t.Fatalf("error %v (%T) is not a *wire.MessageError", err, err)
			}
			switch me.Kind {
			case wire.ErrTooLarge, wire.ErrMalformed, wire.ErrVersion, wire.ErrInvalid:
			default:
				t.Fatalf("error %v has kind %v", err, me.Kind)
			}
			return
		}
		enc, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("accepted %q, but encoding it failed: %v", in, err)
		}
		if len(enc) > wire.MaxPayload {
			return // escaping ('<' → \u003c) can grow a message near the limit past it
		}
		again, err := decode(enc)
		if err != nil {
			t.Fatalf("accepted %q, but not its encoding %s: %v", in, enc, err)
		}
		if !reflect.DeepEqual(v, again) {
			t.Fatalf("decoded %q as %+v, its encoding %s as %+v", in, v, enc, again)
		}
		if enc2, _ := json.Marshal(again); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not stable:\n%s\n%s", enc, enc2)
		}
		if s, ok := any(&v).(wire.Signable); ok {
			_ = wire.Verify(pub(hqKey), s)
		}
	})
}

func signedSeed(f *testing.F, m wire.Signable) []byte {
	mustSign(f, hqKey, m)
	return mustEncode(f, m)
}

func FuzzDecodeEventBatch(f *testing.F) {
	b1, b2 := batch(f, 1, 3), batch(f, 101, 102)
	b2.Events[0].Since = at("2026-11-04 08:00:00")
	b2.Events[1].Time = b2.Events[1].Time.UTC()
	fuzzDecode(f, wire.DecodeEventBatch, mustEncode(f, b1), signedSeed(f, &b2),
		[]byte(`{"v":1,"centre":"a","gateway":"b","boot":1,"first":1,"last":1,"prev_hash":"`+wire.GenesisHash+
			`","events":[{"seq":1,"time":"0001-01-01T05:00:00+05:00","kind":"x","hash":"`+wire.GenesisHash+`","since":"2026-11-04T10:00:00+00:00"}]}`))
}

func FuzzDecodeBirth(f *testing.F) {
	b := birth()
	fuzzDecode(f, wire.DecodeBirth, signedSeed(f, &b))
}

func FuzzDecodeStatus(f *testing.F) {
	fuzzDecode(f, wire.DecodeStatus, mustEncode(f, status()), []byte(`{"v":1,"state":"offline","boot":18446744073709551615}`))
}

func FuzzDecodeHealth(f *testing.F) {
	fuzzDecode(f, wire.DecodeHealth, mustEncode(f, health()))
}

func FuzzDecodeOccupancy(f *testing.F) {
	o := occupancy()
	fuzzDecode(f, wire.DecodeOccupancy, mustEncode(f, occupancy()), signedSeed(f, &o),
		[]byte(`{"v":1,"time":"2026-11-04T10:00:00Z","seats":[]}`), []byte(`{"v":1,"time":"2026-11-04T10:00:00Z","seats":null}`))
}

func FuzzDecodeJournalWant(f *testing.F) {
	fuzzDecode(f, wire.DecodeJournalWant, mustEncode(f, want()))
}

func FuzzDecodeAck(f *testing.F) {
	a := ack()
	fuzzDecode(f, wire.DecodeAck, signedSeed(f, &a), []byte(`{"v":1,"centre":"a","gateway":"b","boot":1,"upto":1,"sig":""}`))
}

func FuzzDecodeJournalEntry(f *testing.F) {
	var seeds [][]byte
	for _, op := range wire.Ops() {
		e := entry(op)
		seeds = append(seeds, signedSeed(f, &e))
	}
	fuzzDecode(f, wire.DecodeJournalEntry, seeds...)
}

func FuzzDecodeSnapshotChunk(f *testing.F) {
	c := chunk()
	fuzzDecode(f, wire.DecodeSnapshotChunk, signedSeed(f, &c))
}

func FuzzDecodeCatchUp(f *testing.F) {
	c, e := chunk(), entry(wire.OpPlanPut)
	fuzzDecode(f, wire.DecodeCatchUp, signedSeed(f, &c), signedSeed(f, &e))
}

// FuzzParseTopic: a topic that parses is rebuilt exactly by Topics, and
// maps to a NATS subject and back.
func FuzzParseTopic(f *testing.F) {
	tp := wire.Topics{Centre: "lhr-01", Gateway: "gw-1"}
	for _, s := range []string{tp.Events(), tp.JournalWant(), tp.Journal(), tp.JournalCatchUp(), "seats/v2/a/b/ack", "seats/v1/a//ack"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, topic string) {
		subject, serr := wire.NATSSubject(topic)
		if serr == nil {
			back, err := wire.MQTTTopic(subject)
			if err != nil || back != topic {
				t.Fatalf("NATSSubject(%q) = %q, MQTTTopic of that = %q, %v", topic, subject, back, err)
			}
		}
		c, g, kind, err := wire.ParseTopic(topic)
		if err != nil {
			if !errors.Is(err, wire.ErrTopic) {
				t.Fatalf("ParseTopic(%q): %v is not ErrTopic", topic, err)
			}
			return
		}
		if serr != nil {
			t.Fatalf("ParseTopic accepts %q, NATSSubject refuses it: %v", topic, serr)
		}
		tp := wire.Topics{Centre: c, Gateway: g}
		rebuilt := map[string]string{
			wire.KindEvents: tp.Events(), wire.KindBirth: tp.Birth(), wire.KindStatus: tp.Status(),
			wire.KindHealth: tp.Health(), wire.KindOccupancy: tp.Occupancy(), wire.KindJournalWant: tp.JournalWant(),
			wire.KindAck: tp.Ack(), wire.KindJournal: tp.JournalCatchUp(),
		}[kind]
		if g == "" {
			rebuilt = tp.Journal()
		} else if err := tp.Validate(); err != nil {
			t.Fatalf("ParseTopic(%q) gave IDs that Validate refuses: %v", topic, err)
		}
		if rebuilt != topic || !strings.HasPrefix(topic, wire.Prefix+"/") {
			t.Fatalf("ParseTopic(%q) = %q, %q, %q, which rebuilds %q", topic, c, g, kind, rebuilt)
		}
	})
}

func FuzzDecodeFirmwareAssign(f *testing.F) {
	a := firmwareAssign()
	fuzzDecode(f, wire.DecodeFirmwareAssign, signedSeed(f, &a), mustEncode(f, firmwareAssign()))
}

func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{"02:00-05:00", "22:00-06:00", "00:00-00:00", "24:00-01:00", "2:00-5:00", "+1:00-02:00", "01:00--0:00", "-1:00-02:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, end, err := wire.ParseWindow(s)
		if err != nil {
			return
		}
		if start == end || start < 0 || end < 0 || start >= 24*60 || end >= 24*60 {
			t.Fatalf("ParseWindow(%q) = %d, %d", s, start, end)
		}
		if s2 := fmt.Sprintf("%02d:%02d-%02d:%02d", start/60, start%60, end/60, end%60); s2 != s {
			t.Fatalf("ParseWindow(%q) reads as %q", s, s2)
		}
	})
}

package wire

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
)

// The decoders read one inbound message strictly. In order, each rejects:
//
//  1. more than MaxPayload bytes (ErrTooLarge);
//  2. anything but one JSON object, alone (ErrMalformed);
//  3. "v" missing or not 1 (ErrVersion), checked before the rest so that
//     a message of another version is reported as such;
//  4. a key that is unknown, given twice, or spelled in another case
//     ("V", "Centre": encoding/json would accept them) and values of the
//     wrong JSON type (ErrMalformed);
//  5. values that break the message's rules, as its Validate method says
//     (ErrInvalid).
//
// Errors are *MessageError. A decoded message is normalised so that it
// encodes (Canonical, Encode) to the same bytes and decodes to the same
// value again: a zero time is the zero time.Time and a time at offset
// zero is in time.UTC. Signatures are not checked: call Verify.

// DecodeEventBatch decodes an EventBatch (topic Events).
func DecodeEventBatch(b []byte) (EventBatch, error) {
	return decode(b, func(m *EventBatch) {
		for i := range m.Events {
			m.Events[i].Time = normTime(m.Events[i].Time)
			m.Events[i].Since = normTime(m.Events[i].Since)
		}
	})
}

// DecodeBirth decodes a Birth (topic Birth).
func DecodeBirth(b []byte) (Birth, error) {
	return decode(b, func(m *Birth) { m.StartedAt = normTime(m.StartedAt) })
}

// DecodeStatus decodes a Status (topic Status).
func DecodeStatus(b []byte) (Status, error) { return decode[Status](b, nil) }

// DecodeHealth decodes a Health (topic Health).
func DecodeHealth(b []byte) (Health, error) {
	return decode(b, func(m *Health) { m.Time = normTime(m.Time) })
}

// DecodeOccupancy decodes an Occupancy (topic Occupancy).
func DecodeOccupancy(b []byte) (Occupancy, error) {
	return decode(b, func(m *Occupancy) {
		m.Time = normTime(m.Time)
		for i := range m.Seats {
			m.Seats[i].Since = normTime(m.Seats[i].Since)
		}
	})
}

// DecodeJournalWant decodes a JournalWant (topic JournalWant).
func DecodeJournalWant(b []byte) (JournalWant, error) { return decode[JournalWant](b, nil) }

// DecodeAck decodes an Ack (topic Ack).
func DecodeAck(b []byte) (Ack, error) { return decode[Ack](b, nil) }

// DecodeJournalEntry decodes a JournalEntry (topic Journal, or
// JournalCatchUp: see DecodeCatchUp).
func DecodeJournalEntry(b []byte) (JournalEntry, error) {
	return decode(b, func(m *JournalEntry) { m.Time = normTime(m.Time) })
}

// DecodeSnapshotChunk decodes a SnapshotChunk (topic JournalCatchUp: see
// DecodeCatchUp).
func DecodeSnapshotChunk(b []byte) (SnapshotChunk, error) { return decode[SnapshotChunk](b, nil) }

// DecodeCatchUp decodes a message of a gateway's JournalCatchUp topic: a
// JournalEntry when it has an "op" key, else a SnapshotChunk. The result
// is a JournalEntry or a SnapshotChunk (not a pointer).
func DecodeCatchUp(b []byte) (any, error) {
	const msg = "catch-up"
	if len(b) > MaxPayload {
		return nil, tooLarge(msg, len(b))
	}
	var probe struct {
		Op json.RawMessage `json:"op"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, malformed(msg, err)
	}
	if probe.Op != nil {
		return DecodeJournalEntry(b)
	}
	return DecodeSnapshotChunk(b)
}

// decode reads b into a T as described above; normalize, when not nil,
// runs before Validate.
func decode[T interface{ Validate() error }](b []byte, normalize func(*T)) (T, error) {
	var zero, v T
	msg := typeName(v)
	if len(b) > MaxPayload {
		return zero, tooLarge(msg, len(b))
	}
	if trimmed := bytes.TrimLeft(b, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return zero, &MessageError{Message: msg, Kind: ErrMalformed, Reason: "not a JSON object"}
	}
	var probe struct {
		V json.RawMessage `json:"v"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return zero, malformed(msg, err)
	}
	switch s := string(probe.V); s {
	case "1":
	case "", "null":
		return zero, &MessageError{Message: msg, Kind: ErrVersion, Field: "v", Reason: "missing, want 1"}
	default:
		return zero, &MessageError{Message: msg, Kind: ErrVersion, Field: "v", Reason: fmt.Sprintf("version %.20s, want 1", s)}
	}
	if err := checkKeys(b); err != nil {
		return zero, &MessageError{Message: msg, Kind: ErrMalformed, Reason: err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		var me *MessageError
		if errors.As(err, &me) {
			return zero, me
		}
		return zero, malformed(msg, err)
	}
	if normalize != nil {
		normalize(&v)
	}
	if err := v.Validate(); err != nil {
		return zero, err
	}
	return v, nil
}

func tooLarge(msg string, n int) *MessageError {
	return &MessageError{Message: msg, Kind: ErrTooLarge, Reason: fmt.Sprintf("%d bytes, limit %d", n, MaxPayload)}
}

// malformed classifies an error of encoding/json: bad syntax, a value of
// the wrong JSON type or an unknown key is ErrMalformed; a value of the
// right type that its Go type refuses (a time, date or time of day that
// does not parse) is ErrInvalid.
func malformed(msg string, err error) *MessageError {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		return &MessageError{Message: msg, Kind: ErrMalformed, Reason: fmt.Sprintf("at byte %d: %v", syn.Offset, syn)}
	case errors.As(err, &typ):
		return &MessageError{Message: msg, Kind: ErrMalformed, Field: typ.Field,
			Reason: fmt.Sprintf("want %s, got JSON %s", typ.Type, typ.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), strings.HasPrefix(err.Error(), "json: unknown field"):
		return &MessageError{Message: msg, Kind: ErrMalformed, Reason: strings.TrimPrefix(err.Error(), "json: ")}
	}
	return &MessageError{Message: msg, Kind: ErrInvalid, Reason: err.Error()}
}

// normTime returns the zero time for any instant that is zero, and a time
// at offset zero in time.UTC: both encode the same either way, and
// decode to these.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	if _, off := t.Zone(); off == 0 {
		return t.UTC()
	}
	return t
}

// typeName is the name of v's type, through a pointer.
func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "nil"
	}
	return t.Name()
}

// keys holds every key of every message of protocol v1, nested ones
// included, exactly as spelled.
var keys = jsonKeys(
	EventBatch{}, Birth{}, Status{}, Health{}, Occupancy{}, JournalWant{}, Ack{}, journalEntryJSON{}, SnapshotChunk{},
	FirmwareAssign{},
)

// jsonKeys collects the JSON keys of the struct types of vs and of the
// struct types they contain, except those that encode themselves.
func jsonKeys(vs ...any) map[string]bool {
	out := make(map[string]bool)
	seen := make(map[reflect.Type]bool)
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] || selfEncoding(t) {
			return
		}
		seen[t] = true
		for f := range t.Fields() {
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case name == "-":
				continue
			case name == "" && f.Anonymous:
				walk(f.Type) // promoted fields
				continue
			case name == "":
				name = f.Name
			}
			out[name] = true
			walk(f.Type)
		}
	}
	for _, v := range vs {
		walk(reflect.TypeOf(v))
	}
	return out
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

func selfEncoding(t reflect.Type) bool {
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler)
}

// checkKeys reports the first object key in b that is not in keys
// (unknown, or a known key in another case) or that its object holds
// twice. b must be valid JSON (decode has checked it): the walk only
// follows the structure, without allocating for keys free of escapes.
func checkKeys(b []byte) error {
	type frame struct {
		object bool
		start  int // this object's keys are seen[start:]
	}
	var (
		stack     []frame
		seen      [][]byte
		expectKey bool
	)
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{':
			stack = append(stack, frame{object: true, start: len(seen)})
			expectKey = true
		case '[':
			stack = append(stack, frame{})
			expectKey = false
		case '}', ']':
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if top.object {
				seen = seen[:top.start]
			}
			expectKey = false
		case ',':
			expectKey = stack[len(stack)-1].object
		case '"':
			j := i + 1
			for b[j] != '"' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			if expectKey {
				key := b[i+1 : j]
				if bytes.IndexByte(key, '\\') >= 0 {
					var k string
					if err := json.Unmarshal(b[i:j+1], &k); err != nil {
						return err
					}
					key = []byte(k)
				}
				if !keys[string(key)] {
					return fmt.Errorf("unknown key %.40q", key)
				}
				for _, k := range seen[stack[len(stack)-1].start:] {
					if bytes.Equal(k, key) {
						return fmt.Errorf("key %q given twice", key)
					}
				}
				seen = append(seen, key)
				expectKey = false
			}
			i = j
		}
	}
	return nil
}

package wire

import (
	"errors"
	"fmt"
)

// The kinds of decoding failure. Every error a decoder or Validate returns
// is a *MessageError whose Kind is one of these, so errors.Is(err,
// ErrInvalid) and friends work, and callers can count rejections by kind.
var (
	// ErrTooLarge: the payload is longer than MaxPayload bytes.
	ErrTooLarge = errors.New("too large")
	// ErrMalformed: not one JSON object, or a key that is unknown,
	// duplicated or spelled in another case, or a value of the wrong JSON
	// type.
	ErrMalformed = errors.New("malformed")
	// ErrVersion: "v" is missing or is not 1.
	ErrVersion = errors.New("unsupported version")
	// ErrInvalid: well-formed JSON of the right version whose values break
	// the rules of the message (required field missing, bad ID, batch
	// inconsistent, …).
	ErrInvalid = errors.New("invalid")
)

// Signature failures, returned (wrapped) by Verify.
var (
	// ErrNoSignature: the message has no sig.
	ErrNoSignature = errors.New("no signature")
	// ErrBadSignature: sig is not a signature of the message's canonical
	// bytes by the given key (wrong key, tampered field, or not base64 of
	// 64 bytes).
	ErrBadSignature = errors.New("bad signature")
)

// ErrTopic is wrapped by every error of ParseTopic, NATSSubject and
// MQTTTopic: the topic or subject is not one protocol v1 uses.
var ErrTopic = errors.New("not a seats/v1 topic")

// MessageError says why a message was rejected: which message, which kind
// of failure (one of ErrTooLarge, ErrMalformed, ErrVersion, ErrInvalid),
// which field (a JSON path such as "events[3].hash"; empty when the failure
// is not about one field) and what is wrong with it.
type MessageError struct {
	Message string // Go type name: "EventBatch", "Ack", …
	Kind    error
	Field   string
	Reason  string
}

func (e *MessageError) Error() string {
	s := "wire: " + e.Message + ": " + e.Kind.Error()
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Unwrap returns Kind.
func (e *MessageError) Unwrap() error { return e.Kind }

// invalid returns an ErrInvalid *MessageError.
func invalid(msg, field, format string, args ...any) *MessageError {
	return &MessageError{Message: msg, Kind: ErrInvalid, Field: field, Reason: fmt.Sprintf(format, args...)}
}

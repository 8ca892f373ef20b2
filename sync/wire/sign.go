package wire

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Signable is a message that carries a signature: *EventBatch, *Birth,
// *Occupancy (optionally signed), *Ack, *JournalEntry and *SnapshotChunk.
// Who signs what: the device key signs EventBatch, Birth and Occupancy;
// the HQ key signs Ack, JournalEntry and SnapshotChunk.
type Signable interface {
	Validate() error
	unsigned() any     // a copy of the message with Sig emptied
	sigField() *string // where the signature goes
}

var (
	_ Signable = (*EventBatch)(nil)
	_ Signable = (*Birth)(nil)
	_ Signable = (*Occupancy)(nil)
	_ Signable = (*Ack)(nil)
	_ Signable = (*JournalEntry)(nil)
	_ Signable = (*SnapshotChunk)(nil)
)

func (m EventBatch) unsigned() any    { m.Sig = ""; return m }
func (m Birth) unsigned() any         { m.Sig = ""; return m }
func (m Occupancy) unsigned() any     { m.Sig = ""; return m }
func (m Ack) unsigned() any           { m.Sig = ""; return m }
func (m JournalEntry) unsigned() any  { m.Sig = ""; return m }
func (m SnapshotChunk) unsigned() any { m.Sig = ""; return m }

func (m *EventBatch) sigField() *string    { return &m.Sig }
func (m *Birth) sigField() *string         { return &m.Sig }
func (m *Occupancy) sigField() *string     { return &m.Sig }
func (m *Ack) sigField() *string           { return &m.Sig }
func (m *JournalEntry) sigField() *string  { return &m.Sig }
func (m *SnapshotChunk) sigField() *string { return &m.Sig }

// Canonical returns the bytes a signature covers: encoding/json's
// encoding (json.Marshal) of v with its Sig emptied, which leaves "sig"
// out (it is omitempty everywhere). v may be a message or a pointer to
// one; any other value is simply marshalled. The encoding is deterministic:
//
//   - one JSON object, keys in the order of the Go struct's fields (the
//     order of the examples in docs/protocol.md), no white space;
//   - omitempty and omitzero fields are left out when empty or zero;
//   - strings escape '"', '\\' and control characters (\n, \r, \t, else
//     \u00XX), '<', '>' and '&' as \u003c, \u003e, \u0026, and U+2028 and
//     U+2029 as \u2028 and \u2029; invalid UTF-8 becomes U+FFFD;
//   - integers in decimal; booleans true and false;
//   - times in RFC 3339 with the fraction of the second trimmed of
//     trailing zeros (none when zero), in the offset they carry ("Z" for
//     UTC);
//   - bytes (SnapshotChunk.Data) in standard base64 with padding.
//
// A decoded message re-encodes to the same bytes however its sender
// spaced or escaped them, so a receiver verifies by re-encoding what it
// decoded.
func Canonical(v any) ([]byte, error) {
	if m, ok := v.(interface{ unsigned() any }); ok {
		v = m.unsigned()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("wire: canonical %T: %w", v, err)
	}
	return b, nil
}

// Sign signs msg with priv and sets its Sig to the standard base64
// (padded) of the 64-byte ed25519 signature of Canonical(msg). It
// refuses a message its decoder would reject: one that fails Validate
// (the *MessageError is returned) or that would be longer than
// MaxPayload once signed (ErrTooLarge).
func Sign(priv ed25519.PrivateKey, msg Signable) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("wire: sign: private key is %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	u := msg.unsigned()
	if err := u.(interface{ Validate() error }).Validate(); err != nil {
		return err
	}
	b, err := Canonical(u)
	if err != nil {
		return err
	}
	const sigOverhead = len(`,"sig":""`) + sigLen
	if len(b)+sigOverhead > MaxPayload {
		return &MessageError{Message: typeName(msg), Kind: ErrTooLarge,
			Reason: fmt.Sprintf("%d bytes signed, limit %d", len(b)+sigOverhead, MaxPayload)}
	}
	*msg.sigField() = base64.StdEncoding.EncodeToString(ed25519.Sign(priv, b))
	return nil
}

// sigLen is the length of a signature in standard base64.
const sigLen = (ed25519.SignatureSize + 2) / 3 * 4

// Verify checks that msg's Sig is a signature of Canonical(msg) by pub.
// Errors wrap ErrNoSignature when Sig is empty and ErrBadSignature when it
// does not verify (wrong key, changed field, or not base64 of 64 bytes).
// Verify does not check anything else: decode (which validates) first,
// and check that the message is for whom it says (Ack.Gateway, …).
func Verify(pub ed25519.PublicKey, msg Signable) error {
	name := typeName(msg)
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("wire: verify %s: public key is %d bytes, want %d", name, len(pub), ed25519.PublicKeySize)
	}
	s := *msg.sigField()
	if s == "" {
		return fmt.Errorf("wire: verify %s: %w", name, ErrNoSignature)
	}
	sig, err := decodeSig(s)
	if err != nil {
		return fmt.Errorf("wire: verify %s: %w: %s", name, ErrBadSignature, err)
	}
	b, err := Canonical(msg)
	if err != nil {
		return fmt.Errorf("wire: verify %s: %w", name, err)
	}
	if !ed25519.Verify(pub, b, sig) {
		return fmt.Errorf("wire: verify %s: %w (key %s)", name, ErrBadSignature, KeyID(pub))
	}
	return nil
}

// decodeSig decodes a signature: strict standard base64 of exactly 64
// bytes.
func decodeSig(s string) ([]byte, error) {
	if len(s) != sigLen {
		return nil, fmt.Errorf("%d characters, want %d (base64 of %d bytes)", len(s), sigLen, ed25519.SignatureSize)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not standard base64: %v", err)
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%d bytes, want %d", len(sig), ed25519.SignatureSize)
	}
	return sig, nil
}

// KeyID names a public key: the hex of the first 8 bytes of its SHA-256,
// 16 characters.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Encode validates msg and marshals it (signature included), refusing
// anything longer than MaxPayload (ErrTooLarge): the bytes to publish.
// msg is a message of this package or a pointer to one.
func Encode(msg interface{ Validate() error }) ([]byte, error) {
	if err := msg.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("wire: encode %s: %w", typeName(msg), err)
	}
	if len(b) > MaxPayload {
		return nil, &MessageError{Message: typeName(msg), Kind: ErrTooLarge,
			Reason: fmt.Sprintf("%d bytes, limit %d", len(b), MaxPayload)}
	}
	return b, nil
}

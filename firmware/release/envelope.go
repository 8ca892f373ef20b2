package release

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Size limits of the two documents, envelope included. A reader stops at
// these; signing refuses anything longer. A manifest of a 256 MiB image at
// 256 KiB chunks (1024 chunk hashes) takes about 70 KiB.
const (
	MaxRootSize     = 64 << 10
	MaxManifestSize = 1 << 20
)

// maxSignatures bounds the signatures of one envelope, and so the work of
// verifying one.
const maxSignatures = 32

// envelope is the JSON form of a signed document. Signed holds the
// canonical bytes of the document: encoding/json's encoding of its Go
// struct, which is what every signature covers.
type envelope struct {
	Signed     json.RawMessage `json:"signed"`
	Signatures []signature     `json:"signatures"`
}

type signature struct {
	KeyID string `json:"keyid"` // KeyID of the signing key
	Sig   string `json:"sig"`   // standard base64 of the 64-byte signature
}

// decoded is a document read from an envelope: its value, the canonical
// bytes its signatures cover, and the signatures.
type decoded[T any] struct {
	doc       T
	canonical []byte
	sigs      []keySig
}

type keySig struct {
	keyID string
	sig   []byte
}

// decodeEnvelope reads a signed document of type T from b, strictly. It
// refuses, as ErrMalformed:
//
//   - more than limit bytes;
//   - anything but one JSON object with exactly the keys "signed" and
//     "signatures", each signature {"keyid": 16 hex digits, "sig": base64
//     of 64 bytes}, at most maxSignatures of them;
//   - a "signed" object whose "type" is not wantType, with a key T does
//     not have, or a value of the wrong JSON type;
//   - a document that fails validate;
//   - a document that is not in canonical form once white space is
//     removed: keys in the order of the Go struct, each once, spelled
//     exactly; numbers, times and strings as encoding/json writes them;
//     omitted fields omitted.
//
// So the bytes a signature is checked against are the bytes received,
// less white space, and every JSON reader sees the same document in them.
// Signatures are not verified.
func decodeEnvelope[T any](b []byte, doc string, limit int, wantType string, validate func(*T) error) (decoded[T], error) {
	var zero decoded[T]
	if len(b) > limit {
		return zero, malformed(doc, "", "%d bytes, limit %d", len(b), limit)
	}
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return zero, malformed(doc, "", "not a JSON object")
	}
	var env envelope
	if err := strictUnmarshal(b, &env); err != nil {
		return zero, malformed(doc, "envelope", "%v", err)
	}
	if env.Signed == nil {
		return zero, malformed(doc, "signed", "missing")
	}
	sigs, err := decodeSignatures(doc, env.Signatures)
	if err != nil {
		return zero, err
	}

	var probe struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(env.Signed, &probe); err != nil {
		return zero, malformed(doc, "signed", "%v", err)
	}
	if probe.Type != wantType {
		return zero, malformed(doc, "type", "%.40q, want %q", probe.Type, wantType)
	}
	var v T
	if err := strictUnmarshal(env.Signed, &v); err != nil {
		return zero, malformed(doc, "signed", "%v", err)
	}
	if err := validate(&v); err != nil {
		return zero, err
	}
	canonical, err := json.Marshal(v)
	if err != nil {
		return zero, malformed(doc, "signed", "%v", err)
	}
	if err := checkCanonical(b, envelope{Signed: canonical, Signatures: env.Signatures}); err != nil {
		return zero, malformed(doc, "", "%v", err)
	}
	return decoded[T]{doc: v, canonical: canonical, sigs: sigs}, nil
}

// strictUnmarshal decodes the one JSON value in b into v, refusing
// unknown keys and trailing data.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON object")
	}
	return nil
}

func decodeSignatures(doc string, in []signature) ([]keySig, error) {
	if len(in) > maxSignatures {
		return nil, malformed(doc, "signatures", "%d, limit %d", len(in), maxSignatures)
	}
	out := make([]keySig, 0, len(in))
	for i, s := range in {
		f := fmt.Sprintf("signatures[%d]", i)
		if !isHex(s.KeyID, 16) {
			return nil, malformed(doc, f+".keyid", "%.40q is not 16 lower-case hex digits", s.KeyID)
		}
		sig, err := base64.StdEncoding.Strict().DecodeString(s.Sig)
		if err != nil || len(sig) != ed25519.SignatureSize {
			return nil, malformed(doc, f+".sig", "not standard base64 of %d bytes", ed25519.SignatureSize)
		}
		out = append(out, keySig{keyID: s.KeyID, sig: sig})
	}
	return out, nil
}

// checkCanonical compares b, less white space, with the encoding of want.
// '<', '>', '&', U+2028 and U+2029 may be escaped or not in b (tools such
// as jq unescape them); anything else must be as encoding/json writes it.
func checkCanonical(b []byte, want envelope) error {
	w, err := json.Marshal(want)
	if err != nil {
		return err
	}
	var compact, got bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		return err
	}
	json.HTMLEscape(&got, compact.Bytes())
	g := got.Bytes()
	if bytes.Equal(g, w) {
		return nil
	}
	i := 0
	for i < len(g) && i < len(w) && g[i] == w[i] {
		i++
	}
	return fmt.Errorf("not in canonical form: at byte %d without white space, %q where encoding/json writes %q"+
		" (keys must be in struct order, given once, spelled exactly)", i, snippet(g, i), snippet(w, i))
}

func snippet(b []byte, i int) string {
	return string(b[i:min(len(b), i+24)])
}

// encodeEnvelope signs canonical with each key (once per key) and returns
// the envelope, refusing one longer than limit.
func encodeEnvelope(doc string, canonical []byte, limit int, keys []ed25519.PrivateKey) ([]byte, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("release: sign %s: no key", doc)
	}
	env := envelope{Signed: canonical}
	for i, k := range keys {
		if len(k) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("release: sign %s: key %d is %d bytes, want %d", doc, i, len(k), ed25519.PrivateKeySize)
		}
		id := KeyID(k.Public().(ed25519.PublicKey))
		if slices.ContainsFunc(env.Signatures, func(s signature) bool { return s.KeyID == id }) {
			continue
		}
		sig := ed25519.Sign(k, canonical)
		env.Signatures = append(env.Signatures, signature{KeyID: id, Sig: base64.StdEncoding.EncodeToString(sig)})
	}
	if len(env.Signatures) > maxSignatures {
		return nil, fmt.Errorf("release: sign %s: %d keys, limit %d", doc, len(env.Signatures), maxSignatures)
	}
	b, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("release: sign %s: %w", doc, err)
	}
	if len(b) > limit {
		return nil, fmt.Errorf("release: sign %s: %w: %d bytes signed, limit %d", doc, ErrMalformed, len(b), limit)
	}
	return b, nil
}

// signedBy returns the IDs of the keys of ring that signed msg, each once
// however often it signed, and the IDs of keys of ring whose signature
// did not verify. Signatures by keys not in ring are ignored.
func signedBy(msg []byte, sigs []keySig, ring keyRing) (good, bad []string) {
	for _, s := range sigs {
		k, ok := ring[s.keyID]
		if !ok || slices.Contains(good, s.keyID) {
			continue
		}
		if ed25519.Verify(k.pub, msg, s.sig) {
			good = append(good, s.keyID)
			bad = slices.DeleteFunc(bad, func(id string) bool { return id == s.keyID })
		} else if !slices.Contains(bad, s.keyID) {
			bad = append(bad, s.keyID)
		}
	}
	return good, bad
}

// isHex reports whether s is n lower-case hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// marshalCanonical returns the canonical bytes of a document: what
// signatures cover.
func marshalCanonical(doc string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("release: sign %s: %w", doc, err)
	}
	return b, nil
}

package wire_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pkfreelance/seatgate/sync/wire"
)

// signables returns one valid, unsigned message of every signed type,
// with the key that signs it.
func signables(t *testing.T) []struct {
	key ed25519.PrivateKey
	msg wire.Signable
} {
	b := batch(t, 101, 103)
	b.Sig = ""
	bi, o, a, c := birth(), occupancy(), ack(), chunk()
	out := []struct {
		key ed25519.PrivateKey
		msg wire.Signable
	}{{deviceKey, &b}, {deviceKey, &bi}, {deviceKey, &o}, {hqKey, &a}, {hqKey, &c}}
	for _, op := range wire.Ops() {
		e := entry(op)
		out = append(out, struct {
			key ed25519.PrivateKey
			msg wire.Signable
		}{hqKey, &e})
	}
	return out
}

// decodeAs decodes b as the type of m.
func decodeAs(b []byte, m wire.Signable) (wire.Signable, error) {
	switch m.(type) {
	case *wire.EventBatch:
		v, err := wire.DecodeEventBatch(b)
		return &v, err
	case *wire.Birth:
		v, err := wire.DecodeBirth(b)
		return &v, err
	case *wire.Occupancy:
		v, err := wire.DecodeOccupancy(b)
		return &v, err
	case *wire.Ack:
		v, err := wire.DecodeAck(b)
		return &v, err
	case *wire.JournalEntry:
		v, err := wire.DecodeJournalEntry(b)
		return &v, err
	case *wire.SnapshotChunk:
		v, err := wire.DecodeSnapshotChunk(b)
		return &v, err
	}
	panic("no decoder")
}

// TestSignVerifyRoundTrip: what the sender signs and encodes, the
// receiver decodes and verifies with the sender's public key, and only
// with it.
func TestSignVerifyRoundTrip(t *testing.T) {
	for _, s := range signables(t) {
		t.Run(sprintType(s.msg), func(t *testing.T) {
			mustSign(t, s.key, s.msg)
			got, err := decodeAs(mustEncode(t, s.msg), s.msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := wire.Verify(pub(s.key), got); err != nil {
				t.Errorf("verify with the signer's key: %v", err)
			}
			if err := wire.Verify(pub(otherKey), got); !errors.Is(err, wire.ErrBadSignature) {
				t.Errorf("verify with another key: got %v, want ErrBadSignature", err)
			}
		})
	}
}

// sprintType names a message for a subtest: "Ack", "JournalEntry/card_put".
func sprintType(m wire.Signable) string {
	name := strings.TrimPrefix(fmt.Sprintf("%T", m), "*wire.")
	if e, ok := m.(*wire.JournalEntry); ok {
		name += "/" + string(e.Op)
	}
	return name
}

func TestVerifyRejectsAck(t *testing.T) {
	signedAck := func() wire.Ack { a := ack(); mustSign(t, hqKey, &a); return a }
	other := signedAck()
	other.Upto = 151
	mustSign(t, hqKey, &other)
	tests := []struct {
		name   string
		key    ed25519.PrivateKey
		change func(a *wire.Ack)
		want   error
	}{
		{"unsigned", hqKey, func(a *wire.Ack) { a.Sig = "" }, wire.ErrNoSignature},
		{"signed by the device, not HQ", hqKey, func(a *wire.Ack) { a.Sig = ""; mustSign(t, deviceKey, a) }, wire.ErrBadSignature},
		{"verified with the wrong key", otherKey, func(*wire.Ack) {}, wire.ErrBadSignature},
		{"one bit of the signature flipped", hqKey, func(a *wire.Ack) {
			sig, _ := base64.StdEncoding.DecodeString(a.Sig)
			sig[10] ^= 0x01
			a.Sig = base64.StdEncoding.EncodeToString(sig)
		}, wire.ErrBadSignature},
		{"signature not base64", hqKey, func(a *wire.Ack) { a.Sig = strings.Repeat("*", 88) }, wire.ErrBadSignature},
		{"signature too short", hqKey, func(a *wire.Ack) { a.Sig = a.Sig[:84] + "==" }, wire.ErrBadSignature},
		{"replayed with a higher upto", hqKey, func(a *wire.Ack) { a.Upto = 10_000 }, wire.ErrBadSignature},
		{"replayed to another gateway", hqKey, func(a *wire.Ack) { a.Gateway = "gw-2" }, wire.ErrBadSignature},
		{"replayed to the same gateway ID in another centre", hqKey, func(a *wire.Ack) { a.Centre = "khi-02" }, wire.ErrBadSignature},
		{"replayed from another boot", hqKey, func(a *wire.Ack) { a.Boot = 8 }, wire.ErrBadSignature},
		{"signature of another ack", hqKey, func(a *wire.Ack) { a.Sig = other.Sig }, wire.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := signedAck()
			tt.change(&a)
			err := wire.Verify(pub(tt.key), &a)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	// The tampered ack also fails after a trip over the wire.
	a := signedAck()
	tampered := bytes.Replace(mustEncode(t, a), []byte(`"upto":150`), []byte(`"upto":999`), 1)
	got, err := wire.DecodeAck(tampered)
	if err != nil {
		t.Fatal(err)
	}
	if err := wire.Verify(pub(hqKey), &got); !errors.Is(err, wire.ErrBadSignature) {
		t.Errorf("tampered on the wire: got %v, want ErrBadSignature", err)
	}
}

func TestVerifyRejectsTamperedBatch(t *testing.T) {
	tests := []struct {
		name   string
		change func(b *wire.EventBatch)
	}{
		{"event moved to another seat", func(b *wire.EventBatch) { b.Events[1].Seat = "B1" }},
		{"deny turned into a checkin", func(b *wire.EventBatch) { b.Events[1].Kind = "checkin" }},
		{"event dropped", func(b *wire.EventBatch) { b.Events = b.Events[:2]; b.Last-- }},
		{"clock marked trusted", func(b *wire.EventBatch) { b.Events[0].ClockTrusted = !b.Events[0].ClockTrusted }},
		{"boot changed", func(b *wire.EventBatch) { b.Boot++ }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := batch(t, 101, 103)
			tt.change(&b)
			if err := wire.Verify(pub(deviceKey), &b); !errors.Is(err, wire.ErrBadSignature) {
				t.Errorf("got %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestSignRefuses(t *testing.T) {
	a := ack()
	a.Upto = 0
	wantMessageError(t, wire.Sign(hqKey, &a), wire.ErrInvalid, "upto", "")
	if a.Sig != "" {
		t.Errorf("refused message got sig %q", a.Sig)
	}
	a = ack()
	a.V = 0
	wantMessageError(t, wire.Sign(hqKey, &a), wire.ErrVersion, "v", "missing")

	a = ack()
	if err := wire.Sign(hqKey[:32], &a); err == nil || a.Sig != "" {
		t.Errorf("short private key: got %v, sig %q; want an error and no sig", err, a.Sig)
	}
	a = ack()
	mustSign(t, hqKey, &a)
	if err := wire.Verify(pub(hqKey)[:31], &a); err == nil || errors.Is(err, wire.ErrBadSignature) {
		t.Errorf("short public key: got %v, want a key error (not a bad signature)", err)
	}
}

// TestResignReplacesSig: signing a signed message signs the message, not
// its old signature.
func TestResignReplacesSig(t *testing.T) {
	a := ack()
	mustSign(t, deviceKey, &a)
	mustSign(t, hqKey, &a)
	if err := wire.Verify(pub(hqKey), &a); err != nil {
		t.Error(err)
	}
}

func TestCanonicalLeavesMessageAlone(t *testing.T) {
	a := ack()
	mustSign(t, hqKey, &a)
	sig := a.Sig
	fromPtr, err := wire.Canonical(&a)
	if err != nil {
		t.Fatal(err)
	}
	fromValue, _ := wire.Canonical(a)
	if a.Sig != sig {
		t.Errorf("Canonical changed Sig to %q", a.Sig)
	}
	if !bytes.Equal(fromPtr, fromValue) || bytes.Contains(fromPtr, []byte("sig")) {
		t.Errorf("pointer %s, value %s: want equal and without sig", fromPtr, fromValue)
	}
}

package wire_test

import (
	"encoding/hex"
	"testing"

	"github.com/pkfreelance/seatgate/sync/wire"
)

// Wire vectors. The hashes and signatures below were computed here and
// checked against an independent implementation (Python hashlib and
// cryptography's Ed25519); a change to any of them is a change of
// protocol v1, not a refactoring.

// Keys of the vectors: ed25519 seeds of 32 bytes 0x01 (device) and 0x02
// (HQ).
const (
	devicePub = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
	hqPub     = "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394"
)

func TestKeyVectors(t *testing.T) {
	tests := []struct{ name, got, want string }{
		{"device public key", hex.EncodeToString(pub(deviceKey)), devicePub},
		{"HQ public key", hex.EncodeToString(pub(hqKey)), hqPub},
		{"device KeyID = hex(SHA-256(pub)[:8])", wire.KeyID(pub(deviceKey)), "34750f98bd59fcfc"},
		{"HQ KeyID", wire.KeyID(pub(hqKey)), "6a3803d5f059902a"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, tt.got, tt.want)
		}
	}
}

func TestCanonicalAck(t *testing.T) {
	a := ack()
	mustSign(t, hqKey, &a)
	want := `{` +
		`"v":1,` + // protocol version, always first
		`"centre":"lhr-01",` + // the centre and gateway the ack is for
		`"gateway":"gw-1",` +
		`"boot":7,` + // boot of the batch acknowledged
		`"upto":150` + // events 1..150 are stored at HQ
		`}` // no "sig": the signature is not part of what it signs
	got, err := wire.Canonical(a)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("Canonical:\ngot  %s\nwant %s", got, want)
	}
	// ed25519 over exactly those 62 bytes with the HQ key, base64 std padded.
	const wantSig = "1zkOshHYTa9bMqaCR2z58FXr8CYWpuuKAxrr9vmbcayNjkminZeUd3REYhjNRB1otfPRfkHI3v+s+qno3CVbAA=="
	if a.Sig != wantSig {
		t.Errorf("sig: got %s, want %s", a.Sig, wantSig)
	}
	// On the wire the signature is the last key.
	wantWire := want[:len(want)-1] + `,"sig":"` + wantSig + `"}`
	if got := string(mustEncode(t, a)); got != wantWire {
		t.Errorf("Encode:\ngot  %s\nwant %s", got, wantWire)
	}
}

func TestCanonicalEventBatch(t *testing.T) {
	b := batch(t, 1, 2)
	const (
		hash1 = "6331d4a6866d5d68bda29e6f12c75eda5d61e1aab172f1f818878b5385f9a53a"
		hash2 = "4b7cb8eae084baad095dd56447fdb4460c1c9af37a713eef98a1e91b83071f43"
	)
	// event 1 as hashed: its JSON without "hash" (omitempty).
	event1 := `{` +
		`"seq":1,` +
		`"time":"2026-11-04T09:00:00+05:00",` + // RFC 3339 in the centre's offset
		`"kind":"checkin",` +
		`"seat":"A1",` +
		`"prev_seat":"",` + // empty strings are kept
		`"member":"m-001",` +
		`"card":"04A1B2C3D4E5F6",` +
		`"reader":"r-a1",` +
		`"reason":"",` +
		`"warning":"",` +
		`"clock_trusted":true` + // "since" is omitted when zero
		`}`
	event2 := `{"seq":2,"time":"2026-11-04T09:01:00+05:00","kind":"deny","seat":"A1","prev_seat":"","member":"",` +
		`"card":"0A0B0C0D","reader":"r-a1","reason":"unknown_card","warning":"","clock_trusted":true}`
	want := `{` +
		`"v":1,` +
		`"centre":"lhr-01",` +
		`"gateway":"gw-1",` +
		`"boot":7,` +
		`"first":1,` + // seq of events[0]
		`"last":2,` + // seq of the last event
		`"prev_hash":"` + wire.GenesisHash + `",` + // 32 zero bytes before event 1
		`"events":[` +
		event1[:len(event1)-1] + `,"hash":"` + hash1 + `"},` + // SHA-256(32 zero bytes || event1)
		event2[:len(event2)-1] + `,"hash":"` + hash2 + `"}` + // SHA-256(hash1 raw || event2)
		`]` +
		`}` // no "sig"
	got, err := wire.Canonical(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("Canonical:\ngot  %s\nwant %s", got, want)
	}
	const wantSig = "jY/KGUcawkpJetxzwwkF+qGU0qOTF/B91ZzA8AtCtsMbCOf5DrZV8U5zdVMx0eDga+80mcxcTorgre/4fl3EAg=="
	if b.Sig != wantSig {
		t.Errorf("sig: got %s, want %s", b.Sig, wantSig)
	}
	for i, h := range []string{hash1, hash2} {
		if b.Events[i].Hash != h {
			t.Errorf("event %d: hash %s, want %s", i+1, b.Events[i].Hash, h)
		}
	}
}

package wire_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"testing"

	"github.com/pkfreelance/seatgate/sync/wire"
)

func TestChunkSnapshotRoundTrip(t *testing.T) {
	snapshot := bytes.Repeat([]byte(`{"members":[]}`), 2*wire.MaxChunkData/14+100) // a little over two chunks
	chunks, err := wire.ChunkSnapshot("lhr-01", 42, snapshot)
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 3 {
		t.Fatalf("got %d chunks, want 3", len(chunks))
	}
	sum := sha256.Sum256(snapshot)
	var received []wire.SnapshotChunk
	for i, c := range chunks {
		if c.Index != i || c.Count != 3 || c.Rev != 42 || c.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("chunk %d: got index %d count %d rev %d sha256 %s", i, c.Index, c.Count, c.Rev, c.SHA256)
		}
		mustSign(t, hqKey, &c)
		b := mustEncode(t, c)
		if len(b) > wire.MaxPayload {
			t.Errorf("chunk %d: %d bytes on the wire", i, len(b))
		}
		got, err := wire.DecodeSnapshotChunk(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := wire.Verify(pub(hqKey), &got); err != nil {
			t.Fatal(err)
		}
		received = append(received, got)
	}
	joined, err := wire.JoinSnapshot(received)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(joined, snapshot) {
		t.Errorf("joined snapshot differs: %d bytes, want %d", len(joined), len(snapshot))
	}
}

func TestJoinSnapshotRejects(t *testing.T) {
	snapshot := bytes.Repeat([]byte("x"), 2*wire.MaxChunkData+1)
	chunks, err := wire.ChunkSnapshot("lhr-01", 42, snapshot)
	if err != nil {
		t.Fatal(err)
	}
	other, err := wire.ChunkSnapshot("lhr-01", 43, bytes.Repeat([]byte("y"), 2*wire.MaxChunkData+1))
	if err != nil {
		t.Fatal(err)
	}
	changed := func(i int, change func(c *wire.SnapshotChunk)) []wire.SnapshotChunk {
		out := slices.Clone(chunks)
		out[i].Data = bytes.Clone(out[i].Data)
		change(&out[i])
		return out
	}
	tests := []struct {
		name   string
		chunks []wire.SnapshotChunk
		field  string
	}{
		{"none", nil, ""},
		{"one missing", chunks[:2], "count"},
		{"out of order", []wire.SnapshotChunk{chunks[1], chunks[0], chunks[2]}, "index"},
		{"one from another snapshot", []wire.SnapshotChunk{chunks[0], other[1], chunks[2]}, ""},
		{"data changed", changed(1, func(c *wire.SnapshotChunk) { c.Data[0] = 'z' }), "sha256"},
		{"invalid chunk", changed(2, func(c *wire.SnapshotChunk) { c.Data = nil }), "data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wire.JoinSnapshot(tt.chunks)
			if err == nil {
				t.Fatalf("got %d bytes, want an error", len(got))
			}
			wantMessageError(t, err, wire.ErrInvalid, tt.field)
		})
	}
}

func TestChunkSnapshotLimits(t *testing.T) {
	if _, err := wire.ChunkSnapshot("lhr-01", 1, nil); !errors.Is(err, wire.ErrInvalid) {
		t.Errorf("empty snapshot: got %v, want ErrInvalid", err)
	}
	if _, err := wire.ChunkSnapshot("LHR", 1, []byte("{}")); !errors.Is(err, wire.ErrInvalid) {
		t.Errorf("bad centre: got %v, want ErrInvalid", err)
	}
	_, err := wire.ChunkSnapshot("lhr-01", 1, make([]byte, wire.MaxChunks*wire.MaxChunkData+1))
	wantMessageError(t, err, wire.ErrTooLarge, "data")
}

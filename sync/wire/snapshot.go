package wire

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/pkfreelance/seatgate/access/store"
)

// Snapshot chunking limits.
const (
	// MaxChunkData is the most snapshot bytes one SnapshotChunk carries
	// (base64 makes it a third larger on the wire, well under MaxPayload).
	MaxChunkData = 128 << 10
	// MaxChunks is the most chunks of one snapshot: enough for the
	// largest snapshot the store reads, store.MaxMembershipSize.
	MaxChunks = store.MaxMembershipSize / MaxChunkData
)

// SnapshotChunk is one part of a membership snapshot (the JSON that
// store.ParseMembership reads), sent on a gateway's JournalCatchUp topic
// when it is too far behind for entries, signed with the HQ key. Chunks
// Index 0 to Count-1 concatenated are the snapshot; SHA256 is the hex
// SHA-256 of the whole snapshot, the same in every chunk. Rev is the
// snapshot's revision: the gateway continues the journal at Rev+1.
// ChunkSnapshot and JoinSnapshot split and join.
type SnapshotChunk struct {
	V      int    `json:"v"`
	Centre string `json:"centre"`
	Rev    int64  `json:"rev"`
	Index  int    `json:"index"`
	Count  int    `json:"count"`
	Data   []byte `json:"data"` // standard base64, padded, on the wire
	SHA256 string `json:"sha256"`
	Sig    string `json:"sig,omitempty"`
}

// ChunkSnapshot splits a membership snapshot into unsigned chunks of at
// most MaxChunkData bytes, ready for Sign.
func ChunkSnapshot(centre string, rev int64, snapshot []byte) ([]SnapshotChunk, error) {
	const msg = "SnapshotChunk"
	if len(snapshot) == 0 {
		return nil, invalid(msg, "data", "empty snapshot")
	}
	count := (len(snapshot) + MaxChunkData - 1) / MaxChunkData
	if count > MaxChunks {
		return nil, &MessageError{Message: msg, Kind: ErrTooLarge, Field: "data",
			Reason: fmt.Sprintf("snapshot of %d bytes needs more than %d chunks", len(snapshot), MaxChunks)}
	}
	sum := sha256.Sum256(snapshot)
	chunks := make([]SnapshotChunk, 0, count)
	for i := range count {
		part := snapshot[i*MaxChunkData : min((i+1)*MaxChunkData, len(snapshot))]
		chunks = append(chunks, SnapshotChunk{
			V: Version, Centre: centre, Rev: rev, Index: i, Count: count,
			Data: bytes.Clone(part), SHA256: hex.EncodeToString(sum[:]),
		})
	}
	for i := range chunks {
		if err := chunks[i].Validate(); err != nil {
			return nil, err
		}
	}
	return chunks, nil
}

// JoinSnapshot joins the chunks of one snapshot, given in Index order, and
// checks the whole against SHA256. It checks that every chunk is valid
// and that they agree on Centre, Rev, Count and SHA256; it does not check
// signatures (Verify each chunk first).
func JoinSnapshot(chunks []SnapshotChunk) ([]byte, error) {
	const msg = "SnapshotChunk"
	if len(chunks) == 0 {
		return nil, invalid(msg, "", "no chunks")
	}
	first := chunks[0]
	if len(chunks) != first.Count {
		return nil, invalid(msg, "count", "%d chunks, want %d", len(chunks), first.Count)
	}
	var out []byte
	for i, c := range chunks {
		if err := c.Validate(); err != nil {
			return nil, err
		}
		switch {
		case c.Index != i:
			return nil, invalid(msg, "index", "chunk %d has index %d", i, c.Index)
		case c.Centre != first.Centre, c.Rev != first.Rev, c.Count != first.Count, c.SHA256 != first.SHA256:
			return nil, invalid(msg, "", "chunk %d belongs to another snapshot (centre %s rev %d count %d sha256 %s)",
				i, c.Centre, c.Rev, c.Count, c.SHA256)
		}
		out = append(out, c.Data...)
	}
	if sum := sha256.Sum256(out); hex.EncodeToString(sum[:]) != first.SHA256 {
		return nil, invalid(msg, "sha256", "snapshot hashes to %x, want %s", sum, first.SHA256)
	}
	return out, nil
}

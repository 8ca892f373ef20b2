package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// A snapshot of 100,000 members is tens of megabytes of JSON. The chunks,
// once their signatures are checked, wait in the store (PutSnapshotParts,
// a few at a time) rather than in memory; when the last has come, the
// parts are read back in order twice: once to check the whole against its
// hash, once by the store, which applies the snapshot as a stream
// (ReplaceMembershipFrom). The snapshot is never joined nor decoded whole.

// heldChunks is how many chunks (of up to 128 KiB) wait in memory to be
// kept in the store in one transaction.
const heldChunks = 16

var (
	// errStaleSnapshot: the gateway is at the snapshot's revision or past
	// it already.
	errStaleSnapshot = errors.New("snapshot is not newer than the membership in force")
	// errSnapshotMismatch: the snapshot's own centre or revision is not
	// the one its signed chunks carry.
	errSnapshotMismatch = errors.New("snapshot does not match its chunks")
)

// chunk collects snapshot chunks and applies the snapshot when it is whole.
func (a *Applier) chunk(c wire.SnapshotChunk) error {
	if err := wire.Verify(a.o.HQKey, &c); err != nil {
		a.count(func(s *Stats) { s.Rejected++ })
		return fmt.Errorf("snapshot chunk %d: %w", c.Index, err)
	}
	if c.Centre != a.o.Topics.Centre {
		a.count(func(s *Stats) { s.Rejected++ })
		return fmt.Errorf("%w: %s", ErrWrongCentre, c.Centre)
	}
	a.snapMu.Lock()
	defer a.snapMu.Unlock()
	key := fmt.Sprintf("%d/%s/%d", c.Rev, c.SHA256, c.Count)
	if key != a.snapKey {
		a.snapKey, a.have, a.held = key, map[int]bool{}, map[int][]byte{} // a newer snapshot replaces a partial one
	}
	if !a.have[c.Index] {
		a.have[c.Index], a.held[c.Index] = true, c.Data
	}
	whole := len(a.have) == c.Count
	if len(a.held) >= heldChunks || whole && len(a.held) > 0 {
		held := a.held
		a.held = map[int][]byte{}
		if err := a.st.PutSnapshotParts(key, held); err != nil {
			for i := range held { // to be received again
				delete(a.have, i)
			}
			return fmt.Errorf("snapshot revision %d: %w", c.Rev, err)
		}
	}
	if !whole {
		return nil
	}
	a.snapKey, a.have, a.held = "", nil, nil
	err := a.applySnapshot(key, c)
	if derr := a.st.DropSnapshotParts(); derr != nil {
		a.log.Warn("snapshot parts not dropped", "err", derr) // the next snapshot or Open drops them
	}
	return err
}

// applySnapshot checks the snapshot whose parts are all kept under key
// against its hash and applies it; c is its last chunk.
func (a *Applier) applySnapshot(key string, c wire.SnapshotChunk) error {
	h := sha256.New()
	if _, err := io.Copy(h, a.st.SnapshotParts(key, c.Count)); err != nil {
		return fmt.Errorf("snapshot revision %d: %w", c.Rev, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != c.SHA256 {
		a.count(func(s *Stats) { s.Rejected++ })
		return fmt.Errorf("snapshot revision %d: %w", c.Rev, &wire.MessageError{Message: "SnapshotChunk", Kind: wire.ErrInvalid,
			Field: "sha256", Reason: fmt.Sprintf("snapshot hashes to %s, want %s", sum, c.SHA256)})
	}
	info, err := a.st.MembershipInfo()
	if err != nil {
		return err
	}
	if c.Rev <= info.Revision {
		a.count(func(s *Stats) { s.Stale++ })
		return nil // an old snapshot never rolls the gateway back
	}
	next, err := a.st.ReplaceMembershipFrom(a.st.SnapshotParts(key, c.Count), func(next, current store.MembershipInfo) error {
		if next.Centre != c.Centre || next.Revision != c.Rev {
			return fmt.Errorf("%w: snapshot says centre %s revision %d, chunks say %s %d",
				errSnapshotMismatch, next.Centre, next.Revision, c.Centre, c.Rev)
		}
		if next.Revision <= current.Revision { // entries overtook it while it was read
			return errStaleSnapshot
		}
		return nil
	})
	switch {
	case errors.Is(err, errStaleSnapshot):
		a.count(func(s *Stats) { s.Stale++ })
		return nil
	case errors.Is(err, store.ErrInvalidMembership), errors.Is(err, errSnapshotMismatch):
		a.count(func(s *Stats) { s.Rejected++ })
		return fmt.Errorf("snapshot revision %d: %w", c.Rev, err)
	case err != nil:
		return fmt.Errorf("snapshot revision %d: %w", c.Rev, err)
	}
	a.count(func(s *Stats) { s.Snapshot++ })
	a.log.Info("membership snapshot applied", "revision", next.Revision, "members", next.Members, "cards", next.Cards)
	return nil
}

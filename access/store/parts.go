package store

import (
	"errors"
	"fmt"
	"io"

	"go.etcd.io/bbolt"
)

// Snapshot parts. A membership snapshot that HQ sends in chunks is tens of
// megabytes: the parts wait here, on disk, until the last has come, rather
// than in memory; SnapshotParts then reads them back in order, for a hash
// check and for ReplaceMembershipFrom. They are transient: Open drops
// them, since whoever was collecting them is gone (HQ sends the snapshot
// again when asked). So their commits need not be durable, and a caller
// keeps a few parts per transaction rather than paying an fsync for each.

// keyPartsOf, in the parts bucket, names the snapshot the parts belong to.
var keyPartsOf = []byte("snapshot")

// ErrSnapshotPartMissing is returned by a SnapshotParts reader that comes
// to a part that is not kept.
var ErrSnapshotPartMissing = errors.New("snapshot part missing")

func partKey(index int) []byte { return u64(uint64(index)) }

// PutSnapshotParts keeps parts, by index, of the snapshot named snapshot
// (the caller's name for it, such as its revision and hash), in one
// transaction, replacing parts kept under the same indexes. Parts of
// another snapshot are dropped first: one snapshot is collected at a time.
func (s *Store) PutSnapshotParts(snapshot string, parts map[int][]byte) error {
	for i := range parts {
		if i < 0 {
			return fmt.Errorf("keep snapshot parts: negative index %d", i)
		}
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketParts)
		if b != nil && string(b.Get(keyPartsOf)) != snapshot {
			if err := dropParts(tx); err != nil {
				return err
			}
			b = nil
		}
		if b == nil {
			var err error
			if b, err = tx.CreateBucket(bucketParts); err != nil {
				return fmt.Errorf("create bucket %s: %w", bucketParts, err)
			}
			if err := b.Put(keyPartsOf, []byte(snapshot)); err != nil {
				return err
			}
		}
		for i, data := range parts {
			if err := b.Put(partKey(i), data); err != nil {
				return fmt.Errorf("part %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("keep snapshot parts: %w", err)
	}
	return nil
}

// SnapshotParts returns a reader of parts 0 to count-1 of snapshot, one
// after the other. It holds one part in memory at a time; reading a part
// that is not kept, or parts replaced by another snapshot's meanwhile,
// fails with ErrSnapshotPartMissing.
func (s *Store) SnapshotParts(snapshot string, count int) io.Reader {
	return &partsReader{s: s, snapshot: snapshot, count: count}
}

// DropSnapshotParts deletes every part kept.
func (s *Store) DropSnapshotParts() error {
	if err := s.db.Update(dropParts); err != nil {
		return fmt.Errorf("drop snapshot parts: %w", err)
	}
	return nil
}

func dropParts(tx *bbolt.Tx) error {
	if tx.Bucket(bucketParts) == nil {
		return nil
	}
	if err := tx.DeleteBucket(bucketParts); err != nil {
		return fmt.Errorf("drop bucket %s: %w", bucketParts, err)
	}
	return nil
}

type partsReader struct {
	s        *Store
	snapshot string
	count    int
	next     int    // the part to load when buf is read
	buf      []byte // what is left of the part loaded
	store    []byte // buf's storage, reused from part to part
}

func (r *partsReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.next == r.count {
			return 0, io.EOF
		}
		if err := r.load(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// load copies the next part out of the database.
func (r *partsReader) load() error {
	err := r.s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketParts)
		var v []byte
		if b != nil && string(b.Get(keyPartsOf)) == r.snapshot {
			v = b.Get(partKey(r.next))
		}
		if v == nil {
			return fmt.Errorf("%w: part %d of %d of snapshot %s", ErrSnapshotPartMissing, r.next, r.count, r.snapshot)
		}
		r.store = append(r.store[:0], v...)
		return nil
	})
	if err != nil {
		return err
	}
	r.buf = r.store
	r.next++
	return nil
}

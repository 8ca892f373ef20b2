package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
)

// SchemaVersion is the layout of the database this build writes.
const SchemaVersion = 3

// ErrSchemaTooNew is returned by Open for a database written by a newer
// build: it is left untouched.
var ErrSchemaTooNew = errors.New("store schema is newer than this build")

// ErrNeedsMigration is returned by Open with Options.NoMigrate for a
// database of an older schema.
var ErrNeedsMigration = errors.New("store schema is older than this build and migrating is not allowed now")

// Buckets. See the package documentation for what each holds.
var (
	bucketMeta          = []byte("meta")
	bucketMembers       = []byte("members")
	bucketCards         = []byte("cards")
	bucketPlans         = []byte("plans")
	bucketSeats         = []byte("seats")
	bucketSessions      = []byte("sessions")
	bucketEvents        = []byte("events")
	bucketReaders       = []byte("seats_by_reader")    // since v2
	bucketMemberSession = []byte("sessions_by_member") // since v2
	// Transient buckets, dropped by Open (what a crash left behind), so
	// no schema version counts them: bucketStaging holds a membership
	// being written, in buckets named as the ones it replaces, while
	// ReplaceMembership runs; bucketParts the parts of a snapshot being
	// received (PutSnapshotParts).
	bucketStaging = []byte("membership_staging")
	bucketParts   = []byte("snapshot_parts")
)

// Keys of the meta bucket.
var (
	keySchema     = []byte("schema_version") // uint64, big-endian
	keyNextSeq    = []byte("next_seq")       // uint64, big-endian: the sequence number of the next event
	keyClockFloor = []byte("clock_floor")    // int64 Unix nanoseconds, big-endian
	keyMembership = []byte("membership")     // JSON membershipMeta
	keyChainHead  = []byte("chain_head")     // hex hash of the last event (since v3)
	keyDelivered  = []byte("delivered_upto") // uint64: events up to this seq are stored at HQ (since v3)
	keyPruned     = []byte("pruned_upto")    // uint64: events up to this seq were pruned (since v3)
)

// bucketsV1 are the buckets of schema version 1; allBuckets those of the
// current version.
var (
	bucketsV1  = [][]byte{bucketMeta, bucketMembers, bucketCards, bucketPlans, bucketSeats, bucketSessions, bucketEvents}
	allBuckets = append(append([][]byte(nil), bucketsV1...), bucketReaders, bucketMemberSession)
)

// A migration takes the database from version from to from+1 inside the
// transaction that opens it; all pending migrations and the new version
// number commit together or not at all.
type migration struct {
	from  uint64
	name  string
	apply func(tx *bbolt.Tx) error
}

// migrations is the table of every step from version 1 to SchemaVersion,
// in order.
var migrations = []migration{
	{from: 1, name: "index seats by reader and sessions by member", apply: migrateV1toV2},
	{from: 2, name: "hash-chain the event log, outbox watermarks", apply: migrateV2toV3},
}

// migrateV2toV3 computes the hash chain over the events already logged and
// starts the outbox with nothing delivered.
func migrateV2toV3(tx *bbolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	events := tx.Bucket(bucketEvents)
	head := GenesisHash
	c := events.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var ev Event
		if err := decode(v, &ev); err != nil {
			return fmt.Errorf("event %x: %w", k, err)
		}
		h, err := ChainHash(head, ev)
		if err != nil {
			return err
		}
		ev.Hash, head = h, h
		b, err := encode(ev)
		if err != nil {
			return err
		}
		if err := events.Put(k, b); err != nil {
			return err
		}
	}
	if err := meta.Put(keyChainHead, []byte(head)); err != nil {
		return err
	}
	if err := meta.Put(keyDelivered, u64(0)); err != nil {
		return err
	}
	return meta.Put(keyPruned, u64(0))
}

// migrateV1toV2 adds the two index buckets and fills them from seats and
// sessions; version 1 looked both up by scanning.
func migrateV1toV2(tx *bbolt.Tx) error {
	readers, err := tx.CreateBucket(bucketReaders)
	if err != nil {
		return fmt.Errorf("create %s: %w", bucketReaders, err)
	}
	err = tx.Bucket(bucketSeats).ForEach(func(k, v []byte) error {
		var r seatRecord
		if err := decode(v, &r); err != nil {
			return fmt.Errorf("seat %q: %w", k, err)
		}
		return readers.Put([]byte(r.Reader), k)
	})
	if err != nil {
		return err
	}
	bySession, err := tx.CreateBucket(bucketMemberSession)
	if err != nil {
		return fmt.Errorf("create %s: %w", bucketMemberSession, err)
	}
	return tx.Bucket(bucketSessions).ForEach(func(k, v []byte) error {
		var r sessionRecord
		if err := decode(v, &r); err != nil {
			return fmt.Errorf("session at seat %q: %w", k, err)
		}
		return bySession.Put([]byte(r.Member), k)
	})
}

// migrate brings the database to SchemaVersion: a new file gets every
// bucket; an older one runs the migrations from its version on, unless
// noMigrate.
func migrate(tx *bbolt.Tx, noMigrate bool) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if err := tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			return fmt.Errorf("not a seatgate store: bucket %q but no meta bucket", name)
		}); err != nil {
			return err
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucket(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		meta = tx.Bucket(bucketMeta)
		if err := meta.Put(keyNextSeq, u64(1)); err != nil {
			return err
		}
		for k, v := range map[string][]byte{string(keyChainHead): []byte(GenesisHash),
			string(keyDelivered): u64(0), string(keyPruned): u64(0)} {
			if err := meta.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return meta.Put(keySchema, u64(SchemaVersion))
	}
	v, ok := getU64(meta, keySchema)
	if !ok {
		return errors.New("meta bucket has no schema version")
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: schema version %d, this build reads up to %d; upgrade seatgate or restore a backup made by this version",
			ErrSchemaTooNew, v, SchemaVersion)
	}
	if v == 0 {
		return errors.New("schema version 0 is invalid")
	}
	if v < SchemaVersion && noMigrate {
		return fmt.Errorf("%w: schema version %d, this build writes %d", ErrNeedsMigration, v, SchemaVersion)
	}
	for _, m := range migrations {
		if m.from < v {
			continue
		}
		if m.from != v {
			return fmt.Errorf("no migration from schema version %d", v)
		}
		if err := m.apply(tx); err != nil {
			return fmt.Errorf("migrate schema v%d to v%d (%s): %w", m.from, m.from+1, m.name, err)
		}
		v = m.from + 1
	}
	if v != SchemaVersion {
		return fmt.Errorf("no migration from schema version %d", v)
	}
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("schema v%d: bucket %s missing", v, name)
		}
	}
	return meta.Put(keySchema, u64(v))
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func getU64(b *bbolt.Bucket, key []byte) (uint64, bool) {
	v := b.Get(key)
	if len(v) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}

package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
	_ "time/tzdata" // Asia/Karachi on a Pi without a zoneinfo database

	"go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"github.com/pkfreelance/seatgate/access"
)

// initialMmap is the address space bbolt maps at open.
const initialMmap = 256 << 20

// DefaultTimeout is how long Open waits for another process to release the
// database file when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// Options configure a Store. The zero value is usable: the default policy
// (access.DefaultPolicy) in Asia/Karachi, a 5 s lock timeout, fsync on.
type Options struct {
	// Policy decides taps and auto check-outs. A zero Policy means
	// access.DefaultPolicy; a nil Location means Asia/Karachi.
	Policy access.Policy
	// Timeout is how long Open waits for the file lock; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// NoSync skips fsync at commit. Only for benchmarks and tests: a
	// power cut can then lose taps that the desk acknowledged.
	NoSync bool
	// BuildTime, when set, raises the clock floor at Open: a gateway
	// whose clock reads earlier than the time its software was built
	// knows its clock is wrong.
	BuildTime time.Time
	// NoMigrate refuses (ErrNeedsMigration) a database of an older schema
	// instead of migrating it: a firmware version on trial must leave the
	// database as the version it may roll back to can read.
	NoMigrate bool
}

// Store is the gateway's local state in one bbolt file: memberships,
// seats, occupancy, the event log and the clock floor. It is the only
// owner of the database; all its methods are safe for concurrent use.
type Store struct {
	db     *bbolt.DB
	policy access.Policy
	loc    *time.Location

	// replacing admits one membership replacement at a time: they share
	// the staging bucket.
	replacing sync.Mutex
}

// Open opens or creates the store at path, creating its buckets, running
// pending schema migrations in one transaction, and refusing
// (ErrSchemaTooNew) a database written by a newer build.
func Open(path string, opts Options) (*Store, error) {
	p := opts.Policy
	if p == (access.Policy{}) {
		p = access.DefaultPolicy(nil)
	}
	if p.Location == nil {
		loc, err := time.LoadLocation("Asia/Karachi")
		if err != nil {
			return nil, fmt.Errorf("open store %s: load time zone: %w", path, err)
		}
		p.Location = loc
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	// A large initial mapping keeps bbolt from remapping (and copying every
	// node of a big transaction onto the heap) while a 100,000-member
	// snapshot is written; it is address space, not memory.
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: timeout, NoSync: opts.NoSync, InitialMmapSize: initialMmap})
	if errors.Is(err, bberrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: locked by another process after %v: %w", path, timeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		if err := migrate(tx, opts.NoMigrate); err != nil {
			return err
		}
		// What a crash cut off: a membership replacement, a snapshot
		// being received.
		if err := dropStaging(tx); err != nil {
			return err
		}
		if err := dropParts(tx); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if floor, _ := getFloor(meta); opts.BuildTime.After(floor) {
			return putFloor(meta, opts.BuildTime)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return &Store{db: db, policy: p, loc: p.Location}, nil
}

// Close closes the database file, waiting for transactions in progress.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Policy returns the policy the store decides with.
func (s *Store) Policy() access.Policy { return s.policy }

// Now returns the time the store would decide with at wall-clock time
// wall: wall itself, or the persisted clock floor when wall is behind it
// (a Pi with no real-time clock, booted before NTP), with trusted false.
// The floor only ever rises: every Tap and AutoCheckout raises it to the
// time it used.
func (s *Store) Now(wall time.Time) (t time.Time, trusted bool) {
	var floor time.Time
	_ = s.db.View(func(tx *bbolt.Tx) error {
		floor, _ = getFloor(tx.Bucket(bucketMeta))
		return nil
	})
	return s.clamp(floor, wall)
}

func (s *Store) clamp(floor, wall time.Time) (time.Time, bool) {
	if wall.Before(floor) {
		return floor.In(s.loc), false
	}
	return wall.Round(0).In(s.loc), true
}

// clock returns the time to use in a writing transaction and raises the
// floor to it.
func (s *Store) clock(meta *bbolt.Bucket, wall time.Time) (time.Time, bool, error) {
	floor, _ := getFloor(meta)
	now, trusted := s.clamp(floor, wall)
	if now.After(floor) {
		if err := putFloor(meta, now); err != nil {
			return now, trusted, err
		}
	}
	return now, trusted, nil
}

func getFloor(meta *bbolt.Bucket) (time.Time, bool) {
	v := meta.Get(keyClockFloor)
	if len(v) != 8 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v))), true
}

func putFloor(meta *bbolt.Bucket, t time.Time) error {
	return meta.Put(keyClockFloor, binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())))
}

// DiskUsage is the space the database holds for data: the file's size less
// the pages bbolt keeps free for reuse (a file never shrinks; pruned events
// leave free pages that new events fill first).
func (s *Store) DiskUsage() (int64, error) {
	fi, err := os.Stat(s.db.Path())
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return fi.Size() - int64(s.db.Stats().FreeAlloc), nil
}

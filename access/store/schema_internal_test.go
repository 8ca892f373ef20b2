package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/pkfreelance/seatgate/access"
)

var testLoc = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Karachi")
	if err != nil {
		panic(err)
	}
	return loc
}()

// rawUpdate runs fn on the bbolt file at path, as another program (or an
// older build) would.
func rawUpdate(t *testing.T, path string, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func schemaOf(t *testing.T, path string) (v uint64) {
	t.Helper()
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		v, _ = getU64(tx.Bucket(bucketMeta), keySchema)
		return nil
	})
	return v
}

func mustPut(b *bbolt.Bucket, k string, v any) error {
	data, err := encode(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(k), data)
}

// writeV1 writes a store as schema version 1 laid it out: no reader and
// member indexes. One member sits at A1; two events were logged.
func writeV1(t *testing.T, path string, seatRecordA2 []byte) {
	since := time.Date(2026, 11, 4, 10, 0, 0, 0, testLoc)
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		for _, name := range bucketsV1 {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		meta.Put(keySchema, u64(1))
		meta.Put(keyNextSeq, u64(3))
		mustPut(tx.Bucket(bucketPlans), "open", planRecord{Name: "Open"})
		mustPut(tx.Bucket(bucketMembers), "m-001", memberRecord{Name: "Ayesha Khan", Status: "active", Plan: "open",
			ValidFrom: access.Date{Year: 2026, Month: 11, Day: 1}, ValidUntil: access.Date{Year: 2026, Month: 11, Day: 30},
			Seats: seatRuleRecord{Kind: "any"}})
		mustPut(tx.Bucket(bucketCards), "04A1B2C3", cardRecord{Member: "m-001"})
		mustPut(tx.Bucket(bucketSeats), "A1", seatRecord{Zone: "A", Reader: "r-a1"})
		tx.Bucket(bucketSeats).Put([]byte("A2"), seatRecordA2)
		mustPut(tx.Bucket(bucketSessions), "A1", sessionRecord{Member: "m-001", Since: since})
		for seq := uint64(1); seq <= 2; seq++ {
			mustPut(tx.Bucket(bucketEvents), string(seqKey(seq)), Event{Seq: seq, Time: since, Kind: access.OutcomeDeny})
		}
		return nil
	})
}

func TestMigrateFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	writeV1(t, path, []byte(`{"zone":"A","reader":"r-a2"}`))

	// A firmware version on trial may not migrate: the file stays as the
	// version it may roll back to wrote it.
	if _, err := Open(path, Options{NoMigrate: true}); !errors.Is(err, ErrNeedsMigration) {
		t.Fatalf("open v1 with NoMigrate: %v, want ErrNeedsMigration", err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("open v1: %v", err)
	}
	if err := s.Check(); err != nil {
		t.Errorf("check after migration: %v", err)
	}
	err = s.View(func(snap access.Snapshot, sessions []access.Session) error {
		if seat, ok := snap.SeatByReader("r-a2"); !ok || seat.ID != "A2" {
			t.Errorf("SeatByReader(r-a2): got %+v, %v, want A2", seat, ok)
		}
		if sess, ok := snap.SessionOf("m-001"); !ok || sess.Seat != "A1" {
			t.Errorf("SessionOf(m-001): got %+v, %v, want A1", sess, ok)
		}
		if len(sessions) != 1 {
			t.Errorf("sessions: got %d, want 1", len(sessions))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d, ev, err := s.Tap(access.Tap{Reader: "r-a1", UID: "04A1B2C3"}, time.Date(2026, 11, 4, 11, 0, 0, 0, testLoc))
	if err != nil || d.Outcome != access.OutcomeCheckout || ev.Seq != 3 {
		t.Errorf("tap after migration: got %+v seq %d, %v, want checkout seq 3", d, ev.Seq, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if v := schemaOf(t, path); v != SchemaVersion {
		t.Errorf("schema version on disk: got %d, want %d", v, SchemaVersion)
	}
}

func TestMigrationIsAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	writeV1(t, path, []byte(`{"zone":`)) // a seat record that does not decode

	_, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "migrate schema v1 to v2") || !strings.Contains(err.Error(), `seat "A2"`) {
		t.Fatalf("got %v, want a migration error naming seat A2", err)
	}
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		if v, _ := getU64(tx.Bucket(bucketMeta), keySchema); v != 1 {
			t.Errorf("schema version: got %d, want 1 still", v)
		}
		if tx.Bucket(bucketReaders) != nil {
			t.Errorf("reader index exists after a failed migration")
		}
		return nil
	})
}

func TestRefuseNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	rawUpdate(t, path, func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, u64(SchemaVersion+1)) })

	_, err = Open(path, Options{})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("got %v, want ErrSchemaTooNew", err)
	}
	if want := "schema version 4, this build reads up to 3"; !strings.Contains(err.Error(), want) {
		t.Errorf("got %q, want it to contain %q", err, want)
	}
	if v := schemaOf(t, path); v != SchemaVersion+1 {
		t.Errorf("schema version on disk: got %d, want %d untouched", v, SchemaVersion+1)
	}
}

func TestOpenRefusesForeignFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	rawUpdate(t, path, func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("widgets")); return err })
	_, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), `not a seatgate store: bucket "widgets"`) {
		t.Errorf("got %v, want a not-a-store error", err)
	}
}

func TestCheckFindsProblems(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetSeats([]access.Seat{{ID: "A1", Zone: "A", Reader: "r-a1"}}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, _, err := s.Tap(access.Tap{Reader: "r-a1", UID: "DEADBEEF"}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Check(); err != nil {
		t.Fatalf("clean store: %v", err)
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		tx.Bucket(bucketEvents).Delete(seqKey(2))
		tx.Bucket(bucketReaders).Put([]byte("r-ghost"), []byte("A9"))
		tx.Bucket(bucketMemberSession).Put([]byte("m-ghost"), []byte("A1"))
		return mustPut(tx.Bucket(bucketCards), "01020304", cardRecord{Member: "m-ghost"})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Check()
	if err == nil {
		t.Fatal("got nil, want problems")
	}
	for _, want := range []string{
		"event log: got seq 3, want 2",
		`reader index: reader "r-ghost" points at seat "A9"`,
		`session index: member "m-ghost" points at seat "A1", which it does not hold`,
		`card "01020304": unknown member "m-ghost"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got %v\nwant it to report %q", err, want)
		}
	}
}

func TestParseMembershipSizeLimit(t *testing.T) {
	doc := `{"centre":"c","revision":0,"generated_at":"2026-01-01T00:00:00Z","plans":[],"members":[]}`
	if _, err := parseMembership(strings.NewReader(doc), int64(len(doc))); err != nil {
		t.Errorf("exactly at the limit: got %v, want nil", err)
	}
	_, err := parseMembership(strings.NewReader(doc+" "), int64(len(doc)))
	if !errors.Is(err, ErrInvalidMembership) || !strings.Contains(err.Error(), fmt.Sprintf("larger than %d bytes", len(doc))) {
		t.Errorf("a byte over: got %v, want a size error", err)
	}
}

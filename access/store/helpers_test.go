package store_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(withCleanup{m}) }

// withCleanup removes what benchmarks share once all have run.
type withCleanup struct{ m *testing.M }

func (w withCleanup) Run() int {
	code := w.m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	return code
}

var karachi = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Karachi") // tzdata is embedded by package store
	if err != nil {
		panic(err)
	}
	return loc
}()

var testPolicy = access.Policy{DailyCutoff: access.Clock(3, 0), MaxSession: 12 * time.Hour, WarnDays: 5, Location: karachi}

// at parses "2006-01-02 15:04" in Karachi. November 2026: the 2nd is a
// Monday, the 4th a Wednesday.
func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, karachi)
	if err != nil {
		panic(err)
	}
	return t
}

// snapshotJSON is the membership used by most tests.
const snapshotJSON = `{
  "centre": "lhr-01",
  "revision": 12,
  "generated_at": "2026-11-01T09:00:00+05:00",
  "plans": [
    {"id": "open", "name": "Open access", "grace_days": 0, "price_pkr": 4000},
    {"id": "day", "name": "Day shift", "days": ["mon","tue","wed","thu","fri"],
     "windows": [{"start": "09:00", "end": "18:00"}], "grace_days": 3, "price_pkr": 3500},
    {"id": "night", "name": "Night shift", "days": ["mon","tue","wed","thu","fri"],
     "windows": [{"start": "20:00", "end": "06:00"}], "grace_days": 0, "price_pkr": 3000}
  ],
  "members": [
    {"id": "m-001", "name": "Ayesha Khan", "status": "active", "plan": "open",
     "valid_from": "2026-11-01", "valid_until": "2026-11-30", "seats": {"kind": "zones", "zones": ["A"]},
     "cards": [{"uid": "04A1B2C3D4E5F6", "revoked": false}, {"uid": "04:a1:b2:c9", "revoked": true}]},
    {"id": "m-002", "name": "Bilal Ahmed", "status": "active", "plan": "day",
     "valid_from": "2026-11-01", "valid_until": "2026-11-30", "seats": {"kind": "any"},
     "cards": [{"uid": "11111111", "revoked": false}]},
    {"id": "m-003", "name": "Sana Mir", "status": "active", "plan": "night",
     "valid_from": "2026-11-01", "valid_until": "2026-11-30", "seats": {"kind": "fixed", "seat": "B1"},
     "cards": [{"uid": "22222222", "revoked": false}]},
    {"id": "m-004", "name": "Usman Ali", "status": "suspended", "plan": "open",
     "valid_from": "2026-11-01", "valid_until": "2026-11-30", "seats": {"kind": "any"},
     "cards": [{"uid": "33333333", "revoked": false}]}
  ]
}`

const (
	ayesha = "04A1B2C3D4E5F6"
	bilal  = "11111111"
	sana   = "22222222"
	usman  = "33333333"
)

var testSeats = []access.Seat{
	{ID: "A1", Zone: "A", Reader: "r-a1"},
	{ID: "A2", Zone: "A", Reader: "r-a2"},
	{ID: "B1", Zone: "B", Reader: "r-b1"},
}

func testMembership(t testing.TB) store.Membership {
	t.Helper()
	m, err := store.ParseMembership(strings.NewReader(snapshotJSON))
	if err != nil {
		t.Fatalf("parse test membership: %v", err)
	}
	return m
}

// openAt opens the store at path and, on cleanup, checks it (bbolt
// consistency, indexes, gap-free events) and closes it.
func openAt(t testing.TB, path string, opts store.Options) *store.Store {
	t.Helper()
	if opts.Policy == (access.Policy{}) {
		opts.Policy = testPolicy
	}
	s, err := store.Open(path, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if _, done := closedByTest.Load(s); done {
			return
		}
		if err := s.Check(); err != nil {
			t.Errorf("check on cleanup: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("close on cleanup: %v", err)
		}
	})
	return s
}

// newStore opens a store in a fresh directory, with the test seats and
// membership, and returns it with its path.
func newStore(t testing.TB) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "seatgate.db")
	s := openAt(t, path, store.Options{})
	if err := s.SetSeats(testSeats); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceMembership(testMembership(t)); err != nil {
		t.Fatal(err)
	}
	return s, path
}

// closedByTest holds the stores a test closed itself, which their cleanup
// then leaves alone.
var closedByTest sync.Map

// closeStore checks and closes s ahead of its cleanup.
func closeStore(t testing.TB, s *store.Store) {
	t.Helper()
	if err := s.Check(); err != nil {
		t.Fatalf("check before close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	closedByTest.Store(s, true)
}

// reopen closes s and opens the file again.
func reopen(t testing.TB, s *store.Store, path string, opts store.Options) *store.Store {
	t.Helper()
	closeStore(t, s)
	return openAt(t, path, opts)
}

func tap(t testing.TB, s *store.Store, reader, uid, when string) (access.Decision, store.Event) {
	t.Helper()
	d, ev, err := s.Tap(access.Tap{Reader: reader, UID: uid, At: at(when)}, at(when))
	if err != nil {
		t.Fatalf("tap %s at %s: %v", uid, reader, err)
	}
	return d, ev
}

func seatState(t testing.TB, s *store.Store, seat string) store.SeatState {
	t.Helper()
	seats, err := s.Seats()
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range seats {
		if st.Seat == seat {
			return st
		}
	}
	t.Fatalf("seat %s not found", seat)
	return store.SeatState{}
}

func allEvents(t testing.TB, s *store.Store) []store.Event {
	t.Helper()
	evs, err := s.Events(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

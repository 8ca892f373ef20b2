package journal_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/journal"
	"github.com/pkfreelance/seatgate/sync/wire"
)

var (
	hqPub, hqKey, _ = ed25519.GenerateKey(nil)
	topics          = wire.Topics{Centre: "lhr-01", Gateway: "gw-1"}
	day             = access.Date{Year: 2026, Month: 11, Day: 1}
	when            = time.Date(2026, 11, 1, 9, 0, 0, 0, time.FixedZone("PKT", 5*3600))
)

type asks struct {
	mu   sync.Mutex
	from []int64
}

func (a *asks) Publish(_ context.Context, topic string, _ byte, _ bool, payload []byte) error {
	w, err := wire.DecodeJournalWant(payload)
	if err != nil || topic != topics.JournalWant() {
		return errors.New("bad catch-up request")
	}
	a.mu.Lock()
	a.from = append(a.from, w.From)
	a.mu.Unlock()
	return nil
}

func openStore(t *testing.T) *store.Store {
	s, err := store.Open(filepath.Join(t.TempDir(), "seatgate.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("check: %v", err)
		}
		s.Close()
	})
	return s
}

// entry builds a signed journal entry (with key, and for centre).
func entry(t *testing.T, rev int64, op wire.Op, key ed25519.PrivateKey, centre string, fill func(*wire.JournalEntry)) []byte {
	t.Helper()
	e := wire.JournalEntry{V: wire.Version, Centre: centre, Rev: rev, Time: when, Op: op}
	fill(&e)
	if err := wire.Sign(key, &e); err != nil {
		t.Fatal(err)
	}
	b, err := wire.Encode(&e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func plan(e *wire.JournalEntry) { e.Plan = &access.Plan{ID: "day", Name: "Day"} }
func member(id string) func(*wire.JournalEntry) {
	return func(e *wire.JournalEntry) {
		e.Member = &access.Member{ID: id, Name: "M " + id, Status: access.StatusActive, PlanID: "day",
			ValidFrom: day, ValidUntil: day.AddDays(30), Seats: access.SeatRule{Kind: access.SeatAny}}
	}
}

func rev(t *testing.T, s *store.Store) int64 {
	info, err := s.MembershipInfo()
	if err != nil {
		t.Fatal(err)
	}
	return info.Revision
}

func TestEntriesInOrderGapsAndForgeries(t *testing.T) {
	s := openStore(t)
	p := &asks{}
	a := journal.New(s, p, journal.Options{Topics: topics, HQKey: hqPub, AskEvery: time.Hour})
	ctx := context.Background()

	if err := a.HandleEntry(ctx, entry(t, 1, wire.OpPlanPut, hqKey, "lhr-01", plan)); err != nil {
		t.Fatal(err)
	}
	if err := a.HandleEntry(ctx, entry(t, 1, wire.OpPlanPut, hqKey, "lhr-01", plan)); err != nil {
		t.Errorf("a duplicate is harmless, got %v", err)
	}
	// Revision 3 before 2: a gap, so ask from 2 (once, however many gaps).
	a.HandleEntry(ctx, entry(t, 3, wire.OpMemberPut, hqKey, "lhr-01", member("m-2")))
	a.HandleEntry(ctx, entry(t, 4, wire.OpMemberPut, hqKey, "lhr-01", member("m-3")))
	if rev(t, s) != 1 || len(p.from) != 1 || p.from[0] != 2 {
		t.Fatalf("after a gap: revision %d, asked %v, want 1 and [2]", rev(t, s), p.from)
	}
	if n := a.Newest(); n != 4 {
		t.Errorf("Newest = %d with revisions 3 and 4 held, want 4 (the gateway lags by 3)", n)
	}
	_, otherKey, _ := ed25519.GenerateKey(nil)
	forged := []struct {
		name    string
		payload []byte
		wantIs  error
	}{
		{"signed by another key", entry(t, 2, wire.OpMemberPut, otherKey, "lhr-01", member("m-evil")), wire.ErrBadSignature},
		{"for another centre", entry(t, 2, wire.OpMemberPut, hqKey, "khi-02", member("m-evil")), journal.ErrWrongCentre},
		{"garbage", []byte(`{"v":1,"op":`), wire.ErrMalformed},
		{"wrong version", []byte(`{"v":2}`), wire.ErrVersion},
	}
	for _, f := range forged {
		if err := a.HandleEntry(ctx, f.payload); !errors.Is(err, f.wantIs) {
			t.Errorf("%s: %v, want %v", f.name, err, f.wantIs)
		}
	}
	if rev(t, s) != 1 {
		t.Fatalf("revision moved to %d on forged entries", rev(t, s))
	}
	// HQ answers the catch-up on the gateway's own topic.
	for _, e := range [][]byte{
		entry(t, 2, wire.OpMemberPut, hqKey, "lhr-01", member("m-1")),
		entry(t, 3, wire.OpMemberPut, hqKey, "lhr-01", member("m-2")),
		entry(t, 4, wire.OpMemberPut, hqKey, "lhr-01", member("m-3")),
	} {
		if err := a.HandleCatchUp(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if rev(t, s) != 4 {
		t.Errorf("revision after catch-up = %d, want 4", rev(t, s))
	}
	if st := a.Stats(); st.Applied != 4 || st.Rejected != 4 || st.Stale != 3 {
		t.Errorf("stats = %+v", st)
	}
	if err := a.Connected(ctx); err != nil || p.from[len(p.from)-1] != 5 {
		t.Errorf("on connect: %v, asked %v, want from 5", err, p.from)
	}
}

func snapshot(t *testing.T, revision int64, members int) []byte {
	t.Helper()
	m := store.Membership{Centre: "lhr-01", Revision: revision, GeneratedAt: when,
		Plans: []access.Plan{{ID: "day", Name: "Day"}}}
	for i := range members {
		id := "m-" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
		m.Members = append(m.Members, access.Member{ID: id, Name: "Member " + id, Status: access.StatusActive, PlanID: "day",
			ValidFrom: day, ValidUntil: day.AddDays(30), Seats: access.SeatRule{Kind: access.SeatAny}})
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func chunks(t *testing.T, data []byte, revision int64, key ed25519.PrivateKey) [][]byte {
	t.Helper()
	cs, err := wire.ChunkSnapshot("lhr-01", revision, data)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for i := range cs {
		if err := wire.Sign(key, &cs[i]); err != nil {
			t.Fatal(err)
		}
		b, err := wire.Encode(&cs[i])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestSnapshotCatchUp(t *testing.T) {
	s := openStore(t)
	a := journal.New(s, &asks{}, journal.Options{Topics: topics, HQKey: hqPub})
	ctx := context.Background()
	big := chunks(t, snapshot(t, 500, 3000), 500, hqKey)
	if len(big) < 2 {
		t.Fatalf("snapshot in %d chunks; want several", len(big))
	}
	// Chunks arrive out of order; nothing is applied until the last one.
	for i := len(big) - 1; i >= 1; i-- {
		if err := a.HandleCatchUp(ctx, big[i]); err != nil {
			t.Fatal(err)
		}
		if rev(t, s) != 0 {
			t.Fatal("a partial snapshot was applied")
		}
	}
	// A chunk signed by another key is refused and does not count.
	_, otherKey, _ := ed25519.GenerateKey(nil)
	if err := a.HandleCatchUp(ctx, chunks(t, snapshot(t, 500, 3000), 500, otherKey)[0]); !errors.Is(err, wire.ErrBadSignature) {
		t.Errorf("forged chunk: %v", err)
	}
	if err := a.HandleCatchUp(ctx, big[0]); err != nil {
		t.Fatal(err)
	}
	info, _ := s.MembershipInfo()
	if info.Revision != 500 || info.Members != 3000 {
		t.Errorf("after the snapshot: %+v, want revision 500 with 3000 members", info)
	}
	// An older snapshot never rolls the gateway back.
	for _, c := range chunks(t, snapshot(t, 400, 2), 400, hqKey) {
		a.HandleCatchUp(ctx, c)
	}
	if rev(t, s) != 500 {
		t.Errorf("revision after an old snapshot = %d, want 500", rev(t, s))
	}
}

// TestSnapshotManyChunks: a snapshot of more chunks than are held in
// memory at once, arriving shuffled and some twice, is applied whole.
func TestSnapshotManyChunks(t *testing.T) {
	s := openStore(t)
	a := journal.New(s, &asks{}, journal.Options{Topics: topics, HQKey: hqPub})
	ctx := context.Background()
	cs := chunks(t, snapshot(t, 700, 16000), 700, hqKey)
	if len(cs) <= 16 {
		t.Fatalf("snapshot in %d chunks; want more than 16", len(cs))
	}
	order := rand.New(rand.NewPCG(1, 2)).Perm(len(cs))
	order = append(order[:len(order)-1], order[3], order[10], order[len(order)-1]) // two again before the last
	for _, i := range order {
		if err := a.HandleCatchUp(ctx, cs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if info, _ := s.MembershipInfo(); info.Revision != 700 || info.Members != 16000 {
		t.Errorf("after the snapshot: %+v, want revision 700 with 16000 members", info)
	}
}

// partsFailing is the store with a disk that fails to keep snapshot parts
// once.
type partsFailing struct {
	*store.Store
	fail bool
}

func (s *partsFailing) PutSnapshotParts(snapshot string, parts map[int][]byte) error {
	if s.fail {
		s.fail = false
		return errors.New("disk full")
	}
	return s.Store.PutSnapshotParts(snapshot, parts)
}

// TestSnapshotChunksNotKept: chunks the store failed to keep are taken
// again when HQ sends them again.
func TestSnapshotChunksNotKept(t *testing.T) {
	st := &partsFailing{Store: openStore(t), fail: true}
	a := journal.New(st, &asks{}, journal.Options{Topics: topics, HQKey: hqPub})
	ctx := context.Background()
	cs := chunks(t, snapshot(t, 500, 3000), 500, hqKey)
	var err error
	for _, c := range cs {
		err = a.HandleCatchUp(ctx, c)
	}
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("last chunk: got %v, want the store's error", err)
	}
	if rev(t, st.Store) != 0 {
		t.Fatal("applied without its chunks")
	}
	for _, c := range cs {
		if err := a.HandleCatchUp(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if info, _ := st.MembershipInfo(); info.Revision != 500 || info.Members != 3000 {
		t.Errorf("after HQ sent it again: %+v, want revision 500 with 3000 members", info)
	}
}

// TestSnapshotRefusedChangesNothing: a snapshot that is signed but wrong
// (invalid, not what its chunks say, not matching its hash) is refused
// whole, and the membership in force stays.
func TestSnapshotRefusedChangesNothing(t *testing.T) {
	s := openStore(t)
	a := journal.New(s, &asks{}, journal.Options{Topics: topics, HQKey: hqPub})
	ctx := context.Background()
	for _, c := range chunks(t, snapshot(t, 500, 3000), 500, hqKey) {
		if err := a.HandleCatchUp(ctx, c); err != nil {
			t.Fatal(err)
		}
	}

	invalid := store.Membership{Centre: "lhr-01", Revision: 501, GeneratedAt: when, Plans: []access.Plan{{ID: "day", Name: "Day"}}}
	for _, id := range []string{"m-1", "m-2", "m-1"} { // m-1 twice
		invalid.Members = append(invalid.Members, access.Member{ID: id, Name: "M", Status: access.StatusActive, PlanID: "day",
			ValidFrom: day, ValidUntil: day, Seats: access.SeatRule{Kind: access.SeatAny}})
	}
	invalidJSON, err := json.Marshal(invalid)
	if err != nil {
		t.Fatal(err)
	}
	wrongHash := func() [][]byte {
		cs, err := wire.ChunkSnapshot("lhr-01", 503, snapshot(t, 503, 10))
		if err != nil {
			t.Fatal(err)
		}
		var out [][]byte
		for i := range cs {
			cs[i].SHA256 = strings.Repeat("ab", 32)
			if err := wire.Sign(hqKey, &cs[i]); err != nil {
				t.Fatal(err)
			}
			b, err := wire.Encode(&cs[i])
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
		return out
	}
	tests := []struct {
		name   string
		chunks [][]byte
		wantIs error
		want   string
	}{
		{"invalid", chunks(t, invalidJSON, 501, hqKey), store.ErrInvalidMembership, `members[2] (id "m-1").id: duplicate member id`},
		{"revision not the chunks'", chunks(t, snapshot(t, 499, 10), 502, hqKey), nil, "snapshot says centre lhr-01 revision 499, chunks say lhr-01 502"},
		{"hash", wrongHash(), wire.ErrInvalid, "snapshot hashes to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rejected := a.Stats().Rejected
			var err error
			for _, c := range tt.chunks {
				if err = a.HandleCatchUp(ctx, c); err != nil {
					break
				}
			}
			if err == nil || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
			if got := a.Stats().Rejected; got != rejected+1 {
				t.Errorf("rejected: got %d, want %d", got, rejected+1)
			}
			if info, _ := s.MembershipInfo(); info.Revision != 500 || info.Members != 3000 {
				t.Errorf("membership: got %+v, want revision 500 with 3000 members still", info)
			}
		})
	}
	if st := a.Stats(); st.Snapshot != 1 {
		t.Errorf("snapshots applied: got %d, want 1", st.Snapshot)
	}
}

// TestReorderedEntries: entries that arrive out of order (live and
// catch-up topics interleave) are held and applied once the gap fills,
// with a single catch-up request.
func TestReorderedEntries(t *testing.T) {
	s := openStore(t)
	p := &asks{}
	a := journal.New(s, p, journal.Options{Topics: topics, HQKey: hqPub, AskEvery: time.Hour})
	ctx := context.Background()
	e1 := entry(t, 1, wire.OpPlanPut, hqKey, "lhr-01", plan)
	e2 := entry(t, 2, wire.OpMemberPut, hqKey, "lhr-01", member("m-1"))
	e3 := entry(t, 3, wire.OpMemberPut, hqKey, "lhr-01", member("m-2"))
	for _, e := range [][]byte{e3, e2} {
		if err := a.HandleEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if rev(t, s) != 0 {
		t.Fatal("applied out of order")
	}
	if err := a.HandleCatchUp(ctx, e1); err != nil {
		t.Fatal(err)
	}
	if rev(t, s) != 3 {
		t.Errorf("revision after the gap filled = %d, want 3", rev(t, s))
	}
	if len(p.from) != 1 {
		t.Errorf("catch-up requests = %v, want one", p.from)
	}
}

// TestRetryWhileWaiting: a gap with no later entry to reveal it again is
// asked for again once AskEvery has passed.
func TestRetryWhileWaiting(t *testing.T) {
	s := openStore(t)
	p := &asks{}
	a := journal.New(s, p, journal.Options{Topics: topics, HQKey: hqPub, AskEvery: 20 * time.Millisecond})
	ctx := context.Background()
	a.HandleEntry(ctx, entry(t, 2, wire.OpPlanPut, hqKey, "lhr-01", plan))
	if err := a.Retry(ctx); err != nil || len(p.from) != 1 {
		t.Fatalf("Retry right after an ask: %v, asks %v, want still one", err, p.from)
	}
	time.Sleep(30 * time.Millisecond)
	a.Retry(ctx)
	if len(p.from) != 2 || p.from[1] != 1 {
		t.Errorf("asks = %v, want a second ask from 1", p.from)
	}
	a.HandleCatchUp(ctx, entry(t, 1, wire.OpPlanPut, hqKey, "lhr-01", plan))
	time.Sleep(30 * time.Millisecond)
	a.Retry(ctx)
	if len(p.from) != 2 || rev(t, s) != 2 {
		t.Errorf("after the gap filled: asks %v, revision %d; want no more asks, revision 2", p.from, rev(t, s))
	}
}

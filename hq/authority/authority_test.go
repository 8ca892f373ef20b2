package authority_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/authority"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// journalEntries reads the centre's journal straight from the stream and
// checks every entry's signature.
func journalEntries(t *testing.T, e *env, a *authority.Authority) []wire.JournalEntry {
	t.Helper()
	ctx := context.Background()
	js, err := jetstream.New(e.conns[a])
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, authority.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	var out []wire.JournalEntry
	for seq := uint64(1); ; {
		msg, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject("journal."+centre))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		je, err := wire.DecodeJournalEntry(msg.Data)
		if err != nil {
			t.Fatalf("stored entry at sequence %d: %v", msg.Sequence, err)
		}
		if err := wire.Verify(e.pub, &je); err != nil {
			t.Fatalf("stored entry rev %d: %v", je.Rev, err)
		}
		out = append(out, je)
		seq = msg.Sequence + 1
	}
}

func checkConsecutive(t *testing.T, entries []wire.JournalEntry, n int) {
	t.Helper()
	if len(entries) != n {
		t.Errorf("journal holds %d entries, want %d", len(entries), n)
	}
	for i, je := range entries {
		if je.Rev != int64(i)+1 {
			t.Fatalf("journal entry %d has revision %d, want %d (duplicate or gap)", i+1, je.Rev, i+1)
		}
	}
}

func TestChangesGetConsecutiveRevisions(t *testing.T) {
	e := newEnv(t)
	a := e.authority(t, authority.Options{})
	if rev, err := a.Revision(context.Background(), centre); err != nil || rev != 0 {
		t.Fatalf("Revision of a new centre: got %d, %v, want 0, nil", rev, err)
	}
	if got := script(t, a); got != scriptRevs {
		t.Fatalf("script: got revision %d, want %d", got, scriptRevs)
	}
	checkConsecutive(t, journalEntries(t, e, a), scriptRevs)

	// Another centre counts from 1 on its own.
	rev, err := a.PutPlan(context.Background(), "khi-02", plan("day"))
	if err != nil || rev != 1 {
		t.Fatalf("first change of khi-02: got %d, %v, want 1, nil", rev, err)
	}
	if got := a.Stats().Appended; got != scriptRevs+1 {
		t.Errorf("Stats.Appended: got %d, want %d", got, scriptRevs+1)
	}
}

func TestConcurrentInstancesNeverDuplicateOrSkip(t *testing.T) {
	e := newEnv(t)
	instances := []*authority.Authority{e.authority(t, authority.Options{}), e.authority(t, authority.Options{})}
	ctx := context.Background()
	if _, err := instances[0].PutPlan(ctx, centre, plan("day")); err != nil {
		t.Fatal(err)
	}

	const writers, each = 4, 10 // per instance
	var mu sync.Mutex
	var revs []int64
	var wg sync.WaitGroup
	for i, a := range instances {
		for w := range writers {
			wg.Go(func() {
				for n := range each {
					rev, err := a.PutMember(ctx, centre, member(fmt.Sprintf("m-%d-%d-%d", i, w, n), "day"))
					if err != nil {
						t.Errorf("instance %d: %v", i, err)
						return
					}
					mu.Lock()
					revs = append(revs, rev)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()

	total := 1 + len(instances)*writers*each
	slices.Sort(revs)
	for i, rev := range revs {
		if want := int64(i) + 2; rev != want {
			t.Fatalf("revisions returned: %v; want 2..%d each once", revs, total)
		}
	}
	checkConsecutive(t, journalEntries(t, e, instances[0]), total)
	for i, a := range instances {
		m := snapshot(t, a)
		if m.Revision != int64(total) || len(m.Members) != total-1 {
			t.Errorf("instance %d snapshot: revision %d with %d members, want %d with %d", i, m.Revision, len(m.Members), total, total-1)
		}
	}
	t.Logf("conflicts retried: %d and %d", instances[0].Stats().Conflicts, instances[1].Stats().Conflicts)

	// The same card given to two members at once: one wins, the other is
	// refused with ErrCardTaken, after seeing the winner's entry.
	errs := make([]error, 2)
	for i, a := range instances {
		wg.Go(func() {
			_, errs[i] = a.PutCard(ctx, centre, access.Card{UID: uid(9), MemberID: fmt.Sprintf("m-%d-0-0", i)})
		})
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("one card to two members at once: got %v and %v, want exactly one ErrCardTaken", errs[0], errs[1])
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, authority.ErrCardTaken) {
			t.Errorf("the loser: got %v, want ErrCardTaken", err)
		}
	}
	checkConsecutive(t, journalEntries(t, e, instances[0]), total+1)
}

func TestRefusedChangesAppendNothing(t *testing.T) {
	e := newEnv(t)
	a := e.authority(t, authority.Options{})
	ctx := context.Background()
	script(t, a) // m-1 (day, suspended) holds cards 1 and 2 (revoked); m.3@x holds card 4

	badDates := member("m-9", "day")
	badDates.ValidUntil = access.Date{Year: 2026, Month: time.October, Day: 1}
	noZones := member("m-9", "day")
	noZones.Seats = access.SeatRule{Kind: access.SeatZones}
	badStatus := member("m-9", "day")
	badStatus.Status = "gone"
	badGrace := plan("long")
	badGrace.GraceDays = 400
	tests := []struct {
		name    string
		change  func() (int64, error)
		want    error
		mention string
	}{
		{"unknown plan", func() (int64, error) { return a.PutMember(ctx, centre, member("m-9", "night")) }, authority.ErrNotFound, `plan "night"`},
		{"member without plan", func() (int64, error) { return a.PutMember(ctx, centre, member("m-9", "")) }, authority.ErrInvalid, "no plan"},
		{"valid_until before valid_from", func() (int64, error) { return a.PutMember(ctx, centre, badDates) }, authority.ErrInvalid, "valid_until"},
		{"zones without zones", func() (int64, error) { return a.PutMember(ctx, centre, noZones) }, authority.ErrInvalid, "zones"},
		{"bad status", func() (int64, error) { return a.PutMember(ctx, centre, badStatus) }, authority.ErrInvalid, "status"},
		{"bad uid", func() (int64, error) { return a.PutCard(ctx, centre, access.Card{UID: "04-XY", MemberID: "m-1"}) }, authority.ErrInvalid, "uid"},
		{"uid of 5 bytes", func() (int64, error) { return a.PutCard(ctx, centre, access.Card{UID: "0401020304", MemberID: "m-1"}) }, authority.ErrInvalid, "uid"},
		{"card of another member", func() (int64, error) { return a.PutCard(ctx, centre, access.Card{UID: uid(1), MemberID: "m.3@x"}) }, authority.ErrCardTaken, `"m-1"`},
		{"revoked card of another member", func() (int64, error) { return a.PutCard(ctx, centre, access.Card{UID: uid(2), MemberID: "m.3@x"}) }, authority.ErrCardTaken, `"m-1"`},
		{"card of unknown member", func() (int64, error) { return a.PutCard(ctx, centre, access.Card{UID: uid(7), MemberID: "m-9"}) }, authority.ErrNotFound, `member "m-9"`},
		{"revoke unknown card", func() (int64, error) { return a.RevokeCard(ctx, centre, uid(7)) }, authority.ErrNotFound, uid(7)},
		{"suspend unknown member", func() (int64, error) { return a.Suspend(ctx, centre, "m-2") }, authority.ErrNotFound, `member "m-2"`},
		{"resume unknown member", func() (int64, error) { return a.Resume(ctx, centre, "m-9") }, authority.ErrNotFound, `member "m-9"`},
		{"delete unknown member", func() (int64, error) { return a.DeleteMember(ctx, centre, "m-2") }, authority.ErrNotFound, `member "m-2"`},
		{"delete plan in use", func() (int64, error) { return a.DeletePlan(ctx, centre, "day") }, authority.ErrPlanInUse, `"m-1"`},
		{"delete unknown plan", func() (int64, error) { return a.DeletePlan(ctx, centre, "night") }, authority.ErrNotFound, `plan "night"`},
		{"grace days out of range", func() (int64, error) { return a.PutPlan(ctx, centre, badGrace) }, authority.ErrInvalid, "grace_days"},
		{"bad centre", func() (int64, error) { return a.PutPlan(ctx, "LHR 01", plan("day")) }, authority.ErrInvalid, "centre"},
		{"import of an invalid membership", func() (int64, error) {
			return a.ImportSnapshot(ctx, store.Membership{Centre: centre, Members: []access.Member{member("m-1", "nope")}})
		}, authority.ErrInvalid, "plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.change()
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %s", err, tt.mention)
			}
			if rev, _ := a.Revision(ctx, centre); rev != scriptRevs {
				t.Errorf("revision after a refused change: got %d, want %d", rev, scriptRevs)
			}
		})
	}
	checkConsecutive(t, journalEntries(t, e, a), scriptRevs)
}

func TestChangesThatChangeNothingAppendNothing(t *testing.T) {
	e := newEnv(t)
	a := e.authority(t, authority.Options{})
	ctx := context.Background()
	script(t, a)
	odd := member("m.3@x", "day")
	odd.Seats = access.SeatRule{Kind: access.SeatFixed, Seat: "A1"}
	for name, change := range map[string]func() (int64, error){
		"same member": func() (int64, error) { return a.PutMember(ctx, centre, odd) },
		"same plan":   func() (int64, error) { return a.PutPlan(ctx, centre, plan("day")) },
		"same card, any form": func() (int64, error) {
			return a.PutCard(ctx, centre, access.Card{UID: "04 00 00 04", MemberID: "m.3@x"})
		},
		"revoke revoked":    func() (int64, error) { return a.RevokeCard(ctx, centre, uid(2)) },
		"suspend suspended": func() (int64, error) { return a.Suspend(ctx, centre, "m-1") },
		"resume active":     func() (int64, error) { return a.Resume(ctx, centre, "m.3@x") },
	} {
		if rev, err := change(); err != nil || rev != scriptRevs {
			t.Errorf("%s: got %d, %v, want %d, nil", name, rev, err, scriptRevs)
		}
	}
	checkConsecutive(t, journalEntries(t, e, a), scriptRevs)
}

func TestSnapshotIsTheMembershipAtTheLastRevision(t *testing.T) {
	e := newEnv(t)
	a := e.authority(t, authority.Options{})
	script(t, a)
	m := snapshot(t, a)
	revoked := access.Card{UID: uid(2), MemberID: "m-1", Revoked: true}
	suspended := member("m-1", "day")
	suspended.Status = access.StatusSuspended
	odd := member("m.3@x", "day")
	odd.Seats = access.SeatRule{Kind: access.SeatFixed, Seat: "A1"}
	want := store.Membership{
		Centre: centre, Revision: scriptRevs, GeneratedAt: m.GeneratedAt,
		Plans:   []access.Plan{plan("day")},
		Members: []access.Member{suspended, odd},
		Cards:   []access.Card{{UID: uid(1), MemberID: "m-1"}, revoked, {UID: uid(4), MemberID: "m.3@x"}},
	}
	if got, w := mustJSON(t, m), mustJSON(t, want); got != w {
		t.Errorf("snapshot:\n got %s\nwant %s", got, w)
	}
	if m.GeneratedAt.IsZero() || time.Since(m.GeneratedAt) > time.Minute {
		t.Errorf("generated_at %v: want the time of the last change", m.GeneratedAt)
	}
	again := snapshot(t, a)
	if mustJSON(t, again) != mustJSON(t, m) {
		t.Errorf("two snapshots of one revision differ")
	}
}

func TestKVLayout(t *testing.T) {
	e := newEnv(t)
	a := e.authority(t, authority.Options{})
	script(t, a)
	kv := bucket(t, e, a)
	ctx := context.Background()

	get := func(key string) []byte {
		t.Helper()
		v, err := kv.Get(ctx, key)
		if err != nil {
			t.Fatalf("KV %s: %v", key, err)
		}
		return v.Value()
	}
	if got := string(get(centre + ".rev")); got != fmt.Sprint(scriptRevs) {
		t.Errorf("%s.rev: got %q, want %d", centre, got, scriptRevs)
	}
	tests := []struct {
		key string
		op  wire.Op
		rev int64
		id  string // the payload's ID, or the ID of a tombstone
	}{
		{centre + ".plan.day", wire.OpPlanPut, 1, "day"},
		{centre + ".plan.night", wire.OpPlanDelete, 13, "night"},
		{centre + ".member.m-1", wire.OpMemberPut, 11, "m-1"}, // suspended at 11
		{centre + ".member.m-2", wire.OpMemberDelete, 12, "m-2"},
		{centre + ".member.m=2E3=40x", wire.OpMemberPut, 14, "m.3@x"},
		{centre + ".card." + uid(2), wire.OpCardPut, 8, uid(2)}, // revoked at 8
		{centre + ".card." + uid(3), wire.OpMemberDelete, 12, "m-2"},
		{centre + ".card." + uid(4), wire.OpCardPut, 15, uid(4)},
	}
	for _, tt := range tests {
		r, err := wire.DecodeJournalEntry(get(tt.key))
		if err != nil {
			t.Errorf("%s: %v", tt.key, err)
			continue
		}
		id := r.ID
		switch {
		case r.Member != nil:
			id = r.Member.ID
		case r.Plan != nil:
			id = r.Plan.ID
		case r.Card != nil:
			id = r.Card.UID
		}
		if r.Op != tt.op || r.Rev != tt.rev || id != tt.id || r.Sig != "" {
			t.Errorf("%s: got %s rev %d of %q (sig %q), want %s rev %d of %q, unsigned", tt.key, r.Op, r.Rev, id, r.Sig, tt.op, tt.rev, tt.id)
		}
	}
}

func bucket(t *testing.T, e *env, a *authority.Authority) jetstream.KeyValue {
	t.Helper()
	js, err := jetstream.New(e.conns[a])
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(context.Background(), authority.BucketName)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func TestKVIsRebuiltFromTheJournal(t *testing.T) {
	ctx := context.Background()
	damage := []struct {
		name string
		do   func(t *testing.T, kv jetstream.KeyValue)
	}{
		{"every key purged", func(t *testing.T, kv jetstream.KeyValue) {
			keys, err := kv.Keys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if err := kv.Purge(ctx, k); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"revision key behind", func(t *testing.T, kv jetstream.KeyValue) {
			if _, err := kv.Put(ctx, centre+".rev", []byte("6")); err != nil {
				t.Fatal(err)
			}
		}},
		{"revision key and a member lost", func(t *testing.T, kv jetstream.KeyValue) {
			for _, k := range []string{centre + ".rev", centre + ".member.m-1"} {
				if err := kv.Delete(ctx, k); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"a record garbled", func(t *testing.T, kv jetstream.KeyValue) {
			if _, err := kv.Put(ctx, centre+".member.m-1", []byte(`{"v":1,"oops"`)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range damage {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			a := e.authority(t, authority.Options{})
			script(t, a)
			want := mustJSON(t, snapshot(t, a))
			kv := bucket(t, e, a)
			tt.do(t, kv)

			if got := mustJSON(t, snapshot(t, a)); got != want {
				t.Errorf("snapshot after damage:\n got %s\nwant %s", got, want)
			}
			if v, err := kv.Get(ctx, centre+".rev"); err != nil || string(v.Value()) != fmt.Sprint(scriptRevs) {
				t.Errorf("%s.rev after the read: got %v, want %d", centre, err, scriptRevs)
			}
			if v, err := kv.Get(ctx, centre+".member.m-1"); err != nil {
				t.Errorf("member key after the read: %v", err)
			} else if r, err := wire.DecodeJournalEntry(v.Value()); err != nil || r.Member == nil || r.Member.Status != access.StatusSuspended {
				t.Errorf("member key after the read: %s (%v), want m-1 suspended", v.Value(), err)
			}
			// And changes go on from there.
			if rev, err := a.Resume(ctx, centre, "m-1"); err != nil || rev != scriptRevs+1 {
				t.Errorf("Resume after repair: got %d, %v, want %d", rev, err, scriptRevs+1)
			}
		})
	}
}

func TestImportSnapshot(t *testing.T) {
	e := newEnv(t)
	a := e.authority(t, authority.Options{})
	e.run(t, a)
	g := e.gateway(t, "gw-1")
	g.online()
	ctx := context.Background()

	first := store.Membership{
		Centre:  centre,
		Plans:   []access.Plan{plan("day"), plan("night")},
		Members: []access.Member{member("m-1", "day"), member("m-2", "night"), member("m-3", "night")},
		Cards: []access.Card{
			{UID: uid(1), MemberID: "m-1"}, {UID: uid(2), MemberID: "m-1"},
			{UID: uid(3), MemberID: "m-2"}, {UID: uid(4), MemberID: "m-3", Revoked: true},
		},
	}
	rev, err := a.ImportSnapshot(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(2 + 3 + 4); rev != want {
		t.Errorf("first import: revision %d, want %d (one entry per record)", rev, want)
	}
	checkImported(t, a, first, rev)
	g.waitRev(rev)
	assertSame(t, a, g)

	if again, err := a.ImportSnapshot(ctx, first); err != nil || again != rev {
		t.Errorf("same import again: got %d, %v, want %d, nil (nothing appended)", again, err, rev)
	}

	// m-2 leaves (card 3 with it), m-1 loses card 2 (revoked) and gets a
	// new plan, card 4 moves to m-1 and is reinstated, night goes.
	changed := member("m-1", "eve")
	second := store.Membership{
		Centre:  centre,
		Plans:   []access.Plan{plan("day"), plan("eve")},
		Members: []access.Member{changed, member("m-3", "day")},
		Cards:   []access.Card{{UID: uid(1), MemberID: "m-1"}, {UID: uid(4), MemberID: "m-1"}},
	}
	rev2, err := a.ImportSnapshot(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	// plan eve, members m-1 and m-3, card 4, revoke card 2, delete m-2, delete night.
	if want := rev + 7; rev2 != want {
		t.Errorf("second import: revision %d, want %d", rev2, want)
	}
	expect := second
	expect.Cards = []access.Card{{UID: uid(1), MemberID: "m-1"}, {UID: uid(2), MemberID: "m-1", Revoked: true}, {UID: uid(4), MemberID: "m-1"}}
	checkImported(t, a, expect, rev2)
	g.waitRev(rev2)
	assertSame(t, a, g)
}

func checkImported(t *testing.T, a *authority.Authority, want store.Membership, rev int64) {
	t.Helper()
	got := snapshot(t, a)
	want.Revision, want.GeneratedAt = rev, got.GeneratedAt
	// The snapshot sorts: plans and members by ID, cards by member and UID.
	slices.SortFunc(want.Plans, func(x, y access.Plan) int { return strings.Compare(x.ID, y.ID) })
	slices.SortFunc(want.Members, func(x, y access.Member) int { return strings.Compare(x.ID, y.ID) })
	slices.SortFunc(want.Cards, func(x, y access.Card) int {
		if c := strings.Compare(x.MemberID, y.MemberID); c != 0 {
			return c
		}
		return strings.Compare(x.UID, y.UID)
	})
	if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
		t.Errorf("after import:\n got %s\nwant %s", g, w)
	}
}

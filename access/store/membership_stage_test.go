package store_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
)

// bigMembership has n members m-000000…, one card each, on one plan: more
// records than one staging transaction takes, so that a snapshot of it is
// staged in several.
func bigMembership(n int, revision int64) store.Membership {
	m := store.Membership{Centre: "lhr-01", Revision: revision, GeneratedAt: at("2026-11-02 09:00"),
		Plans: []access.Plan{{ID: "open", Name: "Open access"}}}
	for i := range n {
		id := fmt.Sprintf("m-%06d", i)
		m.Members = append(m.Members, access.Member{ID: id, Name: "Member " + id, Status: access.StatusActive, PlanID: "open",
			ValidFrom: access.Date{Year: 2026, Month: 11, Day: 1}, ValidUntil: access.Date{Year: 2026, Month: 11, Day: 30},
			Seats: access.SeatRule{Kind: access.SeatAny}})
		m.Cards = append(m.Cards, access.Card{UID: fmt.Sprintf("05%012X", i), MemberID: id})
	}
	return m
}

func marshal(t testing.TB, m store.Membership) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertUnchanged checks that s still has the test membership in force
// (revision 12), and nothing of bigMembership.
func assertUnchanged(t *testing.T, s *store.Store) {
	t.Helper()
	info, err := s.MembershipInfo()
	if err != nil || info.Revision != 12 || info.Members != 4 || info.Cards != 5 || info.Plans != 3 {
		t.Errorf("membership info: got %+v, %v, want revision 12 with 4 members, 5 cards, 3 plans", info, err)
	}
	err = s.View(func(snap access.Snapshot, _ []access.Session) error {
		if m, ok := snap.Member("m-002"); !ok || m.Name != "Bilal Ahmed" {
			t.Errorf("member m-002: got %+v, %v, want Bilal Ahmed", m, ok)
		}
		if _, ok := snap.Member("m-000001"); ok {
			t.Errorf("member m-000001 of the new snapshot is in force")
		}
		if _, ok := snap.Card("05000000000001"); ok {
			t.Errorf("a card of the new snapshot is in force")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Errorf("check: %v", err)
	}
}

func TestReplaceMembershipFrom(t *testing.T) {
	s, _ := newStore(t)
	tap(t, s, "r-a1", ayesha, "2026-11-04 10:00")

	m := testMembership(t)
	m.Revision = 13
	m.Members[0].Name = "Ayesha K. Malik"
	var called []store.MembershipInfo
	info, err := s.ReplaceMembershipFrom(bytes.NewReader(marshal(t, m)), func(next, current store.MembershipInfo) error {
		called = append(called, next, current)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := store.MembershipInfo{Centre: "lhr-01", Revision: 13, GeneratedAt: m.GeneratedAt, Members: 4, Cards: 5, Plans: 3}
	if !info.GeneratedAt.Equal(want.GeneratedAt) {
		t.Errorf("generated_at: got %v, want %v", info.GeneratedAt, want.GeneratedAt)
	}
	info.GeneratedAt = want.GeneratedAt
	if info != want {
		t.Errorf("returned: got %+v, want %+v", info, want)
	}
	if len(called) != 2 || called[0].Revision != 13 || called[0].Members != 4 || called[1].Revision != 12 {
		t.Errorf("accept: got %+v, want (revision 13 with 4 members, revision 12)", called)
	}
	if got, _ := s.MembershipInfo(); got.Revision != 13 || got.Members != 4 || got.Cards != 5 {
		t.Errorf("MembershipInfo: got %+v, want revision 13", got)
	}
	if got := seatState(t, s, "A1"); got.Member != "m-001" || got.MemberName != "Ayesha K. Malik" {
		t.Errorf("A1: got %+v, want Ayesha still seated, under her new name", got)
	}
}

func TestReplaceMembershipFromErrorsChangeNothing(t *testing.T) {
	big := bigMembership(12_000, 13)
	bigJSON := marshal(t, big)
	dupMember := big
	dupMember.Members = append(append([]access.Member(nil), big.Members...), big.Members[3])
	dupMember.Members[len(dupMember.Members)-1].Name = "Someone else"
	dupCard := big
	dupCard.Cards = append([]access.Card(nil), big.Cards...)
	dupCard.Cards[11_000].UID = big.Cards[2].UID

	tests := []membershipErrorCase{
		{name: "member id twice, batches apart", raw: string(marshal(t, dupMember)),
			want: `members[12000] (id "m-000003").id: duplicate member id`},
		{name: "card UID twice, batches apart", raw: string(marshal(t, dupCard)),
			want: `members[11000] (id "m-011000").cards[0].uid: 05000000000002 already belongs to member "m-000002"`},
		{name: "trailing data after a big snapshot", raw: string(bigJSON) + `{}`, want: `data after the snapshot object`},
		{name: "big snapshot cut short", raw: string(bigJSON[:len(bigJSON)-100]), want: `unexpected end of the snapshot`},
	}
	tests = append(tests, membershipErrorCases()...)
	s, _ := newStore(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.ReplaceMembershipFrom(strings.NewReader(tt.input(t)), nil)
			if !errors.Is(err, store.ErrInvalidMembership) {
				t.Fatalf("got %v, want an ErrInvalidMembership", err)
			}
			// A stream has no lines to count: where ParseMembership
			// names a line, this names a byte offset.
			want := regexp.MustCompile(lineNumber.ReplaceAllString(regexp.QuoteMeta(tt.want), `byte \d+`))
			if !want.MatchString(err.Error()) {
				t.Errorf("got  %v\nwant an error matching %q", err, want)
			}
			assertUnchanged(t, s)
		})
	}

	t.Run("plans after members, one unknown", func(t *testing.T) {
		doc := `{"members":[` +
			`{"id":"m-1","name":"A","status":"active","plan":"day","valid_from":"2026-11-01","valid_until":"2026-11-30","seats":{"kind":"any"},"cards":[]},` +
			`{"id":"m-2","name":"B","status":"active","plan":"gold","valid_from":"2026-11-01","valid_until":"2026-11-30","seats":{"kind":"any"},"cards":[]},` +
			`{"id":"m-3","name":"C","status":"active","plan":"silver","valid_from":"2026-11-01","valid_until":"2026-11-30","seats":{"kind":"any"},"cards":[]}],` +
			`"plans":[{"id":"day","name":"Day","grace_days":0,"price_pkr":0}],"centre":"lhr-01","revision":13,"generated_at":"2026-11-02T09:00:00+05:00"}`
		if _, err := store.ParseMembership(strings.NewReader(doc)); err == nil || !strings.Contains(err.Error(), `members[1] (id "m-2").plan: unknown plan "gold"`) {
			t.Errorf("ParseMembership: got %v, want members[1] unknown plan gold", err)
		}
		_, err := s.ReplaceMembershipFrom(strings.NewReader(doc), nil)
		if err == nil || !strings.Contains(err.Error(), `members[1] (id "m-2").plan: unknown plan "gold"`) {
			t.Errorf("got %v, want members[1] unknown plan gold", err)
		}
		assertUnchanged(t, s)
	})

	t.Run("refused by accept", func(t *testing.T) {
		errOld := errors.New("not newer")
		_, err := s.ReplaceMembershipFrom(bytes.NewReader(bigJSON), func(next, current store.MembershipInfo) error {
			if next.Members != 12_000 || next.Cards != 12_000 || current.Revision != 12 {
				t.Errorf("accept: got next %+v, current %+v", next, current)
			}
			return errOld
		})
		if !errors.Is(err, errOld) {
			t.Errorf("got %v, want accept's error", err)
		}
		assertUnchanged(t, s)
	})

	t.Run("a reader that fails", func(t *testing.T) {
		errDisk := errors.New("disk on fire")
		_, err := s.ReplaceMembershipFrom(io.MultiReader(bytes.NewReader(bigJSON[:len(bigJSON)/2]), iotest.ErrReader(errDisk)), nil)
		if !errors.Is(err, errDisk) || errors.Is(err, store.ErrInvalidMembership) {
			t.Errorf("got %v, want the reader's error, not an invalid membership", err)
		}
		assertUnchanged(t, s)
	})
}

// lineNumber matches "line N" in a quoted error message.
var lineNumber = regexp.MustCompile(`line \d+`)

// gatedReader reads r until it has read after bytes, then closes reached
// and waits for release before reading on.
type gatedReader struct {
	r        io.Reader
	after, n int
	reached  chan struct{}
	release  chan struct{}
	once     sync.Once
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.n >= g.after {
		g.once.Do(func() { close(g.reached) })
		<-g.release
	} else if len(p) > g.after-g.n {
		p = p[:g.after-g.n]
	}
	n, err := g.r.Read(p)
	g.n += n
	return n, err
}

// TestReplaceMembershipServesTapsMeanwhile: while a snapshot is read and
// staged, readers see the old membership and taps are decided on it
// without waiting for the whole snapshot; then the new one is in force.
func TestReplaceMembershipServesTapsMeanwhile(t *testing.T) {
	s, _ := newStore(t)
	data := marshal(t, bigMembership(12_000, 13))
	g := &gatedReader{r: bytes.NewReader(data), after: bytes.Index(data, []byte(`"m-010000"`)),
		reached: make(chan struct{}), release: make(chan struct{})}
	type result struct {
		info store.MembershipInfo
		err  error
	}
	done := make(chan result, 1)
	go func() {
		info, err := s.ReplaceMembershipFrom(g, nil)
		done <- result{info, err}
	}()
	select {
	case <-g.reached:
	case r := <-done:
		t.Fatalf("replacement ended before the gate: %+v", r)
	}

	// 10,000 members and their cards have been staged, in two
	// transactions.
	tapped := make(chan access.Decision, 1)
	go func() {
		d, _, err := s.Tap(access.Tap{Reader: "r-a1", UID: ayesha}, at("2026-11-04 10:00"))
		if err != nil {
			t.Errorf("tap while staging: %v", err)
		}
		tapped <- d
	}()
	select {
	case d := <-tapped:
		if d.Outcome != access.OutcomeCheckin || d.Member != "m-001" {
			t.Errorf("tap while staging: got %+v, want Ayesha checked in under the old membership", d)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a tap waited for the snapshot being read")
	}
	assertUnchanged(t, s)

	close(g.release)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.info.Revision != 13 || r.info.Members != 12_000 || r.info.Cards != 12_000 || r.info.Plans != 1 {
		t.Errorf("returned: got %+v, want revision 13 with 12,000 members and cards, 1 plan", r.info)
	}
	err := s.View(func(snap access.Snapshot, sessions []access.Session) error {
		if _, ok := snap.Member("m-002"); ok {
			t.Errorf("member m-002 of the old membership still in force")
		}
		if c, ok := snap.Card("05000000002AF8"); !ok || c.MemberID != "m-011000" {
			t.Errorf("card of m-011000: got %+v, %v", c, ok)
		}
		if len(sessions) != 1 || sessions[0].Member != "m-001" {
			t.Errorf("sessions: got %+v, want Ayesha's, kept", sessions)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := tap(t, s, "r-a2", "05000000002AF8", "2026-11-04 10:05"); d.Outcome != access.OutcomeCheckin || d.Member != "m-011000" {
		t.Errorf("tap of a new member: got %+v, want checkin", d)
	}
}

// TestReplaceMembershipLarge: a membership in memory larger than one
// staging transaction is replaced whole, and replaced again.
func TestReplaceMembershipLarge(t *testing.T) {
	s, _ := newStore(t)
	for _, n := range []int{12_000, 6_000} {
		if err := s.ReplaceMembership(bigMembership(n, int64(n))); err != nil {
			t.Fatal(err)
		}
		info, err := s.MembershipInfo()
		if err != nil || info.Members != n || info.Cards != n || info.Revision != int64(n) {
			t.Errorf("after %d: got %+v, %v", n, info, err)
		}
		if err := s.Check(); err != nil {
			t.Errorf("after %d: check: %v", n, err)
		}
	}
	err := s.View(func(snap access.Snapshot, _ []access.Session) error {
		if _, ok := snap.Member("m-005999"); !ok {
			t.Errorf("m-005999 missing")
		}
		if _, ok := snap.Member("m-006000"); ok {
			t.Errorf("m-006000 of the membership before is still there")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReplaceMembershipConcurrent: replacements running at once are
// applied one after the other, each whole.
func TestReplaceMembershipConcurrent(t *testing.T) {
	s, _ := newStore(t)
	var wg sync.WaitGroup
	for i := range 3 {
		data := marshal(t, bigMembership(6_000+i, int64(20+i)))
		wg.Go(func() {
			if _, err := s.ReplaceMembershipFrom(bytes.NewReader(data), nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	info, err := s.MembershipInfo()
	if err != nil || info.Members != 6_000+int(info.Revision-20) || info.Cards != info.Members {
		t.Errorf("got %+v, %v, want one of the memberships whole", info, err)
	}
}

func TestSnapshotParts(t *testing.T) {
	s, _ := newStore(t)
	put := func(snapshot string, parts map[int][]byte) {
		t.Helper()
		if err := s.PutSnapshotParts(snapshot, parts); err != nil {
			t.Fatal(err)
		}
	}
	put("a", map[int][]byte{2: []byte("<part 2>")})
	put("a", map[int][]byte{0: []byte("<part 0>"), 1: []byte("<part 1>")})
	put("a", map[int][]byte{1: []byte("<part 1>")}) // a duplicate
	got, err := io.ReadAll(s.SnapshotParts("a", 3))
	if err != nil || string(got) != "<part 0><part 1><part 2>" {
		t.Errorf("read back: got %q, %v", got, err)
	}
	if _, err := io.ReadAll(s.SnapshotParts("a", 4)); !errors.Is(err, store.ErrSnapshotPartMissing) {
		t.Errorf("a part beyond those kept: got %v, want ErrSnapshotPartMissing", err)
	}
	// Another snapshot's part drops those of the first.
	put("b", map[int][]byte{1: []byte("<b1>")})
	if _, err := io.ReadAll(s.SnapshotParts("a", 3)); !errors.Is(err, store.ErrSnapshotPartMissing) {
		t.Errorf("parts of a replaced snapshot: got %v, want ErrSnapshotPartMissing", err)
	}
	if err := s.DropSnapshotParts(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(s.SnapshotParts("b", 2)); !errors.Is(err, store.ErrSnapshotPartMissing) {
		t.Errorf("after DropSnapshotParts: got %v, want ErrSnapshotPartMissing", err)
	}
	if err := s.PutSnapshotParts("b", map[int][]byte{-1: nil}); err == nil {
		t.Errorf("a negative index: got nil, want an error")
	}
}

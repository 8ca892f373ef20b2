package authority

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/wire"
)

var kvToken = regexp.MustCompile(`^[-_=A-Za-z0-9]+$`)

// unescape reverses escapeKey, for the test.
func unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("%q: short escape", s)
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", err
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

func TestEscapeKey(t *testing.T) {
	tests := []struct{ id, want string }{
		{"m-001", "m-001"},
		{"M_1", "M_1"},
		{"m.3@x", "m=2E3=40x"},
		{"a=b", "a=3Db"},
		{"*>", "=2A=3E"},
		{"دفتر", "=D8=AF=D9=81=D8=AA=D8=B1"},
	}
	for _, tt := range tests {
		if got := escapeKey(tt.id); got != tt.want {
			t.Errorf("escapeKey(%q): got %q, want %q", tt.id, got, tt.want)
		}
	}
}

func FuzzEscapeKey(f *testing.F) {
	for _, s := range []string{"m-001", "m.3@x", "a=b", "=41", "*", ">", "دفتر", "a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if id == "" {
			return
		}
		k := escapeKey(id)
		if !kvToken.MatchString(k) {
			t.Fatalf("escapeKey(%q) = %q: not one KV key token", id, k)
		}
		back, err := unescape(k)
		if err != nil || back != id {
			t.Fatalf("escapeKey(%q) = %q, which reads back as %q (%v)", id, k, back, err)
		}
	})
}

func testPlan(id string) access.Plan {
	return access.Plan{ID: id, Name: "Plan " + id, Windows: []access.Window{{Start: access.Clock(9, 0), End: access.Clock(18, 0)}}}
}

func testMember(id, plan string) access.Member {
	return access.Member{ID: id, Name: "Member " + id, Status: access.StatusActive, PlanID: plan,
		ValidFrom: access.Date{Year: 2026, Month: 1, Day: 1}, ValidUntil: access.Date{Year: 2026, Month: 12, Day: 31},
		Seats: access.SeatRule{Kind: access.SeatAny}}
}

// replay checks every entry against the model and applies it, as
// Authority.change does, with consecutive revisions.
func replay(t *testing.T, m *model, entries []wire.JournalEntry) {
	t.Helper()
	for _, e := range entries {
		if err := m.check(e); err != nil {
			t.Fatalf("entry %s after revision %d: %v", e.Op, m.rev, err)
		}
		e.V, e.Centre, e.Rev, e.Time = wire.Version, m.centre, m.rev+1, time.Unix(1, 0)
		if err := e.Validate(); err != nil {
			t.Fatalf("entry %s: %v", e.Op, err)
		}
		m.apply(e)
	}
}

func TestDiffReachesTheMembershipInValidSteps(t *testing.T) {
	card := func(n int, member string, revoked bool) access.Card {
		return access.Card{UID: fmt.Sprintf("04%06X", n), MemberID: member, Revoked: revoked}
	}
	memberships := []store.Membership{
		{},
		{Plans: []access.Plan{testPlan("p1"), testPlan("p2")},
			Members: []access.Member{testMember("a", "p1"), testMember("b", "p2"), testMember("c", "p2")},
			Cards:   []access.Card{card(1, "a", false), card(2, "b", false), card(3, "c", true)}},
		// b leaves, its card moves to a; p2 goes, c moves to p3; c loses card 3.
		{Plans: []access.Plan{testPlan("p1"), testPlan("p3")},
			Members: []access.Member{testMember("a", "p1"), testMember("c", "p3")},
			Cards:   []access.Card{card(1, "a", true), card(2, "a", false)}},
		{Plans: []access.Plan{testPlan("p3")}, Members: []access.Member{testMember("c", "p3")},
			Cards: []access.Card{card(1, "c", false)}},
		{},
	}
	m := newModel("lhr-01")
	for i, want := range memberships {
		want.Centre, want.GeneratedAt = "lhr-01", time.Unix(1, 0)
		if err := want.Validate(); err != nil {
			t.Fatalf("membership %d: %v", i, err)
		}
		replay(t, m, m.diff(want))
		if again := m.diff(want); len(again) != 0 {
			t.Errorf("membership %d: %d entries left after reaching it", i, len(again))
		}
		// What remains besides want: the cards of staying members that
		// want lacks, revoked.
		got := m.membership(time.Unix(1, 0))
		for _, c := range got.Cards {
			if !inCards(want.Cards, c) && !c.Revoked {
				t.Errorf("membership %d: card %s of %s kept and not revoked", i, c.UID, c.MemberID)
			}
		}
		for _, c := range want.Cards {
			if !inCards(got.Cards, c) {
				t.Errorf("membership %d: card %+v missing", i, c)
			}
		}
		if g, w := ids(got), ids(want); g != w {
			t.Errorf("membership %d: got %s, want %s", i, g, w)
		}
	}
}

func inCards(cards []access.Card, c access.Card) bool {
	for _, x := range cards {
		if x == c {
			return true
		}
	}
	return false
}

func ids(m store.Membership) string {
	var p, mem []string
	for _, x := range m.Plans {
		p = append(p, x.ID)
	}
	for _, x := range m.Members {
		mem = append(mem, x.ID+"/"+x.PlanID)
	}
	b, _ := json.Marshal([][]string{p, mem})
	return string(b)
}

func TestSchedulerMergesAndSpacesAnswers(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := newScheduler(time.Second, 10*time.Second, t0)
	gw := gwKey{"lhr-01", "gw-1"}

	if r := s.request(gw, 5, t0); r != queued {
		t.Fatalf("first request: got %v, want queued", r)
	}
	j, ok := s.peek()
	if !ok || j != (job{gw, 5}) {
		t.Fatalf("peek: got %v, %v, want the job at once", j, ok)
	}
	s.started(gw)
	// While it is answered, more requests come: merged, latest wins.
	for from := int64(6); from < 10; from++ {
		r := s.request(gw, from, t0)
		if want := map[bool]requestResult{true: queued, false: merged}[from == 6]; r != want {
			t.Errorf("request from %d during the answer: got %v, want %v", from, r, want)
		}
	}
	if _, ok := s.peek(); ok {
		t.Fatal("a second answer to a gateway being answered")
	}
	s.finished(gw, false, t0)
	if _, ok := s.peek(); ok {
		t.Fatal("the next answer started before AnswerEvery")
	}
	if d := s.wait(t0); d != time.Second {
		t.Errorf("wait: got %v, want 1s", d)
	}
	s.tick(t0.Add(time.Second))
	if j, ok := s.peek(); !ok || j != (job{gw, 9}) {
		t.Fatalf("after AnswerEvery: got %v, %v, want the merged request from 9", j, ok)
	}
	s.started(gw)
	s.finished(gw, true, t0.Add(time.Second))
	s.request(gw, 10, t0.Add(2*time.Second))
	s.tick(t0.Add(5 * time.Second))
	if _, ok := s.peek(); ok {
		t.Fatal("an answer within SnapshotEvery of a snapshot")
	}
	s.tick(t0.Add(11 * time.Second))
	if _, ok := s.peek(); !ok {
		t.Fatal("no answer after SnapshotEvery")
	}
	s.started(gw)
	s.finished(gw, false, t0.Add(11*time.Second))

	// Idle gateways are forgotten.
	s.tick(t0.Add(time.Hour))
	if len(s.gws) != 0 {
		t.Errorf("%d gateways remembered after an hour idle", len(s.gws))
	}
}

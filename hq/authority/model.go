package authority

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// Errors a change returns when it is refused; nothing is appended. They are
// wrapped with the centre, the change and the detail:
//
//	lhr-01: put member "m-001": plan "night": not found
var (
	// ErrInvalid: the change is malformed (an ID, name, date, seat rule,
	// window or card UID the membership rules refuse, or a bad centre ID).
	ErrInvalid = errors.New("invalid")
	// ErrNotFound: the change names a member, plan or card the centre
	// does not have.
	ErrNotFound = errors.New("not found")
	// ErrCardTaken: the card belongs to another member. Revoking it does
	// not free it (a revoked card stays its member's); deleting the member
	// does, and a membership import may move it.
	ErrCardTaken = errors.New("card belongs to another member")
	// ErrPlanInUse: a member still has the plan being deleted.
	ErrPlanInUse = errors.New("plan in use")
)

// model is one centre's membership at one journal revision, in memory:
// what a change is checked against, and what entries are applied to before
// the KV is written. Only plans, members and cards that exist are in the
// maps; keys holds the bookkeeping of the centre's KV keys (see kv.go).
type model struct {
	centre string
	rev    int64     // the journal revision the model is at
	seq    uint64    // stream sequence of entry rev (0 when rev is 0)
	at     time.Time // time of entry rev (zero when rev is 0)

	plans   map[string]access.Plan
	members map[string]access.Member
	cards   map[string]access.Card // by canonical UID

	keys map[string]kvKey
}

func newModel(centre string) *model {
	return &model{
		centre:  centre,
		plans:   map[string]access.Plan{},
		members: map[string]access.Member{},
		cards:   map[string]access.Card{},
		keys:    map[string]kvKey{},
	}
}

// record is what one KV key holds after an entry: the unsigned entry form
// of the key's state, at the entry's revision and time. A live plan, member
// or card is a plan_put, member_put or card_put; a deleted one keeps a
// tombstone: plan_delete or member_delete naming it, and for the cards of a
// deleted member member_delete naming their member.
type record struct {
	key string
	wire.JournalEntry
}

// check reports why e cannot follow the model: the rules the gateway's
// store applies (store.Membership.Validate and ApplyChange), so that no
// gateway refuses an entry HQ accepted, and HQ's own: a delete, revoke,
// suspension or resumption must name something that exists. e is the
// unsigned change; its revision and time are not looked at.
func (m *model) check(e wire.JournalEntry) error {
	switch e.Op {
	case wire.OpPlanPut:
		if e.Plan == nil {
			return fmt.Errorf("%w: plan_put without a plan", ErrInvalid)
		}
		return m.validate([]access.Plan{*e.Plan}, nil)

	case wire.OpPlanDelete:
		if _, ok := m.plans[e.ID]; !ok {
			return fmt.Errorf("plan %q: %w", e.ID, ErrNotFound)
		}
		if users := m.membersOnPlan(e.ID); len(users) > 0 {
			return fmt.Errorf("plan %q is the plan of %d member(s), %q first: %w", e.ID, len(users), users[0], ErrPlanInUse)
		}

	case wire.OpMemberPut:
		if e.Member == nil {
			return fmt.Errorf("%w: member_put without a member", ErrInvalid)
		}
		if e.Member.PlanID == "" {
			return fmt.Errorf("%w: member %q has no plan", ErrInvalid, e.Member.ID)
		}
		// An unknown plan is reported after the member's own fields are
		// found well formed, checked against a stand-in.
		p, known := m.plans[e.Member.PlanID]
		if !known {
			p = access.Plan{ID: e.Member.PlanID, Name: e.Member.PlanID}
		}
		if err := m.validate([]access.Plan{p}, []access.Member{*e.Member}); err != nil {
			return err
		}
		if !known {
			return fmt.Errorf("plan %q: %w", e.Member.PlanID, ErrNotFound)
		}

	case wire.OpMemberDelete, wire.OpSuspend, wire.OpResume:
		if _, ok := m.members[e.ID]; !ok {
			return fmt.Errorf("member %q: %w", e.ID, ErrNotFound)
		}

	case wire.OpCardPut:
		if e.Card == nil {
			return fmt.Errorf("%w: card_put without a card", ErrInvalid)
		}
		if err := canonical(e.Card.UID); err != nil {
			return err
		}
		if _, ok := m.members[e.Card.MemberID]; !ok {
			return fmt.Errorf("member %q: %w", e.Card.MemberID, ErrNotFound)
		}

	case wire.OpCardRevoke:
		if err := canonical(e.ID); err != nil {
			return err
		}
		if _, ok := m.cards[e.ID]; !ok {
			return fmt.Errorf("card %s: %w", e.ID, ErrNotFound)
		}

	default:
		return fmt.Errorf("%w: unknown operation %q", ErrInvalid, e.Op)
	}
	return nil
}

// validate runs store.Membership.Validate over a membership of just these
// plans and members: the store's rules for their form. Errors wrap
// ErrInvalid.
func (m *model) validate(plans []access.Plan, members []access.Member) error {
	mem := store.Membership{Centre: m.centre, GeneratedAt: time.Unix(0, 0), Plans: plans, Members: members}
	if err := mem.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

func canonical(uid string) error {
	c, err := access.CanonicalUID(uid)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if c != uid {
		return fmt.Errorf("%w: card uid %q is not canonical: want %s", ErrInvalid, uid, c)
	}
	return nil
}

// membersOnPlan returns, sorted, the members whose plan is id.
func (m *model) membersOnPlan(id string) []string {
	var out []string
	for _, mem := range m.members {
		if mem.PlanID == id {
			out = append(out, mem.ID)
		}
	}
	slices.Sort(out)
	return out
}

// apply applies entry e, which follows the model, and returns the records
// of the KV keys it changed. It does not check e: entries come from the
// journal, where they were checked before they were appended.
//
// The model may hold keys already at a later state than m.rev (the KV is
// written key by key, and another instance may be part way through the
// next entries). Replaying every entry after m.rev still ends at the exact
// state: each key's final value is the last whole put of it plus the
// field-setting operations (suspend, resume, revoke) and deletions after
// that, and replaying a sequence of those over a state it already reached
// changes nothing.
func (m *model) apply(e wire.JournalEntry) []record {
	base := wire.JournalEntry{V: wire.Version, Centre: m.centre, Rev: e.Rev, Time: e.Time}
	rec := func(key string, op wire.Op, set func(*wire.JournalEntry)) record {
		r := record{key: key, JournalEntry: base}
		r.Op = op
		set(&r.JournalEntry)
		return r
	}
	memberRec := func(mem access.Member) record {
		return rec(memberKey(m.centre, mem.ID), wire.OpMemberPut, func(r *wire.JournalEntry) { r.Member = &mem })
	}
	cardRec := func(c access.Card) record {
		return rec(cardKey(m.centre, c.UID), wire.OpCardPut, func(r *wire.JournalEntry) { r.Card = &c })
	}
	m.rev, m.at = e.Rev, e.Time

	var out []record
	switch e.Op {
	case wire.OpPlanPut:
		p := clonePlan(*e.Plan)
		m.plans[p.ID] = p
		out = append(out, rec(planKey(m.centre, p.ID), wire.OpPlanPut, func(r *wire.JournalEntry) { r.Plan = &p }))

	case wire.OpPlanDelete:
		delete(m.plans, e.ID)
		out = append(out, rec(planKey(m.centre, e.ID), wire.OpPlanDelete, func(r *wire.JournalEntry) { r.ID = e.ID }))

	case wire.OpMemberPut:
		mem := cloneMember(*e.Member)
		m.members[mem.ID] = mem
		out = append(out, memberRec(mem))

	case wire.OpMemberDelete:
		delete(m.members, e.ID)
		out = append(out, rec(memberKey(m.centre, e.ID), wire.OpMemberDelete, func(r *wire.JournalEntry) { r.ID = e.ID }))
		for _, uid := range slices.Sorted(maps.Keys(m.cards)) {
			if m.cards[uid].MemberID == e.ID {
				delete(m.cards, uid)
				out = append(out, rec(cardKey(m.centre, uid), wire.OpMemberDelete, func(r *wire.JournalEntry) { r.ID = e.ID }))
			}
		}

	case wire.OpSuspend, wire.OpResume:
		if mem, ok := m.members[e.ID]; ok {
			mem.Status = access.StatusActive
			if e.Op == wire.OpSuspend {
				mem.Status = access.StatusSuspended
			}
			m.members[mem.ID] = mem
			out = append(out, memberRec(mem))
		}

	case wire.OpCardPut:
		c := *e.Card
		m.cards[c.UID] = c
		out = append(out, cardRec(c))

	case wire.OpCardRevoke:
		if c, ok := m.cards[e.ID]; ok {
			c.Revoked = true
			m.cards[c.UID] = c
			out = append(out, cardRec(c))
		}
	}
	return out
}

// membership returns the model as a membership snapshot, plans and members
// sorted by ID and cards by member and UID, generated at the time of the
// last entry (or at now before the first), so that one revision always
// gives the same bytes.
func (m *model) membership(now time.Time) store.Membership {
	out := store.Membership{Centre: m.centre, Revision: m.rev, GeneratedAt: m.at}
	if out.GeneratedAt.IsZero() {
		out.GeneratedAt = now
	}
	for _, id := range slices.Sorted(maps.Keys(m.plans)) {
		out.Plans = append(out.Plans, clonePlan(m.plans[id]))
	}
	for _, id := range slices.Sorted(maps.Keys(m.members)) {
		out.Members = append(out.Members, cloneMember(m.members[id]))
	}
	out.Cards = slices.SortedFunc(maps.Values(m.cards), func(a, b access.Card) int {
		return cmp.Or(cmp.Compare(a.MemberID, b.MemberID), cmp.Compare(a.UID, b.UID))
	})
	return out
}

// diff returns the entries that take the model to want, in an order in
// which each is valid after the ones before it:
//
//  1. plans new or changed (so that members can name them);
//  2. members new or changed (status included);
//  3. cards new or changed (owner or revoked flag): a card may move to
//     another member here;
//  4. cards not in want whose member stays: revoked, since the journal
//     has no operation that forgets a card while keeping its member;
//  5. members not in want: deleted, their remaining cards with them;
//  6. plans not in want: deleted, now that nobody has them.
//
// want has been validated (store.Membership.Validate).
func (m *model) diff(want store.Membership) []wire.JournalEntry {
	var out []wire.JournalEntry
	add := func(e wire.JournalEntry) { out = append(out, e) }

	wantPlans := map[string]bool{}
	for _, p := range want.Plans {
		wantPlans[p.ID] = true
		if cur, ok := m.plans[p.ID]; !ok || !samePlan(cur, p) {
			add(wire.JournalEntry{Op: wire.OpPlanPut, Plan: ptr(clonePlan(p))})
		}
	}
	wantMembers := map[string]bool{}
	for _, mem := range want.Members {
		wantMembers[mem.ID] = true
		if cur, ok := m.members[mem.ID]; !ok || !sameMember(cur, mem) {
			add(wire.JournalEntry{Op: wire.OpMemberPut, Member: ptr(cloneMember(mem))})
		}
	}
	wantCards := map[string]bool{}
	for _, c := range want.Cards {
		wantCards[c.UID] = true
		if cur, ok := m.cards[c.UID]; !ok || cur != c {
			add(wire.JournalEntry{Op: wire.OpCardPut, Card: ptr(c)})
		}
	}
	for _, uid := range slices.Sorted(maps.Keys(m.cards)) {
		c := m.cards[uid]
		if !wantCards[uid] && wantMembers[c.MemberID] && !c.Revoked {
			add(wire.JournalEntry{Op: wire.OpCardRevoke, ID: uid})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(m.members)) {
		if !wantMembers[id] {
			add(wire.JournalEntry{Op: wire.OpMemberDelete, ID: id})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(m.plans)) {
		if !wantPlans[id] {
			add(wire.JournalEntry{Op: wire.OpPlanDelete, ID: id})
		}
	}
	return out
}

// samePlan and sameMember compare records by their wire form, so that a
// nil and an empty list are the same.
func samePlan(a, b access.Plan) bool {
	return sameEntry(wire.JournalEntry{Op: wire.OpPlanPut, Plan: &a}, wire.JournalEntry{Op: wire.OpPlanPut, Plan: &b})
}

func sameMember(a, b access.Member) bool {
	return sameEntry(wire.JournalEntry{Op: wire.OpMemberPut, Member: &a}, wire.JournalEntry{Op: wire.OpMemberPut, Member: &b})
}

func sameEntry(a, b wire.JournalEntry) bool {
	a.Rev, a.Time, a.Sig, b.Rev, b.Time, b.Sig = 0, time.Time{}, "", 0, time.Time{}, ""
	ja, errA := a.MarshalJSON()
	jb, errB := b.MarshalJSON()
	return errA == nil && errB == nil && string(ja) == string(jb)
}

func clonePlan(p access.Plan) access.Plan {
	p.Days, p.Windows = slices.Clone(p.Days), slices.Clone(p.Windows)
	return p
}

func cloneMember(m access.Member) access.Member {
	m.Seats.Zones = slices.Clone(m.Seats.Zones)
	return m
}

func ptr[T any](v T) *T { return &v }

package store

import (
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/pkfreelance/seatgate/access"
)

// Change is one entry of HQ's membership journal as the store applies it:
// the centre's revision it produces and one operation. HQ signs the entry;
// the sync layer checks that before it gets here.
type Change struct {
	Rev    int64
	Op     string
	Member *access.Member // OpMemberPut
	Card   *access.Card   // OpCardPut
	Plan   *access.Plan   // OpPlanPut
	ID     string         // member id (delete, suspend, resume), plan id (delete), card uid (revoke)
}

// Journal operations (the same words as the wire protocol's).
const (
	OpMemberPut    = "member_put"
	OpMemberDelete = "member_delete"
	OpCardPut      = "card_put"
	OpCardRevoke   = "card_revoke"
	OpPlanPut      = "plan_put"
	OpPlanDelete   = "plan_delete"
	OpSuspend      = "suspend"
	OpResume       = "resume"
)

// Errors ApplyChange returns. A stale revision is a duplicate or a replay:
// harmless, nothing changes. A gap means entries are missing: ask HQ to
// catch up from Have+1. An invalid change cannot be applied at all (the
// journal disagrees with the state): ask for a snapshot.
var (
	ErrStaleRevision = errors.New("journal entry already applied")
	ErrRevisionGap   = errors.New("journal entries missing")
	ErrInvalidChange = errors.New("journal entry cannot be applied")
)

// RevisionGapError says which revisions are missing.
type RevisionGapError struct{ Have, Got int64 }

func (e *RevisionGapError) Error() string {
	return fmt.Sprintf("%v: have revision %d, got %d", ErrRevisionGap, e.Have, e.Got)
}
func (e *RevisionGapError) Is(target error) bool { return target == ErrRevisionGap }

// ApplyChange applies one journal entry if, and only if, it is the next
// revision, in one transaction with the new revision: strictly in order,
// duplicates and reordering harmless. Sessions are never ended here; a
// member who is deleted or loses the right to a seat is checked out by the
// next sweep (member_removed) or tap.
func (s *Store) ApplyChange(c Change) error {
	err := s.db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		var info membershipMeta
		if b := meta.Get(keyMembership); b != nil {
			if err := decode(b, &info); err != nil {
				return fmt.Errorf("decode membership info: %w", err)
			}
		}
		switch {
		case c.Rev <= info.Revision:
			return fmt.Errorf("%w: revision %d, have %d", ErrStaleRevision, c.Rev, info.Revision)
		case c.Rev != info.Revision+1:
			return &RevisionGapError{Have: info.Revision, Got: c.Rev}
		}
		st := &txState{tx: tx}
		if err := st.apply(c, &info); err != nil {
			return err
		}
		if st.err != nil {
			return st.err
		}
		info.Revision = c.Rev
		b, err := encode(info)
		if err != nil {
			return err
		}
		return meta.Put(keyMembership, b)
	})
	if err != nil {
		return fmt.Errorf("apply journal revision %d (%s): %w", c.Rev, c.Op, err)
	}
	return nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidChange, fmt.Sprintf(format, args...))
}

func (t *txState) apply(c Change, info *membershipMeta) error {
	switch c.Op {
	case OpPlanPut:
		if c.Plan == nil {
			return invalid("plan_put without a plan")
		}
		if err := validatePlan("plan", *c.Plan); err != nil {
			return invalid("%v", err)
		}
		if _, ok := t.Plan(c.Plan.ID); !ok {
			info.Plans++
		}
		return t.put(bucketPlans, c.Plan.ID, toPlanRecord(*c.Plan))

	case OpPlanDelete:
		if _, ok := t.Plan(c.ID); !ok {
			return nil
		}
		inUse := ""
		_ = t.tx.Bucket(bucketMembers).ForEach(func(k, v []byte) error {
			var r memberRecord
			if decode(v, &r) == nil && r.Plan == c.ID {
				inUse = string(k)
			}
			return nil
		})
		if inUse != "" {
			return invalid("plan %q is still the plan of member %q", c.ID, inUse)
		}
		info.Plans--
		return t.tx.Bucket(bucketPlans).Delete([]byte(c.ID))

	case OpMemberPut:
		if c.Member == nil {
			return invalid("member_put without a member")
		}
		_, planKnown := t.Plan(c.Member.PlanID)
		if err := validateMember("member", *c.Member, planKnown); err != nil {
			return invalid("%v", err)
		}
		if _, ok := t.Member(c.Member.ID); !ok {
			info.Members++
		}
		return t.put(bucketMembers, c.Member.ID, toMemberRecord(*c.Member))

	case OpMemberDelete:
		if _, ok := t.Member(c.ID); !ok {
			return nil
		}
		cards := t.tx.Bucket(bucketCards)
		var gone [][]byte
		_ = cards.ForEach(func(k, v []byte) error {
			var r cardRecord
			if decode(v, &r) == nil && r.Member == c.ID {
				gone = append(gone, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range gone {
			if err := cards.Delete(k); err != nil {
				return err
			}
		}
		info.Cards -= len(gone)
		info.Members--
		return t.tx.Bucket(bucketMembers).Delete([]byte(c.ID))

	case OpSuspend, OpResume:
		m, ok := t.Member(c.ID)
		if !ok {
			return invalid("%s of unknown member %q", c.Op, c.ID)
		}
		m.Status = access.StatusActive
		if c.Op == OpSuspend {
			m.Status = access.StatusSuspended
		}
		return t.put(bucketMembers, m.ID, toMemberRecord(m))

	case OpCardPut:
		if c.Card == nil {
			return invalid("card_put without a card")
		}
		uid, err := access.CanonicalUID(c.Card.UID)
		if err != nil {
			return invalid("%v", err)
		}
		if _, ok := t.Member(c.Card.MemberID); !ok {
			return invalid("card %s: unknown member %q", uid, c.Card.MemberID)
		}
		if _, ok := t.Card(uid); !ok {
			info.Cards++
		}
		return t.put(bucketCards, uid, cardRecord{Member: c.Card.MemberID, Revoked: c.Card.Revoked})

	case OpCardRevoke:
		uid, err := access.CanonicalUID(c.ID)
		if err != nil {
			return invalid("%v", err)
		}
		card, ok := t.Card(uid)
		if !ok {
			return nil // nothing to revoke here; the revision still advances
		}
		return t.put(bucketCards, uid, cardRecord{Member: card.MemberID, Revoked: true})
	}
	return invalid("unknown operation %q", c.Op)
}

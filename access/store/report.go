package store

import (
	"cmp"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/pkfreelance/seatgate/access"
)

// Read-only queries for reports to people (the owner's dashboard). They
// walk a whole bucket in one read transaction, so they are for pages a
// person opens, never for the tap path.

// EndingPlan is a member whose plan ends soon, with the plan's name.
type EndingPlan struct {
	Member   access.Member
	PlanName string // empty when the member's plan is not in the membership
}

// PlansEnding returns the members whose ValidUntil is within first..last,
// both inclusive, soonest first and then by name, suspended members
// included (Member.Status says so).
func (s *Store) PlansEnding(first, last access.Date) ([]EndingPlan, error) {
	var out []EndingPlan
	err := s.db.View(func(tx *bbolt.Tx) error {
		st := &txState{tx: tx}
		err := tx.Bucket(bucketMembers).ForEach(func(k, v []byte) error {
			var r memberRecord
			if err := decode(v, &r); err != nil {
				return fmt.Errorf("decode member %q: %w", k, err)
			}
			if r.ValidUntil.Before(first) || r.ValidUntil.After(last) {
				return nil
			}
			e := EndingPlan{Member: r.member(string(k))}
			if p, ok := st.Plan(r.Plan); ok {
				e.PlanName = p.Name
			}
			out = append(out, e)
			return nil
		})
		if err != nil {
			return err
		}
		return st.err
	})
	if err != nil {
		return nil, fmt.Errorf("read plans ending %s..%s: %w", first, last, err)
	}
	slices.SortFunc(out, func(a, b EndingPlan) int {
		return cmp.Or(a.Member.ValidUntil.Compare(b.Member.ValidUntil),
			cmp.Compare(a.Member.Name, b.Member.Name), cmp.Compare(a.Member.ID, b.Member.ID))
	})
	return out, nil
}

// Cards returns the first limit cards of the membership in UID order
// (limit <= 0: all of them), revoked ones included.
func (s *Store) Cards(limit int) ([]access.Card, error) {
	var out []access.Card
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketCards).Cursor()
		for k, v := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			var r cardRecord
			if err := decode(v, &r); err != nil {
				return fmt.Errorf("decode card %q: %w", k, err)
			}
			out = append(out, access.Card{UID: string(k), MemberID: r.Member, Revoked: r.Revoked})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read cards: %w", err)
	}
	return out, nil
}

package store

import (
	"errors"
	"fmt"
	"io"

	"go.etcd.io/bbolt"

	"github.com/pkfreelance/seatgate/access"
)

// Replacing the membership. The new membership is written into the
// staging bucket, which holds members, cards and plans buckets of its own,
// in write transactions of at most stageBatch records, while the
// membership in force goes on deciding taps. One small transaction then
// drops the old buckets and moves the staged ones into their place: bbolt
// moves a bucket by its root page, without copying it. A power cut before
// that transaction leaves the old membership whole, and a staging bucket
// that Open drops; after it, the new membership is whole. A reader sees
// the one or the other, never a mixture.

// stageBatch is the most records written to the staging bucket in one
// transaction: it bounds the memory bbolt holds for dirty pages, and how
// long a tap may wait for the write lock while a snapshot is applied.
const stageBatch = 10_000

// membershipBuckets are the buckets a membership replacement swaps.
var membershipBuckets = [][]byte{bucketMembers, bucketCards, bucketPlans}

// ReplaceMembership validates m and replaces members, cards and plans with
// it, atomically: a reader sees the old membership until the new one is
// in place. Open sessions are kept: a member still in m stays seated under
// the new terms (which apply from the next tap or auto check-out); the
// session of a member no longer in m is ended by the next auto check-out,
// reason member_removed. It does not compare revisions: the caller (the
// membership journal, or an operator's import) decides which revision
// applies.
func (s *Store) ReplaceMembership(m Membership) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("replace membership: %w", err)
	}
	s.replacing.Lock()
	defer s.replacing.Unlock()
	st := &stager{s: s}
	err := st.putMembership(m)
	if err == nil {
		_, err = st.finish(snapshotHeader{Centre: m.Centre, Revision: m.Revision, GeneratedAt: m.GeneratedAt}, nil)
	}
	if err != nil {
		return fmt.Errorf("replace membership (centre %s, revision %d): %w", m.Centre, m.Revision, st.discard(err))
	}
	return nil
}

// ReplaceMembershipFrom reads a membership snapshot from r as
// ParseMembership does, as strictly, and replaces the membership with it
// as ReplaceMembership does, without holding the snapshot in memory: what
// it reads goes to disk in bounded transactions as it is read. Errors in
// the snapshot are *MembershipError naming the member and field and the
// byte offset. accept, when not nil, is called with the new membership's
// header and counts and the membership in force, in the transaction that
// puts the new one in place: an error from it is returned (wrapped) and
// nothing changes. On any error the membership in force is untouched.
// It returns what is now in force.
func (s *Store) ReplaceMembershipFrom(r io.Reader, accept func(next, current MembershipInfo) error) (MembershipInfo, error) {
	s.replacing.Lock()
	defer s.replacing.Unlock()
	st := &stager{s: s}
	h, err := decodeSnapshot(r, MaxMembershipSize, nil, st)
	var info MembershipInfo
	if err == nil {
		info, err = st.finish(h, accept)
	}
	if err != nil {
		return MembershipInfo{}, fmt.Errorf("replace membership: %w", st.discard(err))
	}
	return info, nil
}

// stager writes a membership into the staging bucket, checking what a
// snapshot's form cannot: the rules of Membership.Validate, with the
// staged records standing for the sets Validate keeps in memory. It is
// the snapshotSink of ReplaceMembershipFrom.
type stager struct {
	s       *Store
	started bool // the staging bucket is this stager's
	puts    []stagedPut
	info    MembershipInfo // the counts so far
	// planIDs are the snapshot's plans, nil until they are known;
	// named holds the plans that members named before that, each with
	// the first member naming it.
	planIDs map[string]bool
	named   map[string]memberRef
}

type memberRef struct {
	index int
	id    string
}

// stagedPut is a record waiting to be staged, and what names it in an
// error: the index and id of its plan or member in the snapshot and, for
// a card, its index among the member's cards, or -1 for a card of
// Membership.Cards (index is then its index there).
type stagedPut struct {
	bucket     []byte
	key, value []byte
	index      int
	id         string
	card       int
}

var _ snapshotSink = (*stager)(nil)

func (st *stager) plans(ps []access.Plan) error {
	st.planIDs = make(map[string]bool, len(ps))
	for i, p := range ps {
		path := planPath(i, p.ID)
		if err := validatePlan(path, p); err != nil {
			return err
		}
		if st.planIDs[p.ID] {
			return merr(path+".id", "duplicate plan id")
		}
		st.planIDs[p.ID] = true
		if err := st.putPlan(i, p); err != nil {
			return err
		}
	}
	return st.checkNamed()
}

func (st *stager) member(i int, m access.Member, cards []access.Card) error {
	known := st.planIDs == nil || st.planIDs[m.PlanID]
	if err := validateMember(memberPath(i, m.ID), m, known); err != nil {
		return err
	}
	if st.planIDs == nil {
		if st.named == nil {
			st.named = make(map[string]memberRef)
		}
		if _, ok := st.named[m.PlanID]; !ok {
			st.named[m.PlanID] = memberRef{index: i, id: m.ID}
		}
	}
	if err := st.putMember(i, m); err != nil {
		return err
	}
	for j, c := range cards {
		if err := st.putCard(i, m.ID, j, c); err != nil {
			return err
		}
	}
	return nil
}

// checkNamed checks, once the plans are known, the plans that members
// named before: the first member naming an unknown plan is the error.
func (st *stager) checkNamed() error {
	var bad *memberRef
	var plan string
	for id, ref := range st.named {
		if !st.planIDs[id] && (bad == nil || ref.index < bad.index) {
			bad, plan = &ref, id
		}
	}
	st.named = nil
	if bad != nil {
		return merr(memberPath(bad.index, bad.id)+".plan", "unknown plan %q", plan)
	}
	return nil
}

// putMembership stages a membership already validated.
func (st *stager) putMembership(m Membership) error {
	st.planIDs = make(map[string]bool, len(m.Plans))
	for i, p := range m.Plans {
		st.planIDs[p.ID] = true
		if err := st.putPlan(i, p); err != nil {
			return err
		}
	}
	for i, mem := range m.Members {
		if err := st.putMember(i, mem); err != nil {
			return err
		}
	}
	for i, c := range m.Cards {
		if err := st.putCard(i, c.MemberID, -1, c); err != nil {
			return err
		}
	}
	return nil
}

func (st *stager) putPlan(i int, p access.Plan) error {
	st.info.Plans++
	return st.put(bucketPlans, p.ID, toPlanRecord(p), i, p.ID, 0)
}

func (st *stager) putMember(i int, m access.Member) error {
	st.info.Members++
	return st.put(bucketMembers, m.ID, toMemberRecord(m), i, m.ID, 0)
}

func (st *stager) putCard(i int, member string, j int, c access.Card) error {
	st.info.Cards++
	return st.put(bucketCards, c.UID, cardRecord{Member: c.MemberID, Revoked: c.Revoked}, i, member, j)
}

func (st *stager) put(bucket []byte, key string, record any, index int, id string, card int) error {
	value, err := encode(record)
	if err != nil {
		return fmt.Errorf("encode %s %q: %w", bucket, key, err)
	}
	st.puts = append(st.puts, stagedPut{bucket: bucket, key: []byte(key), value: value, index: index, id: id, card: card})
	if len(st.puts) >= stageBatch {
		return st.flush()
	}
	return nil
}

// flush writes the records waiting in one transaction, the first one
// creating the staging bucket (dropping any left by an earlier attempt).
func (st *stager) flush() error {
	err := st.s.db.Update(func(tx *bbolt.Tx) error {
		staging := tx.Bucket(bucketStaging)
		if !st.started {
			if err := dropStaging(tx); err != nil {
				return err
			}
			var err error
			if staging, err = tx.CreateBucket(bucketStaging); err != nil {
				return fmt.Errorf("create bucket %s: %w", bucketStaging, err)
			}
			for _, name := range membershipBuckets {
				if _, err := staging.CreateBucket(name); err != nil {
					return fmt.Errorf("create bucket %s/%s: %w", bucketStaging, name, err)
				}
			}
		}
		if staging == nil {
			return errors.New("the staged membership is gone")
		}
		for _, p := range st.puts {
			b := staging.Bucket(p.bucket)
			if old := b.Get(p.key); old != nil {
				return p.duplicate(old)
			}
			if err := b.Put(p.key, p.value); err != nil {
				return fmt.Errorf("stage %s %q: %w", p.bucket, p.key, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	st.started = true
	clear(st.puts)
	st.puts = st.puts[:0]
	return nil
}

// duplicate describes a record whose key is staged already.
func (p stagedPut) duplicate(staged []byte) error {
	switch string(p.bucket) {
	case string(bucketPlans):
		return merr(planPath(p.index, p.id)+".id", "duplicate plan id")
	case string(bucketMembers):
		return merr(memberPath(p.index, p.id)+".id", "duplicate member id")
	}
	var r cardRecord
	if err := decode(staged, &r); err != nil {
		return fmt.Errorf("decode staged card %q: %w", p.key, err)
	}
	if p.card < 0 {
		return merr(fmt.Sprintf("cards[%d] (uid %q, member %q)", p.index, p.key, p.id), "already belongs to member %q", r.Member)
	}
	return duplicateCard(p.index, p.id, p.card, string(p.key), r.Member)
}

// finish checks what could only be checked at the end, stages the last
// records and puts the staged membership in place.
func (st *stager) finish(h snapshotHeader, accept func(next, current MembershipInfo) error) (MembershipInfo, error) {
	if err := checkHeader(h.Centre, h.Revision, h.GeneratedAt); err != nil {
		return MembershipInfo{}, err
	}
	if st.planIDs == nil { // a snapshot without plans
		st.planIDs = map[string]bool{}
		if err := st.checkNamed(); err != nil {
			return MembershipInfo{}, err
		}
	}
	if len(st.puts) > 0 || !st.started {
		if err := st.flush(); err != nil {
			return MembershipInfo{}, err
		}
	}
	next := st.info
	next.Centre, next.Revision, next.GeneratedAt = h.Centre, h.Revision, h.GeneratedAt
	err := st.s.db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		var current membershipMeta
		if b := meta.Get(keyMembership); b != nil {
			if err := decode(b, &current); err != nil {
				return fmt.Errorf("decode membership info: %w", err)
			}
		}
		if accept != nil {
			if err := accept(next, MembershipInfo(current)); err != nil {
				return err
			}
		}
		staging := tx.Bucket(bucketStaging)
		if staging == nil {
			return errors.New("the staged membership is gone")
		}
		for _, name := range membershipBuckets {
			if err := tx.DeleteBucket(name); err != nil {
				return fmt.Errorf("drop bucket %s: %w", name, err)
			}
			if err := tx.MoveBucket(name, staging, nil); err != nil {
				return fmt.Errorf("move staged %s into place: %w", name, err)
			}
		}
		if err := tx.DeleteBucket(bucketStaging); err != nil {
			return fmt.Errorf("drop bucket %s: %w", bucketStaging, err)
		}
		b, err := encode(membershipMeta(next))
		if err != nil {
			return err
		}
		return meta.Put(keyMembership, b)
	})
	if err != nil {
		return MembershipInfo{}, err
	}
	st.started = false // the staging bucket is gone: it is the membership now
	return next, nil
}

// discard drops what this stager staged after err, and returns err with
// any error doing so.
func (st *stager) discard(err error) error {
	if !st.started {
		return err
	}
	if derr := st.s.db.Update(dropStaging); derr != nil {
		return errors.Join(err, derr)
	}
	st.started = false
	return err
}

// dropStaging deletes the staging bucket, if there is one: a replacement
// that failed, or was cut off by a crash.
func dropStaging(tx *bbolt.Tx) error {
	if tx.Bucket(bucketStaging) == nil {
		return nil
	}
	if err := tx.DeleteBucket(bucketStaging); err != nil {
		return fmt.Errorf("drop bucket %s: %w", bucketStaging, err)
	}
	return nil
}

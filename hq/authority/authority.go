package authority

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// Names in JetStream.
const (
	StreamName = "JOURNAL" // subjects journal.{centre}: every signed entry
	BucketName = "MEMBERS" // the materialised membership of every centre
)

// Defaults of Options.
const (
	DefaultCatchUpEntries = 500
	DefaultAnswerEvery    = time.Second
	DefaultSnapshotEvery  = 10 * time.Second
	DefaultWorkers        = 4
	DefaultQueueGroup     = "seathq-authority"
	DefaultSetupTimeout   = 30 * time.Second
)

// Options configure an Authority. The zero value is usable: one replica,
// the defaults above, no logging.
type Options struct {
	// Replicas of the JOURNAL stream and the MEMBERS bucket: 1 on a single
	// server, 3 on the national cluster. Default 1.
	Replicas int
	// CatchUpEntries is the most entries one catch-up answer resends;
	// a gateway further behind gets a snapshot. Default 500.
	CatchUpEntries int
	// AnswerEvery is the least time between two answers to one gateway,
	// SnapshotEvery after an answer that was a snapshot. Requests in
	// between are merged into one answer, sent when the time is up.
	// Defaults 1 s and 10 s.
	AnswerEvery, SnapshotEvery time.Duration
	// Workers answer catch-up requests concurrently. Default 4.
	Workers int
	// QueueGroup is the NATS queue group in which HQ instances share the
	// catch-up requests. Default "seathq-authority".
	QueueGroup string
	// SetupTimeout bounds creating or updating the stream and the bucket
	// in New. Default 30 s.
	SetupTimeout time.Duration
	// Logger receives warnings (failed answers, KV repairs, garbage
	// requests, rate-limited). Nil: nothing is logged.
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.CatchUpEntries <= 0 {
		o.CatchUpEntries = DefaultCatchUpEntries
	}
	if o.AnswerEvery <= 0 {
		o.AnswerEvery = DefaultAnswerEvery
	}
	if o.SnapshotEvery <= 0 {
		o.SnapshotEvery = DefaultSnapshotEvery
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.QueueGroup == "" {
		o.QueueGroup = DefaultQueueGroup
	}
	if o.SetupTimeout <= 0 {
		o.SetupTimeout = DefaultSetupTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Stats count what an Authority did since New.
type Stats struct {
	Appended  uint64 `json:"appended"`  // entries appended to the journal
	Conflicts uint64 `json:"conflicts"` // appends retried because another writer came first
	KVErrors  uint64 `json:"kv_errors"` // KV writes that failed (the next read repairs them)

	Wants         uint64 `json:"wants"`          // catch-up requests received
	WantsRejected uint64 `json:"wants_rejected"` // requests that did not decode, or on a bad subject
	WantsMerged   uint64 `json:"wants_merged"`   // requests merged into another answer (rate limit)
	EntryAnswers  uint64 `json:"entry_answers"`  // answers made of entries
	SnapAnswers   uint64 `json:"snap_answers"`   // answers made of a snapshot
	EntriesSent   uint64 `json:"entries_sent"`
	ChunksSent    uint64 `json:"chunks_sent"`
	AnswerErrors  uint64 `json:"answer_errors"` // answers that failed
}

type counters struct {
	appended, conflicts, kvErrors                                  atomic.Uint64
	wants, wantsRejected, wantsMerged                              atomic.Uint64
	entryAnswers, snapAnswers, entriesSent, chunksSent, answerErrs atomic.Uint64
}

// Authority is HQ's membership authority. Its methods are safe for
// concurrent use, and any number of Authorities (in one process or many)
// may share one JetStream.
type Authority struct {
	js       jetstream.JetStream
	nc       *nats.Conn
	key      ed25519.PrivateKey
	o        Options
	log      *slog.Logger
	journal  jetstream.Stream
	kv       jetstream.KeyValue
	kvStream jetstream.Stream
	locks    [lockStripes]chan struct{}
	n        counters
}

// lockStripes serialise one Authority's changes to a centre (centres are
// hashed onto them): they spare it conflicts with itself; other instances
// are kept out by the journal's compare-and-set.
const lockStripes = 64

// New returns an Authority that signs with hqKey, creating the JOURNAL
// stream and the MEMBERS bucket, or bringing their configuration up to
// date. js and nc are HQ's JetStream and NATS connection (the entries to
// gateways are core NATS publishes).
func New(js jetstream.JetStream, nc *nats.Conn, hqKey ed25519.PrivateKey, o Options) (*Authority, error) {
	if len(hqKey) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("authority: HQ key is %d bytes, want %d", len(hqKey), ed25519.PrivateKeySize)
	}
	if js == nil || nc == nil {
		return nil, errors.New("authority: JetStream and NATS connection required")
	}
	o.setDefaults()
	a := &Authority{js: js, nc: nc, key: hqKey, o: o, log: o.Logger}
	for i := range a.locks {
		a.locks[i] = make(chan struct{}, 1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.SetupTimeout)
	defer cancel()
	var err error
	a.journal, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              StreamName,
		Description:       "seatgate membership journal: every HQ-signed entry, per centre in revision order",
		Subjects:          []string{journalSubject("*")},
		Storage:           jetstream.FileStorage,
		Replicas:          o.Replicas,
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		MaxMsgs:           -1,
		MaxBytes:          -1,
		MaxMsgsPerSubject: -1,
		DenyDelete:        true,
		DenyPurge:         true,
	})
	if err != nil {
		return nil, fmt.Errorf("authority: stream %s: %w", StreamName, err)
	}
	a.kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      BucketName,
		Description: "seatgate membership per centre, materialised from the JOURNAL stream",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("authority: bucket %s: %w", BucketName, err)
	}
	a.kvStream, err = js.Stream(ctx, "KV_"+BucketName)
	if err != nil {
		return nil, fmt.Errorf("authority: bucket %s: %w", BucketName, err)
	}
	return a, nil
}

// Stats returns the counters.
func (a *Authority) Stats() Stats {
	n := &a.n
	return Stats{
		Appended: n.appended.Load(), Conflicts: n.conflicts.Load(), KVErrors: n.kvErrors.Load(),
		Wants: n.wants.Load(), WantsRejected: n.wantsRejected.Load(), WantsMerged: n.wantsMerged.Load(),
		EntryAnswers: n.entryAnswers.Load(), SnapAnswers: n.snapAnswers.Load(),
		EntriesSent: n.entriesSent.Load(), ChunksSent: n.chunksSent.Load(), AnswerErrors: n.answerErrs.Load(),
	}
}

// PutMember inserts or replaces member m (its cards are unchanged). Its
// plan must exist. It returns the centre's revision after the change.
func (a *Authority) PutMember(ctx context.Context, centre string, m access.Member) (int64, error) {
	m = cloneMember(m)
	return a.change(ctx, centre, fmt.Sprintf("put member %q", m.ID), func(s *model) []wire.JournalEntry {
		if cur, ok := s.members[m.ID]; ok && sameMember(cur, m) {
			return nil
		}
		return []wire.JournalEntry{{Op: wire.OpMemberPut, Member: &m}}
	})
}

// DeleteMember deletes a member and the member's cards.
func (a *Authority) DeleteMember(ctx context.Context, centre, id string) (int64, error) {
	return a.one(ctx, centre, fmt.Sprintf("delete member %q", id), wire.JournalEntry{Op: wire.OpMemberDelete, ID: id})
}

// PutCard inserts or replaces a card (UID in any form CanonicalUID
// accepts; revoked or not). Its member must exist, and a card that belongs
// to another member is refused (ErrCardTaken).
func (a *Authority) PutCard(ctx context.Context, centre string, c access.Card) (int64, error) {
	what := fmt.Sprintf("put card %q", c.UID)
	uid, err := access.CanonicalUID(c.UID)
	if err != nil {
		return 0, fmt.Errorf("%s: %s: %w: %w", centre, what, ErrInvalid, err)
	}
	c.UID = uid
	return a.change(ctx, centre, what, func(s *model) []wire.JournalEntry {
		if cur, ok := s.cards[uid]; ok && cur == c {
			return nil
		}
		return []wire.JournalEntry{{Op: wire.OpCardPut, Card: &c}}
	}, func(s *model, e wire.JournalEntry) error {
		if cur, ok := s.cards[uid]; ok && cur.MemberID != c.MemberID {
			return fmt.Errorf("owned by member %q: %w", cur.MemberID, ErrCardTaken)
		}
		return nil
	})
}

// RevokeCard revokes a card: it stays its member's, and refuses taps.
func (a *Authority) RevokeCard(ctx context.Context, centre, uid string) (int64, error) {
	what := fmt.Sprintf("revoke card %q", uid)
	c, err := access.CanonicalUID(uid)
	if err != nil {
		return 0, fmt.Errorf("%s: %s: %w: %w", centre, what, ErrInvalid, err)
	}
	return a.change(ctx, centre, what, func(s *model) []wire.JournalEntry {
		if cur, ok := s.cards[c]; ok && cur.Revoked {
			return nil
		}
		return []wire.JournalEntry{{Op: wire.OpCardRevoke, ID: c}}
	})
}

// PutPlan inserts or replaces a plan.
func (a *Authority) PutPlan(ctx context.Context, centre string, p access.Plan) (int64, error) {
	p = clonePlan(p)
	return a.change(ctx, centre, fmt.Sprintf("put plan %q", p.ID), func(s *model) []wire.JournalEntry {
		if cur, ok := s.plans[p.ID]; ok && samePlan(cur, p) {
			return nil
		}
		return []wire.JournalEntry{{Op: wire.OpPlanPut, Plan: &p}}
	})
}

// DeletePlan deletes a plan that no member has (else ErrPlanInUse).
func (a *Authority) DeletePlan(ctx context.Context, centre, id string) (int64, error) {
	return a.one(ctx, centre, fmt.Sprintf("delete plan %q", id), wire.JournalEntry{Op: wire.OpPlanDelete, ID: id})
}

// Suspend suspends a member: all the member's taps are refused.
func (a *Authority) Suspend(ctx context.Context, centre, memberID string) (int64, error) {
	return a.status(ctx, centre, memberID, wire.OpSuspend, access.StatusSuspended)
}

// Resume makes a suspended member active again.
func (a *Authority) Resume(ctx context.Context, centre, memberID string) (int64, error) {
	return a.status(ctx, centre, memberID, wire.OpResume, access.StatusActive)
}

func (a *Authority) status(ctx context.Context, centre, id string, op wire.Op, st access.MemberStatus) (int64, error) {
	return a.change(ctx, centre, fmt.Sprintf("%s member %q", op, id), func(s *model) []wire.JournalEntry {
		if cur, ok := s.members[id]; ok && cur.Status == st {
			return nil
		}
		return []wire.JournalEntry{{Op: op, ID: id}}
	})
}

// one appends a change that is never a no-op.
func (a *Authority) one(ctx context.Context, centre, what string, e wire.JournalEntry) (int64, error) {
	return a.change(ctx, centre, what, func(*model) []wire.JournalEntry { return []wire.JournalEntry{e} })
}

// ImportSnapshot makes the centre's membership m (m.Centre; m.Revision and
// m.GeneratedAt are ignored) by appending the entries that differ: plans,
// members and cards of m that are new or changed are put; members and
// plans not in m are deleted, with their cards; cards not in m whose member
// stays are revoked (the journal cannot forget a card and keep its member).
// A card of m may move to another member. Importing the same membership
// again appends nothing. It returns the centre's revision afterwards.
//
// m is validated as a whole first (store.Membership.Validate): an invalid
// membership appends nothing. The entries are appended one by one, each a
// valid change on its own, so gateways follow as they do any change; if the
// import is interrupted (ctx, a failure) the revision reached is returned
// with the error, and importing m again finishes the job.
func (a *Authority) ImportSnapshot(ctx context.Context, m store.Membership) (int64, error) {
	m.Revision = 0
	if m.GeneratedAt.IsZero() {
		m.GeneratedAt = time.Now()
	}
	what := fmt.Sprintf("import membership (%d plans, %d members, %d cards)", len(m.Plans), len(m.Members), len(m.Cards))
	if err := m.Validate(); err != nil {
		return 0, fmt.Errorf("%s: %s: %w: %w", m.Centre, what, ErrInvalid, err)
	}
	return a.change(ctx, m.Centre, what, func(s *model) []wire.JournalEntry { return s.diff(m) })
}

// Snapshot returns the centre's current membership, at the revision of the
// journal's last entry (revision 0 and no records for an unknown centre).
// One revision always gives the same membership, generated at the time of
// its last entry.
func (a *Authority) Snapshot(ctx context.Context, centre string) (store.Membership, error) {
	if !wire.ValidID(centre) {
		return store.Membership{}, fmt.Errorf("snapshot of %q: %w: not a centre ID", centre, ErrInvalid)
	}
	var s *model
	err := a.retry(ctx, func() (err error) {
		s, err = a.state(ctx, centre)
		return err
	})
	if err != nil {
		return store.Membership{}, fmt.Errorf("snapshot of %s: %w", centre, err)
	}
	m := s.membership(time.Now())
	if err := m.Validate(); err != nil {
		return store.Membership{}, fmt.Errorf("snapshot of %s at revision %d: %w", centre, s.rev, err)
	}
	return m, nil
}

// Revision returns the revision of the centre's last journal entry (0 when
// it has none).
func (a *Authority) Revision(ctx context.Context, centre string) (int64, error) {
	if !wire.ValidID(centre) {
		return 0, fmt.Errorf("revision of %q: %w: not a centre ID", centre, ErrInvalid)
	}
	h, err := a.head(ctx, centre)
	return h.rev, err
}

// change appends the entries plan returns for the centre's current state
// (none: nothing to do), each checked first against the state it follows
// (model.check, then the extra checks given), signed, stored with the
// journal's compare-and-set, published to the centre's gateways and
// written to the KV. When another writer appends first, the state is read
// again and plan asked again. It returns the revision after the last entry.
// A refused change appends nothing and returns 0 with the error; a failure
// part way through an import keeps what was appended before it and returns
// the revision reached with the error.
func (a *Authority) change(ctx context.Context, centre, what string, plan func(*model) []wire.JournalEntry,
	checks ...func(*model, wire.JournalEntry) error) (int64, error) {
	fail := func(err error) error { return fmt.Errorf("%s: %s: %w", centre, what, err) }
	if !wire.ValidID(centre) {
		return 0, fail(fmt.Errorf("%w: %q is not a centre ID", ErrInvalid, centre))
	}
	unlock, err := a.lock(ctx, centre)
	if err != nil {
		return 0, fail(err)
	}
	defer unlock()

	var rev int64
	appended := false
	err = a.retry(ctx, func() error {
		s, err := a.state(ctx, centre)
		if err != nil {
			return err
		}
		rev = s.rev
		for _, e := range plan(s) {
			if err := s.check(e); err != nil {
				return err
			}
			for _, c := range checks {
				if err := c(s, e); err != nil {
					return err
				}
			}
			signed, raw, seq, err := a.appendEntry(ctx, s, e)
			if err != nil {
				return err
			}
			a.n.appended.Add(1)
			rev, appended = signed.Rev, true
			a.publish(centre, raw)
			recs := map[string]record{}
			for _, r := range s.apply(signed) {
				recs[r.key] = r
			}
			s.seq = seq
			if err := a.writeKV(ctx, s, recs); err != nil {
				a.n.kvErrors.Add(1)
				a.log.Warn("authority: KV not updated after append; the next read repairs it", "centre", centre, "rev", rev, "err", err)
			}
		}
		return nil
	})
	if err != nil {
		if !appended {
			rev = 0
		}
		return rev, fail(err)
	}
	return rev, nil
}

// publish sends a stored entry to the centre's gateways (core NATS; the
// broker's MQTT listener delivers it to seats/v1/{c}/journal). A lost
// publish is harmless: gateways see the gap at the next entry, or ask on
// reconnecting.
func (a *Authority) publish(centre string, raw []byte) {
	subject, err := wire.NATSSubject(wire.Topics{Centre: centre}.Journal())
	if err == nil {
		err = a.nc.Publish(subject, raw)
	}
	if err != nil {
		a.log.Warn("authority: journal entry not published; gateways catch up later", "centre", centre, "err", err)
	}
}

// state returns the centre's exact state at the journal's last entry: the
// KV, brought forward by the entries it lacks (which are then written to
// it). It fails with errConflict when the KV holds a revision past the
// journal's last entry as read: another writer appended meanwhile.
func (a *Authority) state(ctx context.Context, centre string) (*model, error) {
	h, err := a.head(ctx, centre)
	if err != nil {
		return nil, err
	}
	s, maxRev, err := a.loadKV(ctx, centre)
	if err != nil {
		return nil, err
	}
	if maxRev > h.rev || s.rev > h.rev {
		return nil, fmt.Errorf("%w: membership KV at revision %d, journal at %d", errConflict, max(maxRev, s.rev), h.rev)
	}
	if s.rev < h.rev {
		recs := map[string]record{}
		err := a.entries(ctx, centre, s.rev+1, h, func(_ []byte, e wire.JournalEntry) error {
			for _, r := range s.apply(e) {
				recs[r.key] = r
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("bring the membership KV from revision %d to %d: %w", s.rev, h.rev, err)
		}
		if err := a.writeKV(ctx, s, recs); err != nil {
			a.n.kvErrors.Add(1)
			a.log.Warn("authority: KV not brought up to date", "centre", centre, "rev", h.rev, "err", err)
		}
	}
	s.rev, s.seq, s.at = h.rev, h.seq, h.at
	return s, nil
}

// retry runs fn until it does not fail with errConflict, backing off with
// jitter, at most maxConflicts times.
func (a *Authority) retry(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if !errors.Is(err, errConflict) {
			return err
		}
		a.n.conflicts.Add(1)
		if attempt == maxConflicts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		d := time.Duration(rand.Int64N(int64(min(attempt, 20)) * int64(2*time.Millisecond)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
}

const maxConflicts = 100

// lock takes the stripe of the centre, or gives up with ctx.
func (a *Authority) lock(ctx context.Context, centre string) (func(), error) {
	h := fnv.New32a()
	h.Write([]byte(centre))
	l := a.locks[h.Sum32()%lockStripes]
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

package authority

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/sync/wire"
)

// The MEMBERS bucket: the materialised membership of every centre.
//
//	{centre}.rev          the journal revision the centre's keys are at (decimal)
//	{centre}.plan.{id}    a record: plan_put, or plan_delete when deleted
//	{centre}.member.{id}  a record: member_put (status included), or member_delete
//	{centre}.card.{uid}   a record: card_put (revoked included), or member_delete
//	                      naming the member the card went with
//
// A record is the unsigned JSON form of a wire.JournalEntry whose rev is the
// revision that last set the key (see record). Deleted plans, members and
// cards keep a tombstone, so that a key's revision only ever grows: every
// write is a compare-and-set that leaves alone a key already at a later
// revision, and two instances (or one retrying) can write the same entries
// in any order without rolling a key back.
//
// IDs are escaped for the key: A-Z, a-z, 0-9, '-' and '_' stand for
// themselves, any other byte is '=' and two upper-case hex digits
// ("m.001" → "m=2E001"). Card UIDs are canonical hex and appear as they are.

func planKey(centre, id string) string   { return centre + ".plan." + escapeKey(id) }
func memberKey(centre, id string) string { return centre + ".member." + escapeKey(id) }
func cardKey(centre, uid string) string  { return centre + ".card." + escapeKey(uid) }
func revKey(centre string) string        { return centre + ".rev" }

// kvSubjectPrefix is the subject prefix of the bucket's keys in its stream.
const kvSubjectPrefix = "$KV." + BucketName + "."

// kvKey is what the model knows of one KV key: the revision of its record
// and the KV's own revision of it, for the next compare-and-set (0: absent).
type kvKey struct {
	rev   int64
	kvRev uint64
}

// escapeKey makes an ID one token of a KV key.
func escapeKey(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	return b.String()
}

// loadKV reads every key of the centre in one pass (an ephemeral consumer
// delivering the last value of each key, a consistent prefix of the
// bucket) into a model at the revision of {centre}.rev. It also returns the
// highest revision of any record: above the model's revision when entries
// after it are being written. A record that does not decode is logged and
// makes the whole model start from nothing (revision 0), to be rebuilt from
// the journal; the keys' KV revisions are kept for the writes.
func (a *Authority) loadKV(ctx context.Context, centre string) (*model, int64, error) {
	m := newModel(centre)
	var maxRev int64
	var corrupt error
	err := scan(ctx, a.kvStream, jetstream.ConsumerConfig{
		DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy,
		FilterSubject: kvSubjectPrefix + centre + ".>",
	}, func(msg jetstream.Msg) (bool, error) {
		meta, err := msg.Metadata()
		if err != nil {
			return false, err
		}
		key := strings.TrimPrefix(msg.Subject(), kvSubjectPrefix)
		if op := msg.Headers().Get("KV-Operation"); op == "DEL" || op == "PURGE" {
			m.keys[key] = kvKey{kvRev: meta.Sequence.Stream}
			return true, nil
		}
		rev, err := m.load(key, msg.Data())
		if err != nil && corrupt == nil {
			corrupt = err
		}
		m.keys[key] = kvKey{rev: rev, kvRev: meta.Sequence.Stream}
		maxRev = max(maxRev, rev)
		return true, nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read membership of %s from KV: %w", centre, err)
	}
	if corrupt != nil {
		a.log.Warn("authority: membership KV unreadable, rebuilding the centre from the journal", "centre", centre, "err", corrupt)
		fresh := newModel(centre)
		for k, v := range m.keys {
			fresh.keys[k] = kvKey{kvRev: v.kvRev}
		}
		return fresh, 0, nil
	}
	return m, maxRev, nil
}

// load puts the value of one KV key into the model and returns its
// revision. Keys of other kinds are left alone (revision 0).
func (m *model) load(key string, val []byte) (int64, error) {
	kind, _, _ := strings.Cut(strings.TrimPrefix(key, m.centre+"."), ".")
	if kind == "rev" && key == revKey(m.centre) {
		rev, err := strconv.ParseInt(string(val), 10, 64)
		if err != nil || rev < 0 {
			return 0, fmt.Errorf("key %s: %q is not a revision", key, val)
		}
		m.rev = rev
		return rev, nil
	}
	if kind != "plan" && kind != "member" && kind != "card" {
		return 0, nil
	}
	e, err := wire.DecodeJournalEntry(val)
	if err != nil {
		return 0, fmt.Errorf("key %s: %w", key, err)
	}
	if e.Centre != m.centre {
		return 0, fmt.Errorf("key %s: record of centre %s", key, e.Centre)
	}
	want := ""
	switch {
	case kind == "plan" && e.Op == wire.OpPlanPut:
		m.plans[e.Plan.ID], want = *e.Plan, planKey(m.centre, e.Plan.ID)
	case kind == "plan" && e.Op == wire.OpPlanDelete:
		want = key
	case kind == "member" && e.Op == wire.OpMemberPut:
		m.members[e.Member.ID], want = *e.Member, memberKey(m.centre, e.Member.ID)
	case kind == "member" && e.Op == wire.OpMemberDelete:
		want = memberKey(m.centre, e.ID)
	case kind == "card" && e.Op == wire.OpCardPut:
		m.cards[e.Card.UID], want = *e.Card, cardKey(m.centre, e.Card.UID)
	case kind == "card" && e.Op == wire.OpMemberDelete:
		want = key
	default:
		return 0, fmt.Errorf("key %s: a record of op %s", key, e.Op)
	}
	if key != want {
		return 0, fmt.Errorf("key %s holds the record of %s", key, want)
	}
	return e.Rev, nil
}

// writeKV writes the records given, then the centre's revision key: the
// KV follows the model, a key at a time, forward only.
func (a *Authority) writeKV(ctx context.Context, m *model, recs map[string]record) error {
	for _, key := range slices.Sorted(maps.Keys(recs)) {
		r := recs[key]
		r.Sig = ""
		val, err := wire.Encode(&r.JournalEntry)
		if err != nil {
			return fmt.Errorf("encode KV record %s: %w", key, err)
		}
		if err := a.putForward(ctx, m, key, r.Rev, val); err != nil {
			return err
		}
	}
	return a.putForward(ctx, m, revKey(m.centre), m.rev, []byte(strconv.FormatInt(m.rev, 10)))
}

// putForward sets key to val, of revision rev, unless the key already holds
// revision rev or later: a compare-and-set on the KV revision the model
// knows, re-read on conflict.
func (a *Authority) putForward(ctx context.Context, m *model, key string, rev int64, val []byte) error {
	known := m.keys[key]
	for range maxKVAttempts {
		if known.kvRev != 0 && known.rev >= rev {
			return nil
		}
		var kvRev uint64
		var err error
		if known.kvRev == 0 {
			kvRev, err = a.kv.Create(ctx, key, val)
		} else {
			kvRev, err = a.kv.Update(ctx, key, val, known.kvRev)
		}
		if err == nil {
			m.keys[key] = kvKey{rev: rev, kvRev: kvRev}
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return fmt.Errorf("write KV %s: %w", key, err)
		}
		cur, err := a.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			known = kvKey{}
		case err != nil:
			return fmt.Errorf("read KV %s: %w", key, err)
		default:
			known = kvKey{rev: recordRev(m.centre, key, cur.Value()), kvRev: cur.Revision()}
			m.keys[key] = known
		}
	}
	return fmt.Errorf("write KV %s: still changing after %d attempts", key, maxKVAttempts)
}

const maxKVAttempts = 10

// recordRev is the revision of a KV value; 0 when it does not decode, so
// that a damaged value is overwritten.
func recordRev(centre, key string, val []byte) int64 {
	if key == revKey(centre) {
		rev, err := strconv.ParseInt(string(val), 10, 64)
		if err != nil {
			return 0
		}
		return rev
	}
	e, err := wire.DecodeJournalEntry(val)
	if err != nil {
		return 0
	}
	return e.Rev
}

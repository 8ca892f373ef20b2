// Package authority is HQ's membership authority: the one place where the
// memberships of every centre (plans, members, cards, suspensions) change,
// as a journal of HQ-signed entries that the gateways apply in order
// (package sync/journal on the gateway side; docs/protocol.md).
//
// # Changes
//
// PutMember, DeleteMember, PutCard, RevokeCard, PutPlan, DeletePlan,
// Suspend and Resume each check the change against the centre's current
// membership, append one wire.JournalEntry with the next revision, signed
// with HQ's key, publish it to the centre's gateways (seats/v1/{c}/journal,
// a core NATS publish: it reaches an online gateway within milliseconds)
// and return the revision. The checks are the gateway store's own rules
// (store.Membership.Validate, and what store.ApplyChange refuses), so that
// no gateway ever refuses an entry HQ accepted, plus HQ's: a change must
// name a member, plan or card that exists (ErrNotFound), a card belongs to
// one member (ErrCardTaken), a plan in use cannot go (ErrPlanInUse), and
// malformed values are ErrInvalid. A refused change appends nothing.
// A change that leaves the membership as it is (putting an identical
// member, revoking a revoked card, suspending a suspended member) appends
// nothing either and returns the current revision.
//
// ImportSnapshot makes a centre's membership equal to a given one by
// appending only the entries that differ, in an order in which each is
// valid; gateways follow it like any change. There is no snapshot marker in
// the journal: the journal stays a list of protocol v1 entries that any
// gateway can be sent, and a gateway far behind gets a snapshot built from
// the state anyway.
//
// # State in JetStream
//
// The JOURNAL stream (file storage, Options.Replicas) holds every signed
// entry, on subject journal.{centre}: a centre's N-th message is its
// revision N. It is append-only (deny delete, deny purge, no limits).
// Revisions are assigned by compare-and-set: an entry is published with the
// stream sequence of the centre's last entry as expected last subject
// sequence, so when two HQ instances append at once, one is refused, reads
// the new state, checks its change again and retries. No revision is ever
// assigned twice or skipped. An append whose answer was lost is recognised
// by its bytes and not appended again.
//
// The MEMBERS bucket holds each centre's materialised membership: the keys
// {centre}.plan.{id}, {centre}.member.{id}, {centre}.card.{uid} (one record
// each, tombstones for deleted ones) and {centre}.rev, the revision the keys
// are at (see kv.go for the record format). It is written after the entry
// is stored, key by key with compare-and-set, forward only. It is a cache
// of the stream: a read of a centre (one pass over its keys) that finds it
// behind the journal (an instance stopped between the two writes, or the
// bucket was lost) applies the missing entries and writes them back, and
// a record that does not decode makes the centre be rebuilt from the
// journal's first entry.
//
// # Catch-up
//
// Run serves gateways' catch-up requests (wire.JournalWant on
// seats/v1/{c}/{g}/journal/want, shared by the HQ instances in a NATS queue
// group). A request from revision From is answered on the gateway's
// seats/v1/{c}/{g}/journal with the stored entries From..last, as signed
// when appended, if there are at most Options.CatchUpEntries of them and
// the stream still holds them; otherwise with the current membership as a
// snapshot in wire.SnapshotChunks, each signed. Answers to one gateway are
// rate-limited (Options.AnswerEvery, SnapshotEvery after a snapshot);
// requests in between merge into one answer from the latest request's
// revision, so a gateway asking a hundred times a second gets one answer a
// second, and none is lost. Requests that do not decode are counted and
// logged (rate-limited), never fatal.
//
// Every goroutine belongs to Run and ends before it returns; the other
// methods start none.
package authority

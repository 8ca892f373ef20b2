package wire

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
)

// The Validate methods check a message against the rules of protocol v1
// (docs/protocol.md). Decoders call them; Sign and Encode call them so
// that a sender never produces what a receiver rejects. Errors are
// *MessageError of Kind ErrVersion or ErrInvalid.

// Validate checks the batch: v, IDs, boot; 1 to MaxBatchEvents events
// whose seqs run First..Last with no gap; PrevHash GenesisHash when First
// is 1; every hash 64 lower-case hex digits; every event with a time and
// a kind; sig, when present, base64 of 64 bytes. It does not recompute
// the chain: see VerifyChain.
func (m EventBatch) Validate() error {
	const msg = "EventBatch"
	if err := first(
		version(msg, m.V), topicID(msg, "centre", m.Centre), gatewayID(msg, "gateway", m.Gateway),
		atLeast1(msg, "boot", m.Boot), atLeast1(msg, "first", m.First), hash(msg, "prev_hash", m.PrevHash),
		signature(msg, m.Sig),
	); err != nil {
		return err
	}
	n := uint64(len(m.Events))
	switch {
	case n == 0:
		return invalid(msg, "events", "no events")
	case n > MaxBatchEvents:
		return invalid(msg, "events", "%d events, limit %d", n, MaxBatchEvents)
	case m.Last < m.First || m.Last-m.First != n-1:
		return invalid(msg, "last", "first %d, last %d: want last = first + %d for %d events", m.First, m.Last, n-1, n)
	case m.First == 1 && m.PrevHash != GenesisHash:
		return invalid(msg, "prev_hash", "first is 1: want GenesisHash (64 zeros)")
	}
	for i, e := range m.Events {
		field := func(name string) string { return fmt.Sprintf("events[%d].%s", i, name) }
		switch {
		case e.Seq != m.First+uint64(i):
			return invalid(msg, field("seq"), "%d, want %d", e.Seq, m.First+uint64(i))
		case e.Time.IsZero():
			return invalid(msg, field("time"), "missing")
		case e.Kind == "":
			return invalid(msg, field("kind"), "missing")
		}
		if err := hash(msg, field("hash"), e.Hash); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks v, IDs, boot, firmware, started_at, key_id (16
// lower-case hex digits) and the form of sig when present.
func (m Birth) Validate() error {
	const msg = "Birth"
	return first(
		version(msg, m.V), topicID(msg, "centre", m.Centre), gatewayID(msg, "gateway", m.Gateway),
		atLeast1(msg, "boot", m.Boot), token(msg, "firmware", m.Firmware, 64), required(msg, "started_at", m.StartedAt),
		lowerHex(msg, "key_id", m.KeyID, 16), optionalToken(msg, "channel", m.Channel), optionalToken(msg, "arch", m.Arch),
		optionalToken(msg, "hardware", m.Hardware), signature(msg, m.Sig),
	)
}

// optionalToken is empty or a token of at most 64 bytes.
func optionalToken(msg, field, s string) *MessageError {
	if s == "" {
		return nil
	}
	return token(msg, field, s, 64)
}

// Validate checks v, state (online or offline) and boot.
func (m Status) Validate() error {
	const msg = "Status"
	if err := version(msg, m.V); err != nil {
		return err
	}
	if m.State != StateOnline && m.State != StateOffline {
		return invalid(msg, "state", "%q, want %q or %q", m.State, StateOnline, StateOffline)
	}
	return first(atLeast1(msg, "boot", m.Boot))
}

// Validate checks v, time, boot, firmware, that no count or age is
// negative and that readers_ok is at most readers_total.
func (m Health) Validate() error {
	const msg = "Health"
	if err := first(
		version(msg, m.V), required(msg, "time", m.Time), atLeast1(msg, "boot", m.Boot),
		token(msg, "firmware", m.Firmware, 64),
		notNegative(msg, "uptime_s", m.UptimeSec), notNegative(msg, "outbox_oldest_s", m.OutboxOldest),
		notNegative(msg, "readers_ok", int64(m.ReadersOK)), notNegative(msg, "membership_rev", m.MembershipRev),
	); err != nil {
		return err
	}
	if m.ReadersTotal < m.ReadersOK {
		return invalid(msg, "readers_total", "%d, less than readers_ok %d", m.ReadersTotal, m.ReadersOK)
	}
	if u := m.Update; u != nil {
		if err := first(token(msg, "update.phase", u.Phase, 16),
			notNegative(msg, "update.done", int64(u.Done)), notNegative(msg, "update.total", int64(u.Total))); err != nil {
			return err
		}
		switch {
		case u.Done > u.Total:
			return invalid(msg, "update.done", "%d, more than update.total %d", u.Done, u.Total)
		case len(u.Version) > 64 || len(u.Rollout) > 32 || len(u.Detail) > 200:
			return invalid(msg, "update", "version, rollout or detail too long")
		}
	}
	return nil
}

// Validate checks v, time, the form of sig when present, and every seat:
// an ID unique in the message, a state of free (no member, no since) or
// occupied (member and since).
func (m Occupancy) Validate() error {
	const msg = "Occupancy"
	if err := first(version(msg, m.V), required(msg, "time", m.Time), signature(msg, m.Sig)); err != nil {
		return err
	}
	seen := make(map[string]bool, len(m.Seats))
	for i, s := range m.Seats {
		field := func(name string) string { return fmt.Sprintf("seats[%d].%s", i, name) }
		if err := first(recordID(msg, field("seat"), s.Seat), optionalText(msg, field("zone"), s.Zone)); err != nil {
			return err
		}
		if seen[s.Seat] {
			return invalid(msg, field("seat"), "%q listed twice", s.Seat)
		}
		seen[s.Seat] = true
		switch s.State {
		case store.SeatFree:
			if s.Member != "" || !s.Since.IsZero() {
				return invalid(msg, field("state"), "free seat with a member or since")
			}
		case store.SeatOccupied:
			if err := first(recordID(msg, field("member"), s.Member), required(msg, field("since"), s.Since)); err != nil {
				return err
			}
		default:
			return invalid(msg, field("state"), "%q, want %q or %q", s.State, store.SeatFree, store.SeatOccupied)
		}
	}
	return nil
}

// Validate checks v and that from is at least 1.
func (m JournalWant) Validate() error {
	const msg = "JournalWant"
	return first(version(msg, m.V), atLeast1(msg, "from", m.From))
}

// Validate checks v, IDs, boot, that upto is at least 1, and the form of
// sig when present.
func (m Ack) Validate() error {
	const msg = "Ack"
	return first(
		version(msg, m.V), topicID(msg, "centre", m.Centre), gatewayID(msg, "gateway", m.Gateway),
		atLeast1(msg, "boot", m.Boot), atLeast1(msg, "upto", m.Upto), signature(msg, m.Sig),
	)
}

// Validate checks v, centre, rev (at least 1), time, op, that the op has
// its payload and no other, that the payload is well formed (IDs, names,
// member status, real dates in order, seat rule, canonical card UIDs, days
// and windows of a plan, grace days 0 to 366, price not negative) and the
// form of sig when present. It does not check the payload against the
// rest of the membership (does the plan exist?): the journal does.
func (m JournalEntry) Validate() error {
	const msg = "JournalEntry"
	if err := first(
		version(msg, m.V), topicID(msg, "centre", m.Centre), atLeast1(msg, "rev", m.Rev),
		required(msg, "time", m.Time), signature(msg, m.Sig),
	); err != nil {
		return err
	}
	if !slices.Contains(Ops(), m.Op) {
		return invalid(msg, "op", "%q, want one of %v", m.Op, Ops())
	}
	want := map[Op]string{OpMemberPut: "member", OpCardPut: "card", OpPlanPut: "plan"}[m.Op]
	if want == "" {
		want = "id"
	}
	have := map[string]bool{"member": m.Member != nil, "card": m.Card != nil, "plan": m.Plan != nil, "id": m.ID != ""}
	for _, k := range []string{"member", "card", "plan", "id"} {
		switch {
		case k == want && !have[k]:
			return invalid(msg, k, "missing for op %s", m.Op)
		case k != want && have[k]:
			return invalid(msg, k, "not allowed for op %s", m.Op)
		}
	}
	switch m.Op {
	case OpMemberPut:
		return checkMember(msg, *m.Member)
	case OpCardPut:
		return first(cardUID(msg, "card.uid", m.Card.UID), recordID(msg, "card.member", m.Card.MemberID))
	case OpPlanPut:
		return checkPlan(msg, *m.Plan)
	case OpCardRevoke:
		return first(cardUID(msg, "id", m.ID))
	default:
		return first(recordID(msg, "id", m.ID))
	}
}

func checkMember(msg string, m access.Member) error {
	if err := first(
		recordID(msg, "member.id", m.ID), name(msg, "member.name", m.Name), recordID(msg, "member.plan", m.PlanID),
	); err != nil {
		return err
	}
	switch {
	case m.Status != access.StatusActive && m.Status != access.StatusSuspended:
		return invalid(msg, "member.status", "%q, want %q or %q", m.Status, access.StatusActive, access.StatusSuspended)
	case !m.ValidFrom.Valid():
		return invalid(msg, "member.valid_from", "%q is not a date", m.ValidFrom)
	case !m.ValidUntil.Valid():
		return invalid(msg, "member.valid_until", "%q is not a date", m.ValidUntil)
	case m.ValidUntil.Before(m.ValidFrom):
		return invalid(msg, "member.valid_until", "%s is before valid_from %s", m.ValidUntil, m.ValidFrom)
	}
	r := m.Seats
	switch r.Kind {
	case access.SeatAny:
		if r.Seat != "" || len(r.Zones) > 0 {
			return invalid(msg, "member.seats", `kind "any" takes no seat or zones`)
		}
	case access.SeatZones:
		if r.Seat != "" || len(r.Zones) == 0 {
			return invalid(msg, "member.seats", `kind "zones" takes a non-empty zones list and no seat`)
		}
		for i, z := range r.Zones {
			if err := recordID(msg, fmt.Sprintf("member.seats.zones[%d]", i), z); err != nil {
				return err
			}
		}
	case access.SeatFixed:
		if len(r.Zones) > 0 {
			return invalid(msg, "member.seats", `kind "fixed" takes a seat and no zones`)
		}
		return first(recordID(msg, "member.seats.seat", r.Seat))
	default:
		return invalid(msg, "member.seats.kind", "%q, want any, zones or fixed", r.Kind)
	}
	return nil
}

func checkPlan(msg string, p access.Plan) error {
	if err := first(recordID(msg, "plan.id", p.ID), name(msg, "plan.name", p.Name)); err != nil {
		return err
	}
	for i, d := range p.Days {
		switch {
		case d < time.Sunday || d > time.Saturday:
			return invalid(msg, fmt.Sprintf("plan.days[%d]", i), "day %d out of range", d)
		case slices.Contains(p.Days[:i], d):
			return invalid(msg, fmt.Sprintf("plan.days[%d]", i), "%s listed twice", dayNames[d])
		}
	}
	for i, w := range p.Windows {
		if !w.Start.Valid() || !w.End.Valid() {
			return invalid(msg, fmt.Sprintf("plan.windows[%d]", i), "time of day out of range")
		}
	}
	if p.GraceDays < 0 || p.GraceDays > 366 {
		return invalid(msg, "plan.grace_days", "%d, want 0 to 366", p.GraceDays)
	}
	return first(notNegative(msg, "plan.price_pkr", p.PricePKR))
}

// Validate checks v, centre, rev (not negative), 1 <= count <= MaxChunks,
// 0 <= index < count, 1 to MaxChunkData bytes of data, sha256 (64
// lower-case hex digits) and the form of sig when present.
func (m SnapshotChunk) Validate() error {
	const msg = "SnapshotChunk"
	if err := first(
		version(msg, m.V), topicID(msg, "centre", m.Centre), notNegative(msg, "rev", m.Rev),
		hash(msg, "sha256", m.SHA256), signature(msg, m.Sig),
	); err != nil {
		return err
	}
	switch {
	case m.Count < 1 || m.Count > MaxChunks:
		return invalid(msg, "count", "%d, want 1 to %d", m.Count, MaxChunks)
	case m.Index < 0 || m.Index >= m.Count:
		return invalid(msg, "index", "%d, want 0 to %d", m.Index, m.Count-1)
	case len(m.Data) == 0:
		return invalid(msg, "data", "empty")
	case len(m.Data) > MaxChunkData:
		return invalid(msg, "data", "%d bytes, limit %d", len(m.Data), MaxChunkData)
	}
	return nil
}

// Field checks. Each returns nil or the *MessageError for its field.

// first returns the first error that is not nil.
func first(errs ...*MessageError) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func version(msg string, v int) *MessageError {
	switch v {
	case Version:
		return nil
	case 0:
		return &MessageError{Message: msg, Kind: ErrVersion, Field: "v", Reason: "missing, want 1"}
	}
	return &MessageError{Message: msg, Kind: ErrVersion, Field: "v", Reason: fmt.Sprintf("version %d, want 1", v)}
}

func topicID(msg, field, id string) *MessageError {
	if p := idProblem(id); p != "" {
		return invalid(msg, field, "%s", p)
	}
	return nil
}

func gatewayID(msg, field, id string) *MessageError {
	if p := gatewayProblem(id); p != "" {
		return invalid(msg, field, "%s", p)
	}
	return nil
}

func atLeast1[N uint64 | int64](msg, field string, n N) *MessageError {
	if n < 1 {
		return invalid(msg, field, "%d, want at least 1", n)
	}
	return nil
}

func notNegative(msg, field string, n int64) *MessageError {
	if n < 0 {
		return invalid(msg, field, "%d is negative", n)
	}
	return nil
}

func required(msg, field string, t time.Time) *MessageError {
	if t.IsZero() {
		return invalid(msg, field, "missing")
	}
	return nil
}

func lowerHex(msg, field, s string, n int) *MessageError {
	if len(s) != n || strings.ContainsFunc(s, func(r rune) bool { return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') }) {
		return invalid(msg, field, "%.80q: want %d lower-case hex digits", s, n)
	}
	return nil
}

// hash checks a SHA-256 in hex.
func hash(msg, field, s string) *MessageError { return lowerHex(msg, field, s, 64) }

func signature(msg, sig string) *MessageError {
	if sig == "" {
		return nil
	}
	if _, err := decodeSig(sig); err != nil {
		return invalid(msg, "sig", "%v", err)
	}
	return nil
}

// text checks 1 to max bytes of printable UTF-8, with spaces or not.
func text(msg, field, s string, max int, spaces bool) *MessageError {
	switch {
	case s == "":
		return invalid(msg, field, "missing")
	case len(s) > max:
		return invalid(msg, field, "longer than %d bytes", max)
	case !utf8.ValidString(s):
		return invalid(msg, field, "not UTF-8")
	case strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || !spaces && unicode.IsSpace(r) }):
		if spaces {
			return invalid(msg, field, "%q: control characters", s)
		}
		return invalid(msg, field, "%q: spaces or control characters", s)
	}
	return nil
}

// token is a version string or similar: no spaces.
func token(msg, field, s string, max int) *MessageError { return text(msg, field, s, max, false) }

// recordID is the ID of a member, plan, seat or zone, as package store
// accepts it: 1 to 64 bytes of printable UTF-8 without spaces.
func recordID(msg, field, s string) *MessageError { return text(msg, field, s, 64, false) }

// optionalText is empty or a recordID.
func optionalText(msg, field, s string) *MessageError {
	if s == "" {
		return nil
	}
	return recordID(msg, field, s)
}

// name is a member's or plan's name: 1 to 200 bytes of printable UTF-8.
func name(msg, field, s string) *MessageError {
	if strings.TrimSpace(s) == "" {
		return invalid(msg, field, "missing")
	}
	return text(msg, field, s, 200, true)
}

func cardUID(msg, field, uid string) *MessageError {
	c, err := access.CanonicalUID(uid)
	switch {
	case err != nil:
		return invalid(msg, field, "%v", err)
	case c != uid:
		return invalid(msg, field, "%q is not canonical: want %s", uid, c)
	}
	return nil
}

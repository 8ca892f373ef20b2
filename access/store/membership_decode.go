package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/pkfreelance/seatgate/access"
)

// Reading the membership snapshot as a stream: the top-level object and
// its arrays token by token, each plan and member as one small value, so
// that a 100,000-member snapshot is never decoded whole. What each member
// becomes is handed to a snapshotSink at once: ParseMembership collects a
// Membership, ReplaceMembershipFrom stages it in bbolt.

// snapshotHeader is what a snapshot says besides its plans and members.
type snapshotHeader struct {
	Centre      string
	Revision    int64
	GeneratedAt time.Time
}

// snapshotSink receives the plans and members of a snapshot as they are
// read, each already checked for form: dates, times of day and day names
// parsed, card UIDs canonical.
type snapshotSink interface {
	// plans is called once, with every plan, at the end of the plans
	// array; not at all when the snapshot has none.
	plans(ps []access.Plan) error
	// member is called for each member in turn, with its cards.
	member(i int, m access.Member, cards []access.Card) error
}

// snapshotDecoder reads one snapshot.
type snapshotDecoder struct {
	dec  *json.Decoder
	sink snapshotSink
	// data is the whole snapshot when it is in memory: errors then give
	// lines rather than byte offsets.
	data []byte
}

// decodeSnapshot reads a snapshot from r, at most limit bytes, strictly (no
// unknown or repeated field, nothing after the object), handing plans and
// members to sink, and returns the rest. Errors in the snapshot are
// *MembershipError; errors from r or sink are returned as they are. data,
// when not nil, is what r reads.
func decodeSnapshot(r io.Reader, limit int64, data []byte, sink snapshotSink) (snapshotHeader, error) {
	in := &limitedReader{r: r, limit: limit}
	d := &snapshotDecoder{dec: json.NewDecoder(in), sink: sink, data: data}
	d.dec.DisallowUnknownFields()
	h, err := d.snapshot()
	switch {
	case in.err != nil:
		return snapshotHeader{}, fmt.Errorf("read membership: %w", in.err)
	case in.n > limit:
		return snapshotHeader{}, merr("", "larger than %d bytes", limit)
	}
	return h, err
}

func (d *snapshotDecoder) snapshot() (snapshotHeader, error) {
	var h snapshotHeader
	tok, err := d.dec.Token()
	if err == io.EOF {
		return h, merr("", "empty")
	}
	if err != nil {
		return h, d.tokenError("", err)
	}
	if tok != json.Delim('{') {
		return h, merr("", "%s: cannot unmarshal %s into a snapshot object", d.where(0), kindOf(tok))
	}
	seen := make(map[string]bool, 5)
	var generatedAt string
	for d.dec.More() {
		off := d.dec.InputOffset()
		tok, err := d.dec.Token()
		if err != nil {
			return h, d.tokenError("", err)
		}
		name, ok := tok.(string) // an object's keys are strings, or Token fails
		if !ok {
			return h, merr("", "%s: want a field name, got %s", d.where(off), kindOf(tok))
		}
		key := snapshotField(name)
		if seen[key] {
			return h, merr("", "%s: field %q given twice", d.where(off), key)
		}
		seen[key] = true
		switch key {
		case "centre":
			err = d.value(key, &h.Centre)
		case "revision":
			err = d.value(key, &h.Revision)
		case "generated_at":
			if err = d.value(key, &generatedAt); err == nil && generatedAt != "" {
				if h.GeneratedAt, err = time.Parse(time.RFC3339Nano, generatedAt); err != nil {
					err = merr(key, "%q is not an RFC 3339 time", generatedAt)
				}
			}
		case "plans":
			err = d.plans()
		case "members":
			err = d.members()
		default:
			err = merr("", "%s: unknown field %q", d.where(off), key)
		}
		if err != nil {
			return h, err
		}
	}
	if _, err := d.dec.Token(); err != nil { // the closing brace
		return h, d.tokenError("", err)
	}
	if _, err := d.dec.Token(); err != io.EOF {
		return h, merr("", "data after the snapshot object at byte %d", d.dec.InputOffset())
	}
	if generatedAt == "" {
		return h, merr("generated_at", "missing")
	}
	return h, nil
}

// snapshotField returns the top-level field that key names, matched as
// encoding/json matches the fields of plans and members (bytes.EqualFold),
// or key itself.
func snapshotField(key string) string {
	for _, f := range [...]string{"centre", "revision", "generated_at", "plans", "members"} {
		if strings.EqualFold(key, f) {
			return f
		}
	}
	return key
}

// value decodes the value of a top-level field.
func (d *snapshotDecoder) value(key string, v any) error {
	off := d.dec.InputOffset()
	if err := d.dec.Decode(v); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return merr("", "%s: %s: want %s, got %s", d.where(off), key, typ.Type, typ.Value)
		}
		return d.tokenError(key, err)
	}
	return nil
}

// arrayStart reads the start of the array of a top-level field: false
// for null, which is an empty array.
func (d *snapshotDecoder) arrayStart(key string) (bool, error) {
	off := d.dec.InputOffset()
	tok, err := d.dec.Token()
	switch {
	case err != nil:
		return false, d.tokenError(key, err)
	case tok == nil:
		return false, nil
	case tok != json.Delim('['):
		return false, merr(key, "%s: want an array, got %s", d.where(off), kindOf(tok))
	}
	return true, nil
}

// arrayEnd reads the end of an array.
func (d *snapshotDecoder) arrayEnd(key string) error {
	if _, err := d.dec.Token(); err != nil {
		return d.tokenError(key, err)
	}
	return nil
}

func (d *snapshotDecoder) plans() error {
	ok, err := d.arrayStart("plans")
	if err != nil {
		return err
	}
	var ps []access.Plan
	if ok {
		for i := 0; d.dec.More(); i++ {
			var pj planJSON
			if err := d.element("plans", i, &pj); err != nil {
				return err
			}
			p, err := pj.plan(i)
			if err != nil {
				return err
			}
			ps = append(ps, p)
		}
		if err := d.arrayEnd("plans"); err != nil {
			return err
		}
	}
	return d.sink.plans(ps)
}

func (d *snapshotDecoder) members() error {
	ok, err := d.arrayStart("members")
	if !ok || err != nil {
		return err
	}
	for i := 0; d.dec.More(); i++ {
		var mj memberJSON // a fresh one each time: Decode merges into what is there
		if err := d.element("members", i, &mj); err != nil {
			return err
		}
		m, cards, err := mj.member(i)
		if err != nil {
			return err
		}
		if err := d.sink.member(i, m, cards); err != nil {
			return err
		}
	}
	return d.arrayEnd("members")
}

// element decodes element i of an array into v.
func (d *snapshotDecoder) element(array string, i int, v any) error {
	off := d.dec.InputOffset() // at the element, or at the comma before it
	err := d.dec.Decode(v)
	if err == nil {
		return nil
	}
	if i > 0 {
		off++ // Decode's offsets count from after the comma
	}
	path := fmt.Sprintf("%s[%d]", array, i)
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typ) && typ.Field == "":
		return merr(path, "%s: want an object, got %s", d.where(off+typ.Offset), typ.Value)
	case errors.As(err, &typ):
		return merr(path, "%s: %s: want %s, got %s", d.where(off+typ.Offset), typ.Field, typ.Type, typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return merr(path, "%s: unexpected end of the snapshot", d.where(d.dec.InputOffset()))
	}
	return merr(path, "%s: %s", d.where(d.locate(off, err)), strings.TrimPrefix(err.Error(), "json: "))
}

// locate returns where a syntax error found by Decode in the value at off
// is. Decode counts a syntax error's offset from its first call, not from
// the value, so decode the value again on its own, if it is in memory.
func (d *snapshotDecoder) locate(off int64, err error) int64 {
	var syn *json.SyntaxError
	if d.data == nil || !errors.As(err, &syn) || off > int64(len(d.data)) {
		return off
	}
	var raw json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(d.data[off:])).Decode(&raw); errors.As(err, &syn) {
		return off + syn.Offset
	}
	return off
}

// tokenError describes an error from Token or Decode outside an element.
func (d *snapshotDecoder) tokenError(path string, err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return merr(path, "%s: %s", d.where(syn.Offset), syn)
	case err == io.EOF, errors.Is(err, io.ErrUnexpectedEOF):
		return merr(path, "%s: unexpected end of the snapshot", d.where(d.dec.InputOffset()))
	}
	return merr(path, "%s: %v", d.where(d.dec.InputOffset()), err)
}

// where names the place at byte offset off: its line when the snapshot is
// in memory, else the offset.
func (d *snapshotDecoder) where(off int64) string {
	if d.data == nil {
		return fmt.Sprintf("byte %d", off)
	}
	off = min(max(off, 0), int64(len(d.data)))
	return fmt.Sprintf("line %d", 1+bytes.Count(d.data[:off], []byte("\n")))
}

// kindOf names the JSON kind of a token.
func kindOf(tok json.Token) string {
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '[' {
			return "array"
		}
		return "object"
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}

// limitedReader reads at most limit+1 bytes from r, counting them, and
// keeps r's first error other than io.EOF.
type limitedReader struct {
	r     io.Reader
	limit int64
	n     int64
	err   error
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n > l.limit {
		return 0, io.EOF
	}
	if left := l.limit + 1 - l.n; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if err != nil && err != io.EOF && l.err == nil {
		l.err = err
	}
	return n, err
}

func memberPath(i int, id string) string { return fmt.Sprintf("members[%d] (id %q)", i, id) }
func planPath(i int, id string) string   { return fmt.Sprintf("plans[%d] (id %q)", i, id) }
func cardPath(i int, id string, j int) string {
	return fmt.Sprintf("%s.cards[%d].uid", memberPath(i, id), j)
}

// plan converts plan i, checking the form of its days and windows.
func (p planJSON) plan(i int) (access.Plan, error) {
	plan := access.Plan{ID: p.ID, Name: p.Name, GraceDays: p.GraceDays, PricePKR: p.PricePKR}
	for j, d := range p.Days {
		wd := slices.Index(dayNames[:], d)
		if wd < 0 {
			return access.Plan{}, merr(fmt.Sprintf("%s.days[%d]", planPath(i, p.ID), j), "%q: want one of mon tue wed thu fri sat sun", d)
		}
		plan.Days = append(plan.Days, time.Weekday(wd))
	}
	for j, w := range p.Windows {
		start, err := access.ParseTimeOfDay(w.Start)
		if err != nil {
			return access.Plan{}, merr(fmt.Sprintf("%s.windows[%d].start", planPath(i, p.ID), j), "%v", err)
		}
		end, err := access.ParseTimeOfDay(w.End)
		if err != nil {
			return access.Plan{}, merr(fmt.Sprintf("%s.windows[%d].end", planPath(i, p.ID), j), "%v", err)
		}
		plan.Windows = append(plan.Windows, access.Window{Start: start, End: end})
	}
	return plan, nil
}

// member converts member i and its cards, checking the form of its dates
// and card UIDs and making the UIDs canonical.
func (mj memberJSON) member(i int) (access.Member, []access.Card, error) {
	mem := access.Member{
		ID: mj.ID, Name: mj.Name, Status: access.MemberStatus(mj.Status), PlanID: mj.Plan,
		Seats: access.SeatRule{Kind: mj.Seats.Kind, Seat: mj.Seats.Seat},
	}
	if len(mj.Seats.Zones) > 0 {
		mem.Seats.Zones = mj.Seats.Zones
	}
	var err error
	if mem.ValidFrom, err = access.ParseDate(mj.ValidFrom); err != nil {
		return access.Member{}, nil, merr(memberPath(i, mj.ID)+".valid_from", "%v", err)
	}
	if mem.ValidUntil, err = access.ParseDate(mj.ValidUntil); err != nil {
		return access.Member{}, nil, merr(memberPath(i, mj.ID)+".valid_until", "%v", err)
	}
	var cards []access.Card
	if len(mj.Cards) > 0 {
		cards = make([]access.Card, 0, len(mj.Cards))
	}
	for j, c := range mj.Cards {
		uid, err := access.CanonicalUID(c.UID)
		if err != nil {
			return access.Member{}, nil, merr(cardPath(i, mj.ID, j), "%v", err)
		}
		cards = append(cards, access.Card{UID: uid, MemberID: mj.ID, Revoked: c.Revoked})
	}
	return mem, cards, nil
}

// duplicateCard describes card j of member i (id) whose UID already
// belongs to member owner.
func duplicateCard(i int, id string, j int, uid, owner string) error {
	if owner == id {
		return merr(cardPath(i, id, j), "%s listed twice", uid)
	}
	return merr(cardPath(i, id, j), "%s already belongs to member %q", uid, owner)
}

// membershipBuilder is the sink that collects a whole Membership.
type membershipBuilder struct {
	m     Membership
	owner map[string]string // card UID → member
}

func (b *membershipBuilder) plans(ps []access.Plan) error {
	b.m.Plans = ps
	return nil
}

func (b *membershipBuilder) member(i int, mem access.Member, cards []access.Card) error {
	for j, c := range cards {
		if owner, dup := b.owner[c.UID]; dup {
			return duplicateCard(i, mem.ID, j, c.UID, owner)
		}
		b.owner[c.UID] = mem.ID
	}
	b.m.Members = append(b.m.Members, mem)
	b.m.Cards = append(b.m.Cards, cards...)
	return nil
}

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
	"unicode"
	"unicode/utf8"

	"go.etcd.io/bbolt"

	"github.com/pkfreelance/seatgate/access"
)

// MaxMembershipSize is the largest membership snapshot ParseMembership
// reads: about 200,000 members.
const MaxMembershipSize = 64 << 20

// Limits on fields of a membership.
const (
	maxIDLen    = 64
	maxNameLen  = 200
	maxGraceDay = 366
)

// Membership is everything HQ says about who may sit in one centre:
// plans, members and their cards. It is replaced whole (ReplaceMembership).
// Its JSON form, the membership snapshot, is documented in the package
// documentation; ParseMembership reads it and MarshalJSON writes it.
type Membership struct {
	Centre      string
	Revision    int64
	GeneratedAt time.Time
	Plans       []access.Plan
	Members     []access.Member
	Cards       []access.Card // UIDs canonical, each naming a member in Members
}

// ErrInvalidMembership is matched (errors.Is) by every *MembershipError.
var ErrInvalidMembership = errors.New("invalid membership")

// MembershipError names the field of a membership that is wrong, as a path
// into the snapshot: `members[3] (id "m-004").cards[1].uid`.
type MembershipError struct {
	Path string
	Err  error
}

func (e *MembershipError) Error() string {
	if e.Path == "" {
		return "membership: " + e.Err.Error()
	}
	return "membership: " + e.Path + ": " + e.Err.Error()
}

func (e *MembershipError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInvalidMembership.
func (e *MembershipError) Is(target error) bool { return target == ErrInvalidMembership }

func merr(path, format string, args ...any) error {
	return &MembershipError{Path: path, Err: fmt.Errorf(format, args...)}
}

// The JSON form.

type snapshotJSON struct {
	Centre      string       `json:"centre"`
	Revision    int64        `json:"revision"`
	GeneratedAt string       `json:"generated_at"`
	Plans       []planJSON   `json:"plans"`
	Members     []memberJSON `json:"members"`
}

type planJSON struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Days      []string     `json:"days,omitempty"`
	Windows   []windowJSON `json:"windows,omitempty"`
	GraceDays int          `json:"grace_days"`
	PricePKR  int64        `json:"price_pkr"`
}

type windowJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type memberJSON struct {
	ID         string       `json:"id"`
	Name       string       `json:"name"`
	Status     string       `json:"status"`
	Plan       string       `json:"plan"`
	ValidFrom  string       `json:"valid_from"`
	ValidUntil string       `json:"valid_until"`
	Seats      seatRuleJSON `json:"seats"`
	Cards      []cardJSON   `json:"cards"`
}

type seatRuleJSON struct {
	Kind  string   `json:"kind"`
	Seat  string   `json:"seat,omitempty"`
	Zones []string `json:"zones,omitempty"`
}

type cardJSON struct {
	UID     string `json:"uid"`
	Revoked bool   `json:"revoked"`
}

var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseMembership reads a membership snapshot strictly: at most
// MaxMembershipSize bytes, one JSON object with no unknown or repeated
// field and nothing after it, every value well formed (dates YYYY-MM-DD,
// times HH:MM, day names mon..sun, card UIDs of 4, 7 or 10 bytes of hex,
// which it canonicalises), and the whole valid (see Membership.Validate).
// Errors are *MembershipError naming the member and field, and the line.
// It holds the whole snapshot in memory: ReplaceMembershipFrom applies one
// as a stream.
func ParseMembership(r io.Reader) (Membership, error) {
	return parseMembership(r, MaxMembershipSize)
}

// ParseMembershipBytes is ParseMembership for a snapshot already in memory.
func ParseMembershipBytes(data []byte) (Membership, error) {
	if int64(len(data)) > MaxMembershipSize {
		return Membership{}, merr("", "larger than %d bytes", int64(MaxMembershipSize))
	}
	return decodeMembership(data)
}

func parseMembership(r io.Reader, limit int64) (Membership, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return Membership{}, fmt.Errorf("read membership: %w", err)
	}
	if int64(len(data)) > limit {
		return Membership{}, merr("", "larger than %d bytes", limit)
	}
	return decodeMembership(data)
}

func decodeMembership(data []byte) (Membership, error) {
	b := &membershipBuilder{owner: make(map[string]string)}
	h, err := decodeSnapshot(bytes.NewReader(data), int64(len(data)), data, b)
	if err != nil {
		return Membership{}, err
	}
	m := b.m
	m.Centre, m.Revision, m.GeneratedAt = h.Centre, h.Revision, h.GeneratedAt
	if err := m.Validate(); err != nil {
		return Membership{}, err
	}
	return m, nil
}

// MarshalJSON writes the membership snapshot form, cards nested in their
// members in the order of m.Cards. ParseMembership reads it back.
func (m Membership) MarshalJSON() ([]byte, error) {
	out := snapshotJSON{
		Centre: m.Centre, Revision: m.Revision, GeneratedAt: m.GeneratedAt.Format(time.RFC3339Nano),
		Plans: []planJSON{}, Members: []memberJSON{},
	}
	for i, p := range m.Plans {
		pj := planJSON{ID: p.ID, Name: p.Name, GraceDays: p.GraceDays, PricePKR: p.PricePKR}
		for _, d := range p.Days {
			if d < time.Sunday || d > time.Saturday {
				return nil, merr(planPath(i, p.ID)+".days", "day %d out of range", d)
			}
			pj.Days = append(pj.Days, dayNames[d])
		}
		for _, w := range p.Windows {
			pj.Windows = append(pj.Windows, windowJSON{Start: w.Start.String(), End: w.End.String()})
		}
		out.Plans = append(out.Plans, pj)
	}
	cards := make(map[string][]cardJSON)
	for _, c := range m.Cards {
		cards[c.MemberID] = append(cards[c.MemberID], cardJSON{UID: c.UID, Revoked: c.Revoked})
	}
	for _, mem := range m.Members {
		mj := memberJSON{
			ID: mem.ID, Name: mem.Name, Status: string(mem.Status), Plan: mem.PlanID,
			ValidFrom: mem.ValidFrom.String(), ValidUntil: mem.ValidUntil.String(),
			Seats: seatRuleJSON{Kind: mem.Seats.Kind, Seat: mem.Seats.Seat, Zones: mem.Seats.Zones},
			Cards: cards[mem.ID],
		}
		if mj.Cards == nil {
			mj.Cards = []cardJSON{}
		}
		out.Members = append(out.Members, mj)
	}
	return json.Marshal(out)
}

// Validate checks a membership however it was made: centre and revision,
// unique plan and member IDs, every member's plan known, dates real and in
// order, windows and days in range, seat rules well formed, card UIDs
// canonical, unique and owned by a known member. Errors are
// *MembershipError.
func (m Membership) Validate() error {
	if err := checkHeader(m.Centre, m.Revision, m.GeneratedAt); err != nil {
		return err
	}
	plans := make(map[string]bool, len(m.Plans))
	for i, p := range m.Plans {
		path := planPath(i, p.ID)
		if err := validatePlan(path, p); err != nil {
			return err
		}
		if plans[p.ID] {
			return merr(path+".id", "duplicate plan id")
		}
		plans[p.ID] = true
	}
	members := make(map[string]bool, len(m.Members))
	for i, mem := range m.Members {
		path := memberPath(i, mem.ID)
		if err := validateMember(path, mem, plans[mem.PlanID]); err != nil {
			return err
		}
		if members[mem.ID] {
			return merr(path+".id", "duplicate member id")
		}
		members[mem.ID] = true
	}
	owner := make(map[string]string, len(m.Cards))
	for i, c := range m.Cards {
		path := fmt.Sprintf("cards[%d] (uid %q, member %q)", i, c.UID, c.MemberID)
		uid, err := access.CanonicalUID(c.UID)
		if err != nil {
			return merr(path, "%v", err)
		}
		if uid != c.UID {
			return merr(path, "not canonical: want %s", uid)
		}
		if !members[c.MemberID] {
			return merr(path, "unknown member %q", c.MemberID)
		}
		if other, dup := owner[uid]; dup {
			return merr(path, "already belongs to member %q", other)
		}
		owner[uid] = c.MemberID
	}
	return nil
}

// checkHeader checks a membership's centre, revision and time.
func checkHeader(centre string, revision int64, generatedAt time.Time) error {
	if err := checkID(centre); err != nil {
		return merr("centre", "%v", err)
	}
	if revision < 0 {
		return merr("revision", "%d is negative", revision)
	}
	if generatedAt.IsZero() {
		return merr("generated_at", "missing")
	}
	return nil
}

// validatePlan checks one plan on its own.
func validatePlan(path string, p access.Plan) error {
	if err := checkID(p.ID); err != nil {
		return merr(path+".id", "%v", err)
	}
	if err := checkName(p.Name); err != nil {
		return merr(path+".name", "%v", err)
	}
	for j, d := range p.Days {
		if d < time.Sunday || d > time.Saturday {
			return merr(fmt.Sprintf("%s.days[%d]", path, j), "day %d out of range", d)
		}
		if slices.Contains(p.Days[:j], d) {
			return merr(fmt.Sprintf("%s.days[%d]", path, j), "%s listed twice", dayNames[d])
		}
	}
	for j, w := range p.Windows {
		if !w.Start.Valid() || !w.End.Valid() {
			return merr(fmt.Sprintf("%s.windows[%d]", path, j), "time of day out of range")
		}
	}
	if p.GraceDays < 0 || p.GraceDays > maxGraceDay {
		return merr(path+".grace_days", "%d: want 0 to %d", p.GraceDays, maxGraceDay)
	}
	if p.PricePKR < 0 {
		return merr(path+".price_pkr", "%d is negative", p.PricePKR)
	}
	return nil
}

// validateMember checks one member on its own; planKnown says whether its
// plan exists.
func validateMember(path string, mem access.Member, planKnown bool) error {
	if err := checkID(mem.ID); err != nil {
		return merr(path+".id", "%v", err)
	}
	if err := checkName(mem.Name); err != nil {
		return merr(path+".name", "%v", err)
	}
	if mem.Status != access.StatusActive && mem.Status != access.StatusSuspended {
		return merr(path+".status", "%q: want active or suspended", mem.Status)
	}
	if !planKnown {
		return merr(path+".plan", "unknown plan %q", mem.PlanID)
	}
	if !mem.ValidFrom.Valid() {
		return merr(path+".valid_from", "%q is not a date", mem.ValidFrom)
	}
	if !mem.ValidUntil.Valid() {
		return merr(path+".valid_until", "%q is not a date", mem.ValidUntil)
	}
	if mem.ValidUntil.Before(mem.ValidFrom) {
		return merr(path+".valid_until", "%s is before valid_from %s", mem.ValidUntil, mem.ValidFrom)
	}
	if err := checkSeatRule(mem.Seats); err != nil {
		return merr(path+".seats", "%v", err)
	}
	return nil
}

func checkSeatRule(r access.SeatRule) error {
	switch r.Kind {
	case access.SeatAny:
		if r.Seat != "" || len(r.Zones) > 0 {
			return errors.New(`kind "any" takes no seat or zones`)
		}
	case access.SeatZones:
		if r.Seat != "" || len(r.Zones) == 0 {
			return errors.New(`kind "zones" takes a non-empty zones list and no seat`)
		}
		for j, z := range r.Zones {
			if err := checkID(z); err != nil {
				return fmt.Errorf("zones[%d]: %w", j, err)
			}
		}
	case access.SeatFixed:
		if len(r.Zones) > 0 {
			return errors.New(`kind "fixed" takes a seat and no zones`)
		}
		if err := checkID(r.Seat); err != nil {
			return fmt.Errorf("seat: %w", err)
		}
	default:
		return fmt.Errorf("kind %q: want any, zones or fixed", r.Kind)
	}
	return nil
}

// checkID accepts 1 to 64 bytes of printable UTF-8 without spaces.
func checkID(s string) error {
	switch {
	case s == "":
		return errors.New("missing")
	case len(s) > maxIDLen:
		return fmt.Errorf("longer than %d bytes", maxIDLen)
	case !utf8.ValidString(s):
		return errors.New("not UTF-8")
	case strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }):
		return fmt.Errorf("%q: spaces or control characters", s)
	}
	return nil
}

// checkName accepts 1 to 200 bytes of printable UTF-8.
func checkName(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return errors.New("missing")
	case len(s) > maxNameLen:
		return fmt.Errorf("longer than %d bytes", maxNameLen)
	case !utf8.ValidString(s):
		return errors.New("not UTF-8")
	case strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }):
		return fmt.Errorf("%q: control characters", s)
	}
	return nil
}

// MembershipInfo describes the membership in force.
type MembershipInfo struct {
	Centre      string    `json:"centre"`
	Revision    int64     `json:"revision"`
	GeneratedAt time.Time `json:"generated_at"`
	Members     int       `json:"members"`
	Cards       int       `json:"cards"`
	Plans       int       `json:"plans"`
}

// MembershipInfo returns the centre, revision and counts of the membership
// in force; the zero value before the first ReplaceMembership.
func (s *Store) MembershipInfo() (MembershipInfo, error) {
	var info MembershipInfo
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketMeta).Get(keyMembership)
		if b == nil {
			return nil
		}
		var r membershipMeta
		if err := decode(b, &r); err != nil {
			return fmt.Errorf("decode membership info: %w", err)
		}
		info = MembershipInfo(r)
		return nil
	})
	if err != nil {
		return MembershipInfo{}, fmt.Errorf("read membership info: %w", err)
	}
	return info, nil
}

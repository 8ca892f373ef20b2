package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/pkfreelance/seatgate/access"
)

// Op is the change a JournalEntry makes.
type Op string

// Journal operations. The *_put operations insert or replace a whole
// record; the others name the record by ID.
const (
	OpMemberPut    Op = "member_put"    // Member
	OpMemberDelete Op = "member_delete" // ID: member ID
	OpCardPut      Op = "card_put"      // Card
	OpCardRevoke   Op = "card_revoke"   // ID: card UID (canonical)
	OpPlanPut      Op = "plan_put"      // Plan
	OpPlanDelete   Op = "plan_delete"   // ID: plan ID
	OpSuspend      Op = "suspend"       // ID: member ID
	OpResume       Op = "resume"        // ID: member ID
)

// Ops returns every journal operation of protocol v1.
func Ops() []Op {
	return []Op{OpMemberPut, OpMemberDelete, OpCardPut, OpCardRevoke, OpPlanPut, OpPlanDelete, OpSuspend, OpResume}
}

// JournalEntry is one change to a centre's membership (topic Journal, or
// the gateway's JournalCatchUp topic; signed with the HQ key). Rev counts
// the centre's changes from 1; a gateway applies entries in Rev order and
// asks for the rest (JournalWant) when it sees a gap.
//
// Exactly one payload goes with each Op: Member for member_put, Card for
// card_put, Plan for plan_put, ID for the others (see the Op constants).
//
// JournalEntry has its own JSON form (MarshalJSON), in the shapes of the
// membership snapshot (package store) rather than of the Go types of
// package access, so that renaming a Go field never changes the wire:
//
//	{"v":1,"centre":"lhr-01","rev":42,"time":"2026-11-01T09:00:00+05:00","op":"member_put",
//	 "member":{"id":"m-001","name":"Ayesha Khan","status":"active","plan":"day",
//	           "valid_from":"2026-11-01","valid_until":"2026-11-30","seats":{"kind":"zones","zones":["A"]}},
//	 "sig":"…"}
//	"card":{"uid":"04A1B2C3D4E5F6","member":"m-001","revoked":false}
//	"plan":{"id":"day","name":"Day shift","days":["mon","tue"],"windows":[{"start":"09:00","end":"18:00"}],
//	        "grace_days":3,"price_pkr":3500}
//	"id":"m-001"
//
// Keys appear in that order; absent payloads are omitted, as are empty
// "seat", "zones", "days" and "windows".
type JournalEntry struct {
	V      int
	Centre string
	Rev    int64
	Time   time.Time // when HQ made the change
	Op     Op
	Member *access.Member // OpMemberPut
	Card   *access.Card   // OpCardPut
	Plan   *access.Plan   // OpPlanPut
	ID     string         // the other ops
	Sig    string
}

// The JSON form of JournalEntry and its payloads.

type journalEntryJSON struct {
	V      int         `json:"v"`
	Centre string      `json:"centre"`
	Rev    int64       `json:"rev"`
	Time   time.Time   `json:"time"`
	Op     Op          `json:"op"`
	Member *memberJSON `json:"member,omitempty"`
	Card   *cardJSON   `json:"card,omitempty"`
	Plan   *planJSON   `json:"plan,omitempty"`
	ID     string      `json:"id,omitempty"`
	Sig    string      `json:"sig,omitempty"`
}

type memberJSON struct {
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	Status     access.MemberStatus `json:"status"`
	Plan       string              `json:"plan"`
	ValidFrom  access.Date         `json:"valid_from"`
	ValidUntil access.Date         `json:"valid_until"`
	Seats      seatRuleJSON        `json:"seats"`
}

type seatRuleJSON struct {
	Kind  string   `json:"kind"`
	Seat  string   `json:"seat,omitempty"`
	Zones []string `json:"zones,omitempty"`
}

type cardJSON struct {
	UID     string `json:"uid"`
	Member  string `json:"member"`
	Revoked bool   `json:"revoked"`
}

type planJSON struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Days      []weekday    `json:"days,omitempty"`
	Windows   []windowJSON `json:"windows,omitempty"`
	GraceDays int          `json:"grace_days"`
	PricePKR  int64        `json:"price_pkr"`
}

type windowJSON struct {
	Start access.TimeOfDay `json:"start"`
	End   access.TimeOfDay `json:"end"`
}

// weekday is a time.Weekday written as in the membership snapshot: sun..sat.
type weekday time.Weekday

var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func (d weekday) MarshalText() ([]byte, error) {
	if d < 0 || int(d) >= len(dayNames) {
		return nil, fmt.Errorf("day %d out of range", int(d))
	}
	return []byte(dayNames[d]), nil
}

func (d *weekday) UnmarshalText(b []byte) error {
	i := slices.Index(dayNames[:], string(b))
	if i < 0 {
		return fmt.Errorf("day %q: want one of sun mon tue wed thu fri sat", b)
	}
	*d = weekday(i)
	return nil
}

// MarshalJSON writes the JSON form described at JournalEntry.
func (e JournalEntry) MarshalJSON() ([]byte, error) {
	out := journalEntryJSON{V: e.V, Centre: e.Centre, Rev: e.Rev, Time: e.Time, Op: e.Op, ID: e.ID, Sig: e.Sig}
	if m := e.Member; m != nil {
		out.Member = &memberJSON{
			ID: m.ID, Name: m.Name, Status: m.Status, Plan: m.PlanID, ValidFrom: m.ValidFrom, ValidUntil: m.ValidUntil,
			Seats: seatRuleJSON{Kind: m.Seats.Kind, Seat: m.Seats.Seat, Zones: m.Seats.Zones},
		}
	}
	if c := e.Card; c != nil {
		out.Card = &cardJSON{UID: c.UID, Member: c.MemberID, Revoked: c.Revoked}
	}
	if p := e.Plan; p != nil {
		pj := &planJSON{ID: p.ID, Name: p.Name, GraceDays: p.GraceDays, PricePKR: p.PricePKR}
		for _, d := range p.Days {
			pj.Days = append(pj.Days, weekday(d))
		}
		for _, w := range p.Windows {
			pj.Windows = append(pj.Windows, windowJSON(w))
		}
		out.Plan = pj
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads the JSON form described at JournalEntry, rejecting
// unknown keys. Empty lists (zones, days, windows) are read as nil, so a
// decoded entry encodes to what it was decoded from.
func (e *JournalEntry) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var in journalEntryJSON
	if err := dec.Decode(&in); err != nil {
		return err
	}
	out := JournalEntry{V: in.V, Centre: in.Centre, Rev: in.Rev, Time: in.Time, Op: in.Op, ID: in.ID, Sig: in.Sig}
	if m := in.Member; m != nil {
		out.Member = &access.Member{
			ID: m.ID, Name: m.Name, Status: m.Status, PlanID: m.Plan, ValidFrom: m.ValidFrom, ValidUntil: m.ValidUntil,
			Seats: access.SeatRule{Kind: m.Seats.Kind, Seat: m.Seats.Seat, Zones: nilIfEmpty(m.Seats.Zones)},
		}
	}
	if c := in.Card; c != nil {
		out.Card = &access.Card{UID: c.UID, MemberID: c.Member, Revoked: c.Revoked}
	}
	if p := in.Plan; p != nil {
		pl := &access.Plan{ID: p.ID, Name: p.Name, GraceDays: p.GraceDays, PricePKR: p.PricePKR}
		for _, d := range p.Days {
			pl.Days = append(pl.Days, time.Weekday(d))
		}
		for _, w := range p.Windows {
			pl.Windows = append(pl.Windows, access.Window(w))
		}
		out.Plan = pl
	}
	*e = out
	return nil
}

func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

package store

import (
	"encoding/json"
	"time"

	"github.com/pkfreelance/seatgate/access"
)

// Records are the values stored in the buckets, as JSON. They are separate
// from the access types so that renaming a Go field never changes what is
// on disk; a change of layout is a schema migration.

type memberRecord struct {
	Name       string         `json:"name"`
	Status     string         `json:"status"`
	Plan       string         `json:"plan"`
	ValidFrom  access.Date    `json:"valid_from"`
	ValidUntil access.Date    `json:"valid_until"`
	Seats      seatRuleRecord `json:"seats"`
}

type seatRuleRecord struct {
	Kind  string   `json:"kind"`
	Seat  string   `json:"seat,omitempty"`
	Zones []string `json:"zones,omitempty"`
}

type cardRecord struct {
	Member  string `json:"member"`
	Revoked bool   `json:"revoked,omitempty"`
}

type planRecord struct {
	Name      string         `json:"name"`
	Days      []time.Weekday `json:"days,omitempty"`
	Windows   []windowRecord `json:"windows,omitempty"`
	GraceDays int            `json:"grace_days"`
	PricePKR  int64          `json:"price_pkr"`
}

type windowRecord struct {
	Start access.TimeOfDay `json:"start"`
	End   access.TimeOfDay `json:"end"`
}

type seatRecord struct {
	Zone   string `json:"zone"`
	Reader string `json:"reader"`
}

type sessionRecord struct {
	Member string    `json:"member"`
	Since  time.Time `json:"since"`
}

// membershipMeta describes the membership in force.
type membershipMeta struct {
	Centre      string    `json:"centre"`
	Revision    int64     `json:"revision"`
	GeneratedAt time.Time `json:"generated_at"`
	Members     int       `json:"members"`
	Cards       int       `json:"cards"`
	Plans       int       `json:"plans"`
}

func toMemberRecord(m access.Member) memberRecord {
	return memberRecord{
		Name: m.Name, Status: string(m.Status), Plan: m.PlanID, ValidFrom: m.ValidFrom, ValidUntil: m.ValidUntil,
		Seats: seatRuleRecord{Kind: m.Seats.Kind, Seat: m.Seats.Seat, Zones: m.Seats.Zones},
	}
}

func (r memberRecord) member(id string) access.Member {
	return access.Member{
		ID: id, Name: r.Name, Status: access.MemberStatus(r.Status), PlanID: r.Plan,
		ValidFrom: r.ValidFrom, ValidUntil: r.ValidUntil,
		Seats: access.SeatRule{Kind: r.Seats.Kind, Seat: r.Seats.Seat, Zones: r.Seats.Zones},
	}
}

func toPlanRecord(p access.Plan) planRecord {
	r := planRecord{Name: p.Name, Days: p.Days, GraceDays: p.GraceDays, PricePKR: p.PricePKR}
	for _, w := range p.Windows {
		r.Windows = append(r.Windows, windowRecord(w))
	}
	return r
}

func (r planRecord) plan(id string) access.Plan {
	p := access.Plan{ID: id, Name: r.Name, Days: r.Days, GraceDays: r.GraceDays, PricePKR: r.PricePKR}
	for _, w := range r.Windows {
		p.Windows = append(p.Windows, access.Window(w))
	}
	return p
}

func encode(v any) ([]byte, error) { return json.Marshal(v) }

// decode unmarshals a value read from bbolt. encoding/json copies what it
// keeps, so nothing returned refers to the database's memory.
func decode(b []byte, v any) error { return json.Unmarshal(b, v) }

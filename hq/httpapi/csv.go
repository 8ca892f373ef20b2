package httpapi

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
)

// CSV import: one member per row, with a header naming the columns (any
// order). member_id, name, plan, valid_from and valid_until are required;
// status (active or suspended; default active), seats ("any" — the default —,
// "zones:a b" or "seat:A-01") and cards (UIDs separated by spaces) are
// optional.
//
//	member_id,name,plan,valid_from,valid_until,status,seats,cards
//	m-0001,Ayesha Khan,monthly,2026-11-01,2026-11-30,active,any,04A1B2C3 04C3D4E5F60780
//
// Rows add or replace members and add cards; nothing absent from the file is
// removed (a full replacement is a snapshot import). Every row is checked
// before anything is written: one bad row and nothing changes.
var csvColumns = []string{"member_id", "name", "plan", "valid_from", "valid_until", "status", "seats", "cards"}

const csvRequired = 5 // the first five columns

// MaxCSVRows bounds one import.
const MaxCSVRows = 200_000

// ImportResult is the answer to an import.
type ImportResult struct {
	Revision  int64 `json:"revision"`
	Rows      int   `json:"rows"`
	Members   int   `json:"members_written"`
	Cards     int   `json:"cards_written"`
	Unchanged int   `json:"members_unchanged"`
	DryRun    bool  `json:"dry_run,omitempty"`
}

// row is one parsed line.
type row struct {
	line   int
	member access.Member
	cards  []string
}

func (a *api) importCSV(w http.ResponseWriter, r *http.Request) error {
	centre, err := centreOf(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	cur, err := a.Authority.Snapshot(ctx, centre)
	if err != nil {
		return err
	}
	rows, err := parseCSV(http.MaxBytesReader(w, r.Body, MaxCSVBody), cur)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badRequest("%v", err)
	}
	res := ImportResult{Rows: len(rows), Revision: cur.Revision, DryRun: r.URL.Query().Get("dry_run") != ""}
	members := map[string]access.Member{}
	for _, m := range cur.Members {
		members[m.ID] = m
	}
	cards := map[string]access.Card{}
	for _, c := range cur.Cards {
		cards[c.UID] = c
	}
	for _, rw := range rows {
		if old, ok := members[rw.member.ID]; ok && reflect.DeepEqual(old, rw.member) {
			res.Unchanged++
		} else {
			if !res.DryRun {
				if res.Revision, err = a.Authority.PutMember(ctx, centre, rw.member); err != nil {
					return fmt.Errorf("line %d: %w (rows before it were imported)", rw.line, err)
				}
			}
			res.Members++
		}
		for _, uid := range rw.cards {
			if c, ok := cards[uid]; ok && c.MemberID == rw.member.ID && !c.Revoked {
				continue
			}
			if !res.DryRun {
				if res.Revision, err = a.Authority.PutCard(ctx, centre, access.Card{UID: uid, MemberID: rw.member.ID}); err != nil {
					return fmt.Errorf("line %d: card %s: %w (rows before it were imported)", rw.line, uid, err)
				}
			}
			res.Cards++
		}
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// parseCSV reads and checks every row against the centre's membership cur.
func parseCSV(body io.Reader, cur store.Membership) ([]row, error) {
	rd := csv.NewReader(body)
	rd.FieldsPerRecord = 0
	rd.TrimLeadingSpace = true
	header, err := rd.Read()
	if err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(csvColumns, h) {
			return nil, fmt.Errorf("csv header: unknown column %q (columns: %s)", h, strings.Join(csvColumns, ","))
		}
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("csv header: column %q twice", h)
		}
		col[h] = i
	}
	for _, c := range csvColumns[:csvRequired] {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("csv header: column %q is required", c)
		}
	}
	owner := map[string]string{} // card → member, the centre's and the file's
	for _, c := range cur.Cards {
		owner[c.UID] = c.MemberID
	}
	seen := map[string]int{}
	fileCard := map[string]int{}
	var rows []row
	var errs []error
	for {
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("csv: %w", err) // a *csv.ParseError names the line
		}
		line, _ := rd.FieldPos(0)
		if len(rows)+len(errs) >= MaxCSVRows {
			return nil, fmt.Errorf("csv: more than %d rows", MaxCSVRows)
		}
		get := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		rw, err := parseRow(line, get, cur, owner, seen, fileCard)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", line, err))
			if len(errs) >= 50 {
				break
			}
			continue
		}
		rows = append(rows, rw)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("nothing imported: %w", errors.Join(errs...))
	}
	if len(rows) == 0 {
		return nil, errors.New("csv: no rows")
	}
	return rows, nil
}

func parseRow(line int, get func(string) string, cur store.Membership, owner map[string]string, seen, fileCard map[string]int) (row, error) {
	m := access.Member{ID: get("member_id"), Name: get("name"), PlanID: get("plan"), Status: access.StatusActive}
	if first, dup := seen[m.ID]; dup && m.ID != "" {
		return row{}, fmt.Errorf("member %q is also on line %d", m.ID, first)
	}
	seen[m.ID] = line
	var err error
	if m.ValidFrom, err = access.ParseDate(get("valid_from")); err != nil {
		return row{}, fmt.Errorf("valid_from: %w", err)
	}
	if m.ValidUntil, err = access.ParseDate(get("valid_until")); err != nil {
		return row{}, fmt.Errorf("valid_until: %w", err)
	}
	if s := get("status"); s != "" {
		m.Status = access.MemberStatus(s)
	}
	switch s := get("seats"); {
	case s == "" || s == access.SeatAny:
		m.Seats = access.SeatRule{Kind: access.SeatAny}
	case strings.HasPrefix(s, "zones:"):
		m.Seats = access.SeatRule{Kind: access.SeatZones, Zones: strings.Fields(strings.TrimPrefix(s, "zones:"))}
	case strings.HasPrefix(s, "seat:"):
		m.Seats = access.SeatRule{Kind: access.SeatFixed, Seat: strings.TrimSpace(strings.TrimPrefix(s, "seat:"))}
	default:
		return row{}, fmt.Errorf("seats %q: want any, zones:ZONE… or seat:SEAT", s)
	}
	rw := row{line: line, member: m}
	one := store.Membership{Centre: cur.Centre, GeneratedAt: time.Now(), Plans: cur.Plans, Members: []access.Member{m}}
	for _, raw := range strings.Fields(get("cards")) {
		uid, err := access.CanonicalUID(raw)
		if err != nil {
			return row{}, fmt.Errorf("card %q: %w", raw, err)
		}
		if first, dup := fileCard[uid]; dup {
			return row{}, fmt.Errorf("card %s is also on line %d", uid, first)
		}
		fileCard[uid] = line
		if o, ok := owner[uid]; ok && o != m.ID {
			return row{}, fmt.Errorf("card %s belongs to member %q: revoke or move it first", uid, o)
		}
		rw.cards = append(rw.cards, uid)
		one.Cards = append(one.Cards, access.Card{UID: uid, MemberID: m.ID})
	}
	if one.Centre == "" {
		one.Centre = "x" // a centre with no membership yet: its ID was checked already
	}
	if err := one.Validate(); err != nil {
		return row{}, err
	}
	return rw, nil
}

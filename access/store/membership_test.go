package store_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
)

func TestParseMembership(t *testing.T) {
	m := testMembership(t)
	if m.Centre != "lhr-01" || m.Revision != 12 || !m.GeneratedAt.Equal(at("2026-11-01 09:00")) {
		t.Errorf("header: got %q %d %v", m.Centre, m.Revision, m.GeneratedAt)
	}
	wantDay := access.Plan{ID: "day", Name: "Day shift",
		Days:    []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
		Windows: []access.Window{{Start: access.Clock(9, 0), End: access.Clock(18, 0)}}, GraceDays: 3, PricePKR: 3500}
	if !reflect.DeepEqual(m.Plans[1], wantDay) {
		t.Errorf("plans[1]: got %+v, want %+v", m.Plans[1], wantDay)
	}
	if m.Plans[0].Days != nil || m.Plans[0].Windows != nil {
		t.Errorf("plans[0]: got days %v windows %v, want none (every day, all day)", m.Plans[0].Days, m.Plans[0].Windows)
	}
	wantAyesha := access.Member{ID: "m-001", Name: "Ayesha Khan", Status: access.StatusActive, PlanID: "open",
		ValidFrom:  access.Date{Year: 2026, Month: time.November, Day: 1},
		ValidUntil: access.Date{Year: 2026, Month: time.November, Day: 30},
		Seats:      access.SeatRule{Kind: access.SeatZones, Zones: []string{"A"}}}
	if !reflect.DeepEqual(m.Members[0], wantAyesha) {
		t.Errorf("members[0]: got %+v, want %+v", m.Members[0], wantAyesha)
	}
	wantCards := []access.Card{
		{UID: "04A1B2C3D4E5F6", MemberID: "m-001"},
		{UID: "04A1B2C9", MemberID: "m-001", Revoked: true},
		{UID: "11111111", MemberID: "m-002"},
		{UID: "22222222", MemberID: "m-003"},
		{UID: "33333333", MemberID: "m-004"},
	}
	if !reflect.DeepEqual(m.Cards, wantCards) {
		t.Errorf("cards: got %+v, want %+v", m.Cards, wantCards)
	}
}

// edited returns the test snapshot with f applied to its generic JSON form.
func edited(t *testing.T, f func(doc map[string]any)) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(snapshotJSON), &doc); err != nil {
		t.Fatal(err)
	}
	f(doc)
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func member(doc map[string]any, i int) map[string]any {
	return doc["members"].([]any)[i].(map[string]any)
}

func plan(doc map[string]any, i int) map[string]any { return doc["plans"].([]any)[i].(map[string]any) }

func card(doc map[string]any, i, j int) map[string]any {
	return member(doc, i)["cards"].([]any)[j].(map[string]any)
}

// membershipErrorCase is a snapshot that breaks one rule, and the error
// it must get.
type membershipErrorCase struct {
	name string
	edit func(doc map[string]any)
	raw  string // instead of edit
	want string
}

func (tt membershipErrorCase) input(t *testing.T) string {
	if tt.edit != nil {
		return edited(t, tt.edit)
	}
	return tt.raw
}

// membershipErrorCases breaks each rule of the snapshot in turn.
func membershipErrorCases() []membershipErrorCase {
	return []membershipErrorCase{
		{name: "unknown top-level field", edit: func(d map[string]any) { d["owner"] = "x" }, want: `unknown field "owner"`},
		{name: "unknown member field", edit: func(d map[string]any) { member(d, 0)["email"] = "a@b" }, want: `unknown field "email"`},
		{name: "unknown plan reference", edit: func(d map[string]any) { member(d, 1)["plan"] = "gold" },
			want: `members[1] (id "m-002").plan: unknown plan "gold"`},
		{name: "card UID of another member", edit: func(d map[string]any) { card(d, 1, 0)["uid"] = "04-a1-b2-c3-d4-e5-f6" },
			want: `members[1] (id "m-002").cards[0].uid: 04A1B2C3D4E5F6 already belongs to member "m-001"`},
		{name: "card UID twice for one member", edit: func(d map[string]any) { card(d, 0, 1)["uid"] = "04A1B2C3D4E5F6" },
			want: `members[0] (id "m-001").cards[1].uid: 04A1B2C3D4E5F6 listed twice`},
		{name: "UID of 5 bytes", edit: func(d map[string]any) { card(d, 2, 0)["uid"] = "0102030405" },
			want: `members[2] (id "m-003").cards[0].uid: invalid card uid: parse uid "0102030405": 5 bytes: uid must be 4, 7 or 10 bytes`},
		{name: "UID not hex", edit: func(d map[string]any) { card(d, 2, 0)["uid"] = "0102030G" },
			want: `members[2] (id "m-003").cards[0].uid: invalid card uid: parse uid "0102030G": not hex`},
		{name: "no such date", edit: func(d map[string]any) { member(d, 2)["valid_until"] = "2026-11-31" },
			want: `members[2] (id "m-003").valid_until: date "2026-11-31"`},
		{name: "date in another form", edit: func(d map[string]any) { member(d, 2)["valid_from"] = "01/11/2026" },
			want: `members[2] (id "m-003").valid_from: date "01/11/2026": want YYYY-MM-DD`},
		{name: "until before from", edit: func(d map[string]any) { member(d, 3)["valid_until"] = "2026-10-31" },
			want: `members[3] (id "m-004").valid_until: 2026-10-31 is before valid_from 2026-11-01`},
		{name: "bad HH:MM", edit: func(d map[string]any) { plan(d, 1)["windows"].([]any)[0].(map[string]any)["end"] = "18:60" },
			want: `plans[1] (id "day").windows[0].end: time of day "18:60"`},
		{name: "H:MM", edit: func(d map[string]any) { plan(d, 1)["windows"].([]any)[0].(map[string]any)["start"] = "9:00" },
			want: `plans[1] (id "day").windows[0].start: time of day "9:00"`},
		{name: "day name", edit: func(d map[string]any) { plan(d, 1)["days"].([]any)[0] = "monday" },
			want: `plans[1] (id "day").days[0]: "monday": want one of mon tue wed thu fri sat sun`},
		{name: "day twice", edit: func(d map[string]any) { plan(d, 1)["days"].([]any)[1] = "mon" },
			want: `plans[1] (id "day").days[1]: mon listed twice`},
		{name: "status", edit: func(d map[string]any) { member(d, 0)["status"] = "paused" },
			want: `members[0] (id "m-001").status: "paused": want active or suspended`},
		{name: "seat kind", edit: func(d map[string]any) { member(d, 0)["seats"] = map[string]any{"kind": "vip"} },
			want: `members[0] (id "m-001").seats: kind "vip": want any, zones or fixed`},
		{name: "zones without zones", edit: func(d map[string]any) { member(d, 0)["seats"] = map[string]any{"kind": "zones"} },
			want: `members[0] (id "m-001").seats: kind "zones" takes a non-empty zones list`},
		{name: "fixed without seat", edit: func(d map[string]any) { member(d, 2)["seats"] = map[string]any{"kind": "fixed"} },
			want: `members[2] (id "m-003").seats: seat: missing`},
		{name: "seats missing", edit: func(d map[string]any) { delete(member(d, 2), "seats") },
			want: `members[2] (id "m-003").seats: kind "": want any, zones or fixed`},
		{name: "duplicate member", edit: func(d map[string]any) { member(d, 1)["id"] = "m-001" },
			want: `members[1] (id "m-001").id: duplicate member id`},
		{name: "member id with a space", edit: func(d map[string]any) { member(d, 1)["id"] = "m 002" },
			want: `members[1] (id "m 002").id: "m 002": spaces or control characters`},
		{name: "member without name", edit: func(d map[string]any) { member(d, 1)["name"] = " " },
			want: `members[1] (id "m-002").name: missing`},
		{name: "duplicate plan", edit: func(d map[string]any) { plan(d, 1)["id"] = "open" },
			want: `plans[1] (id "open").id: duplicate plan id`},
		{name: "negative grace", edit: func(d map[string]any) { plan(d, 1)["grace_days"] = -1 },
			want: `plans[1] (id "day").grace_days: -1: want 0 to 366`},
		{name: "negative price", edit: func(d map[string]any) { plan(d, 1)["price_pkr"] = -5 },
			want: `plans[1] (id "day").price_pkr: -5 is negative`},
		{name: "no centre", edit: func(d map[string]any) { delete(d, "centre") }, want: `centre: missing`},
		{name: "negative revision", edit: func(d map[string]any) { d["revision"] = -1 }, want: `revision: -1 is negative`},
		{name: "revision as a string", edit: func(d map[string]any) { d["revision"] = "12" },
			want: `revision: want int64, got string`},
		{name: "generated_at not RFC 3339", edit: func(d map[string]any) { d["generated_at"] = "2026-11-01 09:00" },
			want: `generated_at: "2026-11-01 09:00" is not an RFC 3339 time`},
		{name: "generated_at missing", edit: func(d map[string]any) { delete(d, "generated_at") }, want: `generated_at: missing`},
		{name: "trailing data", raw: snapshotJSON + `{}`, want: `data after the snapshot object`},
		{name: "broken JSON", raw: "{\n\"centre\": \"lhr-01\",\n\"revision\": 12,,\n}", want: `line 3: invalid character ','`},
		{name: "empty", raw: "", want: `membership: empty`},
		{name: "not an object", raw: `[]`, want: `cannot unmarshal array`},
		{name: "field given twice", raw: `{"centre":"lhr-01","centre":"khi-02"}`, want: `field "centre" given twice`},
		{name: "field given twice, in another case", raw: `{"centre":"lhr-01","Centre":"khi-02"}`, want: `field "centre" given twice`},
		{name: "members not an array", edit: func(d map[string]any) { d["members"] = map[string]any{} },
			want: `members: line 4: want an array, got object`},
		{name: "member not an object", edit: func(d map[string]any) { d["members"].([]any)[2] = "m-003" },
			want: `members[2]: line 46: want an object, got string`},
		{name: "member field of the wrong type", edit: func(d map[string]any) { member(d, 3)["status"] = 1 },
			want: `members[3]: line 77: status: want string, got number`},
		{name: "broken member", raw: strings.Replace(snapshotJSON, `"name": "Sana Mir",`, `"name": "Sana Mir",,`, 1),
			want: `members[2]: line 19: invalid character ','`},
		{name: "cut short", raw: snapshotJSON[:len(snapshotJSON)/2], want: `unexpected end of the snapshot`},
	}
}

func TestParseMembershipErrors(t *testing.T) {
	for _, tt := range membershipErrorCases() {
		t.Run(tt.name, func(t *testing.T) {
			_, err := store.ParseMembership(strings.NewReader(tt.input(t)))
			if err == nil {
				t.Fatalf("got no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got  %v\nwant an error containing %q", err, tt.want)
			}
			var merr *store.MembershipError
			if !errors.As(err, &merr) || !errors.Is(err, store.ErrInvalidMembership) {
				t.Errorf("got %T, want a *MembershipError matching ErrInvalidMembership", err)
			}
		})
	}
}

func TestMembershipRoundTrip(t *testing.T) {
	m := testMembership(t)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"uid":"04A1B2C9","revoked":true`) || !strings.Contains(string(b), `"days":["mon","tue","wed","thu","fri"]`) {
		t.Errorf("snapshot form: got %s", b)
	}
	back, err := store.ParseMembership(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("parse what MarshalJSON wrote: %v\n%s", err, b)
	}
	assertSameMembership(t, back, m)
}

func assertSameMembership(t *testing.T, got, want store.Membership) {
	t.Helper()
	if !got.GeneratedAt.Equal(want.GeneratedAt) {
		t.Errorf("generated_at: got %v, want %v", got.GeneratedAt, want.GeneratedAt)
	}
	got.GeneratedAt, want.GeneratedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestValidateGoForm(t *testing.T) {
	tests := []struct {
		name string
		edit func(m *store.Membership)
		want string
	}{
		{"UID not canonical", func(m *store.Membership) { m.Cards[0].UID = "04:a1:b2:c3:d4:e5:f6" },
			`cards[0] (uid "04:a1:b2:c3:d4:e5:f6", member "m-001"): not canonical: want 04A1B2C3D4E5F6`},
		{"card of no member", func(m *store.Membership) { m.Cards[0].MemberID = "m-999" }, `unknown member "m-999"`},
		{"duplicate card", func(m *store.Membership) { m.Cards[2].UID = m.Cards[0].UID }, `already belongs to member "m-001"`},
		{"window out of range", func(m *store.Membership) { m.Plans[1].Windows[0].End = access.Clock(24, 0) }, `windows[0]: time of day out of range`},
		{"day out of range", func(m *store.Membership) { m.Plans[1].Days[0] = 7 }, `days[0]: day 7 out of range`},
		{"no such date", func(m *store.Membership) { m.Members[0].ValidUntil.Day = 31 }, `valid_until: "2026-11-31" is not a date`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMembership(t)
			tt.edit(&m)
			if err := m.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func FuzzParseMembership(f *testing.F) {
	f.Add(snapshotJSON)
	f.Add(`{"centre":"c","revision":0,"generated_at":"2026-01-01T00:00:00Z","plans":[],"members":[]}`)
	f.Add(`{"centre":"c","revision":1,"generated_at":"2026-01-01T00:00:00Z","plans":[{"id":"p","name":"P","days":["sun"],` +
		`"windows":[{"start":"20:00","end":"06:00"},{"start":"08:00","end":"08:00"}],"grace_days":366,"price_pkr":0}],` +
		`"members":[{"id":"m","name":"M","status":"suspended","plan":"p","valid_from":"2028-02-29","valid_until":"2028-02-29",` +
		`"seats":{"kind":"fixed","seat":"A1"},"cards":[{"uid":"01 02 03 04 05 06 07 08 09 0a","revoked":true}]}]}`)
	f.Add(`{"centre":"c","revision":2,"generated_at":"2026-01-01T00:00:00.5-03:00","plans":[{"id":"p","name":"P","days":[],"windows":[]}],` +
		`"members":[{"id":"m","name":"M","status":"active","plan":"p","valid_from":"2026-01-01","valid_until":"2026-12-31",` +
		`"seats":{"kind":"any","zones":[]},"cards":[]}]}`)
	f.Add(`{"centre":"c","members":[{"cards":[{"uid":"88010203"}]}]}`)
	f.Add(`{"centre":"c"} {}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, in string) {
		m, err := store.ParseMembership(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, store.ErrInvalidMembership) {
				t.Fatalf("error is not an ErrInvalidMembership: %v", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("parsed membership does not validate: %v", err)
		}
		for _, c := range m.Cards {
			if uid, err := access.CanonicalUID(c.UID); err != nil || uid != c.UID {
				t.Fatalf("card %q is not canonical", c.UID)
			}
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		back, err := store.ParseMembership(strings.NewReader(string(b)))
		if err != nil {
			t.Fatalf("parse what MarshalJSON wrote: %v\n%s", err, b)
		}
		assertSameMembership(t, back, m)
	})
}

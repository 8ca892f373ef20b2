package httpapi

import (
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
)

func centreWithPlan() store.Membership {
	return store.Membership{Centre: "lhr-01", GeneratedAt: time.Now(),
		Plans:   []access.Plan{{ID: "monthly", Name: "Monthly"}},
		Members: []access.Member{{ID: "m-9", Name: "Nine", Status: access.StatusActive, PlanID: "monthly"}},
		Cards:   []access.Card{{UID: "04A1B2C3", MemberID: "m-9"}}}
}

// FuzzParseCSV: an import file from outside never panics; what it accepts
// is a set of valid members whose cards belong to nobody else.
func FuzzParseCSV(f *testing.F) {
	f.Add("member_id,name,plan,valid_from,valid_until,status,seats,cards\nm-1,A,monthly,2026-11-01,2026-11-30,active,any,04112233\n")
	f.Add("member_id,name,plan,valid_from,valid_until\nm-1,\"B, C\",monthly,2026-11-01,2026-11-30\n")
	f.Add("\ufeffmember_id,name,plan,valid_from,valid_until,seats\nm-1,A,monthly,2026-11-01,2026-11-30,zones:a b\n")
	f.Add("member_id,name,plan,valid_from,valid_until,cards\nm-1,A,monthly,2026-11-01,2026-11-30,04a1b2c3\n")
	f.Add("a,b\n\"")
	f.Fuzz(func(t *testing.T, in string) {
		cur := centreWithPlan()
		rows, err := parseCSV(strings.NewReader(in), cur)
		if err != nil {
			return
		}
		for _, r := range rows {
			m := store.Membership{Centre: "lhr-01", GeneratedAt: time.Now(), Plans: cur.Plans, Members: []access.Member{r.member}}
			for _, uid := range r.cards {
				if uid == "04A1B2C3" && r.member.ID != "m-9" {
					t.Fatalf("accepted another member's card: %+v", r)
				}
				m.Cards = append(m.Cards, access.Card{UID: uid, MemberID: r.member.ID})
			}
			if err := m.Validate(); err != nil {
				t.Fatalf("accepted an invalid row %+v: %v", r, err)
			}
		}
	})
}

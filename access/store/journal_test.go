package store_test

import (
	"errors"
	"testing"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
)

func TestApplyChangeInOrder(t *testing.T) {
	s, _ := newStore(t) // revision 12
	day := access.Date{Year: 2026, Month: 11, Day: 1}
	newMember := access.Member{ID: "m-100", Name: "Zara Ali", Status: access.StatusActive, PlanID: "open",
		ValidFrom: day, ValidUntil: day.AddDays(29), Seats: access.SeatRule{Kind: access.SeatAny}}
	steps := []struct {
		name   string
		c      store.Change
		wantIs error
	}{
		{"a stale revision is a harmless duplicate", store.Change{Rev: 12, Op: store.OpSuspend, ID: "m-001"}, store.ErrStaleRevision},
		{"a gap is reported", store.Change{Rev: 14, Op: store.OpSuspend, ID: "m-001"}, store.ErrRevisionGap},
		{"new member", store.Change{Rev: 13, Op: store.OpMemberPut, Member: &newMember}, nil},
		{"their card", store.Change{Rev: 14, Op: store.OpCardPut, Card: &access.Card{UID: "0a:0b:0c:0e", MemberID: "m-100"}}, nil},
		{"card of an unknown member", store.Change{Rev: 15, Op: store.OpCardPut, Card: &access.Card{UID: "0A0B0C0F", MemberID: "m-999"}}, store.ErrInvalidChange},
		{"suspend", store.Change{Rev: 15, Op: store.OpSuspend, ID: "m-100"}, nil},
		{"resume", store.Change{Rev: 16, Op: store.OpResume, ID: "m-100"}, nil},
		{"revoke the card", store.Change{Rev: 17, Op: store.OpCardRevoke, ID: "0A0B0C0E"}, nil},
		{"delete a plan in use", store.Change{Rev: 18, Op: store.OpPlanDelete, ID: "open"}, store.ErrInvalidChange},
		{"member with an unknown plan", store.Change{Rev: 18, Op: store.OpMemberPut, Member: &access.Member{ID: "m-101", Name: "X", Status: access.StatusActive, PlanID: "gold",
			ValidFrom: day, ValidUntil: day, Seats: access.SeatRule{Kind: access.SeatAny}}}, store.ErrInvalidChange},
		{"unknown operation", store.Change{Rev: 18, Op: "member_promote", ID: "m-100"}, store.ErrInvalidChange},
		{"delete the member and their cards", store.Change{Rev: 18, Op: store.OpMemberDelete, ID: "m-100"}, nil},
	}
	for _, st := range steps {
		err := s.ApplyChange(st.c)
		if !errors.Is(err, st.wantIs) || (st.wantIs == nil) != (err == nil) {
			t.Fatalf("%s: ApplyChange = %v, want %v", st.name, err, st.wantIs)
		}
		if st.name == "revoke the card" {
			d, _ := tap(t, s, "r-a1", "0A0B0C0E", "2026-11-04 10:00")
			if d.Reason != access.ReasonCardRevoked {
				t.Errorf("tap with the revoked card: %+v, want card_revoked", d)
			}
		}
	}
	var gap *store.RevisionGapError
	if err := s.ApplyChange(store.Change{Rev: 40, Op: store.OpSuspend, ID: "m-001"}); !errors.As(err, &gap) || gap.Have != 18 || gap.Got != 40 {
		t.Errorf("gap error = %v, want have 18 got 40", err)
	}
	info, _ := s.MembershipInfo()
	if info.Revision != 18 || info.Members != 4 || info.Cards != 5 {
		t.Errorf("membership info = %+v, want revision 18 and the starting counts", info)
	}
}

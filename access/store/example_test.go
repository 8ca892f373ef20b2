package store_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/pkfreelance/seatgate/access/store"
)

// A snapshot is applied as it is read, and only if it is newer than the
// membership in force.
func ExampleStore_ReplaceMembershipFrom() {
	dir, err := os.MkdirTemp("", "seatgate-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := store.Open(filepath.Join(dir, "seatgate.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	snapshot := `{"centre": "lhr-01", "revision": 12, "generated_at": "2026-11-01T09:00:00+05:00",
	  "plans": [{"id": "day", "name": "Day shift", "windows": [{"start": "09:00", "end": "18:00"}]}],
	  "members": [{"id": "m-001", "name": "Ayesha Khan", "status": "active", "plan": "day",
	    "valid_from": "2026-11-01", "valid_until": "2026-11-30", "seats": {"kind": "any"},
	    "cards": [{"uid": "04:a1:b2:c3"}]}]}`
	newer := func(next, current store.MembershipInfo) error {
		if next.Revision <= current.Revision {
			return errors.New("not newer than the membership in force")
		}
		return nil
	}
	info, err := s.ReplaceMembershipFrom(strings.NewReader(snapshot), newer)
	fmt.Println(info.Centre, info.Revision, info.Members, info.Cards, info.Plans, err)
	_, err = s.ReplaceMembershipFrom(strings.NewReader(snapshot), newer)
	fmt.Println(err)
	// Output:
	// lhr-01 12 1 1 1 <nil>
	// replace membership: not newer than the membership in force
}

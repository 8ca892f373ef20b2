package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/pkfreelance/seatgate/access"
)

// membershipOf has n members m-000000…, one card each, on one plan.
func membershipOf(n int, revision int64) Membership {
	m := Membership{Centre: "lhr-01", Revision: revision, GeneratedAt: time.Date(2026, 11, 2, 9, 0, 0, 0, testLoc),
		Plans: []access.Plan{{ID: "open", Name: "Open access"}}}
	for i := range n {
		id := fmt.Sprintf("m-%06d", i)
		m.Members = append(m.Members, access.Member{ID: id, Name: "Member " + id, Status: access.StatusActive, PlanID: "open",
			ValidFrom: access.Date{Year: 2026, Month: 11, Day: 1}, ValidUntil: access.Date{Year: 2026, Month: 11, Day: 30},
			Seats: access.SeatRule{Kind: access.SeatAny}})
		m.Cards = append(m.Cards, access.Card{UID: fmt.Sprintf("%02X%012X", revision, i), MemberID: id})
	}
	return m
}

// bucketKeys counts the keys of the buckets at path (a nested bucket is a
// path of names), -1 for a bucket that does not exist.
func bucketKeys(t *testing.T, dbPath string, paths ...[][]byte) []int {
	t.Helper()
	var n []int
	rawUpdate(t, dbPath, func(tx *bbolt.Tx) error {
		for _, path := range paths {
			b := tx.Bucket(path[0])
			for _, name := range path[1:] {
				if b != nil {
					b = b.Bucket(name)
				}
			}
			if b == nil {
				n = append(n, -1)
				continue
			}
			n = append(n, b.Stats().KeyN)
		}
		return nil
	})
	return n
}

// crashChildEnv names the database that TestCrashWhileStaging's child
// process stages a membership into, until it is killed.
const crashChildEnv = "SEATGATE_STORE_CRASH_CHILD"

// TestCrashWhileStaging: a gateway killed (SIGKILL, as in a power cut)
// while it stages a snapshot of 15,000 members keeps its old membership
// whole; Open drops what was staged, and the next replacement works.
func TestCrashWhileStaging(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		stageUntilKilled(path)
		return
	}
	path := filepath.Join(t.TempDir(), "seatgate.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceMembership(membershipOf(4, 12)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWhileStaging$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	staged := make(chan string, 1)
	go func() {
		var lines []string
		for sc := bufio.NewScanner(out); sc.Scan(); {
			if sc.Text() == "staged" {
				staged <- ""
				return
			}
			lines = append(lines, sc.Text())
		}
		staged <- strings.Join(lines, "\n")
	}()
	select {
	case failed := <-staged:
		if failed != "" {
			cmd.Wait()
			t.Fatalf("the child ended before it staged:\n%s\n%s", failed, stderr.String())
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("the child did not stage in 2 minutes:\n%s", stderr.String())
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred function, no bbolt close
		t.Fatal(err)
	}
	cmd.Wait()

	got := bucketKeys(t, path, [][]byte{bucketStaging, bucketMembers}, [][]byte{bucketMembers})
	if got[0] < 10_000 || got[1] != 4 {
		t.Fatalf("after the kill: %d members staged, %d in force; want at least 10,000 staged, 4 in force", got[0], got[1])
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Errorf("check after the crash: %v", err)
	}
	if info, err := s.MembershipInfo(); err != nil || info.Revision != 12 || info.Members != 4 || info.Cards != 4 {
		t.Errorf("membership after the crash: got %+v, %v, want revision 12 with 4 members", info, err)
	}
	if _, err := s.ReplaceMembershipFrom(bytes.NewReader(mustJSON(t, membershipOf(15_000, 13))), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := bucketKeys(t, path, [][]byte{bucketStaging}, [][]byte{bucketMembers}, [][]byte{bucketCards}); !slices.Equal(got, []int{-1, 15_000, 15_000}) {
		t.Errorf("after the next replacement: staging, members, cards %v, want [-1 15000 15000]", got)
	}
}

// stageUntilKilled is TestCrashWhileStaging's child: it stages a snapshot
// of 15,000 members into the store at path, fsync on, and stops reading
// it after 12,500, saying "staged", to be killed.
func stageUntilKilled(path string) {
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	data, err := json.Marshal(membershipOf(15_000, 13))
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	stop := bytes.Index(data, []byte(`"m-012500"`))
	r := io.MultiReader(bytes.NewReader(data[:stop]), readerFunc(func([]byte) (int, error) {
		fmt.Println("staged")
		time.Sleep(2 * time.Minute) // killed long before
		return 0, errors.New("not killed")
	}))
	_, err = s.ReplaceMembershipFrom(r, nil)
	fmt.Println("replace returned:", err)
	os.Exit(2)
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOpenDropsLeftovers: staging and snapshot parts that a crash left
// behind are dropped at Open; the membership in force is untouched.
func TestOpenDropsLeftovers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seatgate.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceMembership(membershipOf(3, 12)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSnapshotParts("13/abc/2", map[int][]byte{0: []byte(`{"centre":`)}); err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		st, err := tx.CreateBucket(bucketStaging)
		if err != nil {
			return err
		}
		for _, name := range membershipBuckets {
			b, err := st.CreateBucket(name)
			if err != nil {
				return err
			}
			if err := b.Put([]byte("x"), []byte("{}")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), "a staged membership (bucket membership_staging) is left over") {
		t.Errorf("check with staging left over: got %v, want it reported", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Errorf("check after open: %v", err)
	}
	if info, _ := s.MembershipInfo(); info.Revision != 12 || info.Members != 3 {
		t.Errorf("membership: got %+v, want revision 12 with 3 members", info)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := bucketKeys(t, path, [][]byte{bucketStaging}, [][]byte{bucketParts}, [][]byte{bucketMembers}); !slices.Equal(got, []int{-1, -1, 3}) {
		t.Errorf("staging, parts, members: got %v, want [-1 -1 3]", got)
	}
}

// storedMembership reads the membership in force back from the buckets,
// in key order.
func storedMembership(t testing.TB, s *Store) Membership {
	t.Helper()
	var m Membership
	err := s.db.View(func(tx *bbolt.Tx) error {
		var info membershipMeta
		if err := decode(tx.Bucket(bucketMeta).Get(keyMembership), &info); err != nil {
			return err
		}
		m.Centre, m.Revision, m.GeneratedAt = info.Centre, info.Revision, info.GeneratedAt
		st := &txState{tx: tx}
		err := tx.Bucket(bucketPlans).ForEach(func(k, _ []byte) error {
			p, _ := st.Plan(string(k))
			m.Plans = append(m.Plans, p)
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketMembers).ForEach(func(k, _ []byte) error {
			mem, _ := st.Member(string(k))
			m.Members = append(m.Members, mem)
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketCards).ForEach(func(k, _ []byte) error {
			c, _ := st.Card(string(k))
			m.Cards = append(m.Cards, c)
			return nil
		})
		if err != nil {
			return err
		}
		return st.err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sorted returns m with its plans, members and cards in key order, as
// the store keeps them.
func sorted(m Membership) Membership {
	m.Plans = slices.SortedFunc(slices.Values(m.Plans), func(a, b access.Plan) int { return strings.Compare(a.ID, b.ID) })
	m.Members = slices.SortedFunc(slices.Values(m.Members), func(a, b access.Member) int { return strings.Compare(a.ID, b.ID) })
	m.Cards = slices.SortedFunc(slices.Values(m.Cards), func(a, b access.Card) int { return strings.Compare(a.UID, b.UID) })
	return m
}

func sameMembership(got, want Membership) bool {
	if !got.GeneratedAt.Equal(want.GeneratedAt) {
		return false
	}
	got.GeneratedAt, want.GeneratedAt = time.Time{}, time.Time{}
	return reflect.DeepEqual(got, want)
}

// FuzzReplaceMembershipFrom: the stream and ParseMembership (which reads
// the snapshot whole and runs Membership.Validate) agree on every input:
// both refuse it, and the store keeps what it had; or both accept it, and
// the store holds exactly what ParseMembership returned.
func FuzzReplaceMembershipFrom(f *testing.F) {
	f.Add(`{"centre":"c","revision":0,"generated_at":"2026-01-01T00:00:00Z","plans":[],"members":[]}`)
	f.Add(`{"centre":"c","revision":1,"generated_at":"2026-01-01T00:00:00Z","plans":[{"id":"p","name":"P","days":["sun"],` +
		`"windows":[{"start":"20:00","end":"06:00"}],"grace_days":366,"price_pkr":0}],` +
		`"members":[{"id":"m","name":"M","status":"suspended","plan":"p","valid_from":"2028-02-29","valid_until":"2028-02-29",` +
		`"seats":{"kind":"fixed","seat":"A1"},"cards":[{"uid":"01 02 03 04 05 06 07 08 09 0a","revoked":true}]}]}`)
	f.Add(`{"members":[{"id":"m","name":"M","status":"active","plan":"p","valid_from":"2026-01-01","valid_until":"2026-12-31",` +
		`"seats":{"kind":"zones","zones":["A","B"]},"cards":[{"uid":"01020304"},{"uid":"01:02:03:05"}]},` +
		`{"id":"n","name":"N","status":"active","plan":"q","valid_from":"2026-01-01","valid_until":"2026-12-31",` +
		`"seats":{"kind":"any"},"cards":[{"uid":"01020305"}]}],` +
		`"plans":[{"id":"p","name":"P"},{"id":"q","name":"Q"}],"centre":"c","revision":2,"generated_at":"2026-01-01T00:00:00.5-03:00"}`)
	f.Add(`{"centre":"c","revision":3,"generated_at":"2026-01-01T00:00:00Z","plans":[{"id":"p","name":"P"},{"id":"p","name":"Q"}],"members":[]}`)
	f.Add(`{"centre":"c","revision":3,"generated_at":"2026-01-01T00:00:00Z","plans":[{"id":"p","name":"P"}],"members":[` +
		`{"id":"m","name":"M","status":"active","plan":"p","valid_from":"2026-01-01","valid_until":"2026-12-31","seats":{"kind":"any"},"cards":[]},` +
		`{"id":"m","name":"M","status":"active","plan":"p","valid_from":"2026-01-01","valid_until":"2026-12-31","seats":{"kind":"any"},"cards":[]}]}`)
	f.Add(`{"centre":"c","members":[{"cards":[{"uid":"88010203"}]}]}`)
	f.Add(`{"centre":"c","plans":null,"members":null,"generated_at":"2026-01-01T00:00:00Z"}`)
	f.Add(`{"centre":"c"} {}`)
	f.Add(`null`)
	s, err := Open(filepath.Join(f.TempDir(), "seatgate.db"), Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	if err := s.ReplaceMembership(membershipOf(3, 1)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		want, perr := ParseMembership(strings.NewReader(in))
		before := storedMembership(t, s)
		_, serr := s.ReplaceMembershipFrom(strings.NewReader(in), nil)
		switch {
		case (perr == nil) != (serr == nil):
			t.Fatalf("ParseMembership says %v, ReplaceMembershipFrom says %v", perr, serr)
		case serr != nil && !errors.Is(serr, ErrInvalidMembership):
			t.Fatalf("not an ErrInvalidMembership: %v", serr)
		case serr != nil:
			if got := storedMembership(t, s); !sameMembership(got, before) {
				t.Fatalf("a refused snapshot changed the store:\ngot  %+v\nwant %+v", got, before)
			}
		default:
			if got := storedMembership(t, s); !sameMembership(got, sorted(want)) {
				t.Fatalf("stored:\ngot  %+v\nwant %+v", got, sorted(want))
			}
		}
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
	})
}

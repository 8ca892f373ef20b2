package image

import (
	"encoding/json"
	"testing"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/state"
)

// FuzzDecide runs Reconcile's rules on any state document the state file
// accepts, in any boot, and checks what must hold whatever the document
// says: counters and the floor never go down, a rolled-back trial's
// version is refused, the trial runs only from its partition in a
// tryboot boot, a trial is armed again only from the committed partition
// within the re-arm bound, and the result is a valid document.
func FuzzDecide(f *testing.F) {
	f.Add([]byte(`{"phase":"trial","version":"1.1.0","slot":"3","boot_id":"b1"}`), uint8(3), true, true, false)
	f.Add([]byte(`{"phase":"trial","version":"1.1.0","slot":"3","boot_id":"b2","attempts":2}`), uint8(3), true, true, true)
	f.Add([]byte(`{"phase":"trial","version":"1.1.0","slot":"3","rearms":3}`), uint8(2), false, true, false)
	f.Add([]byte(`{"phase":"rolled_back","version":"1.1.0","slot":"3","refused":["1.1.0"]}`), uint8(3), false, false, false)
	f.Add([]byte(`{"phase":"ready","slot":"b"}`), uint8(2), false, false, false)
	f.Add([]byte(`{"phase":"trial","version":"2","slot":"03","floor":"3"}`), uint8(3), true, false, true)
	f.Fuzz(func(t *testing.T, doc []byte, booted uint8, trying, armed, sameBoot bool) {
		st, err := state.Decode(doc)
		if err != nil {
			return
		}
		s := on(2+int(booted%2), trying, armed, "b2")
		if sameBoot {
			s.boot = st.BootID
			if s.boot == "" {
				s.boot = "b2"
			}
		}
		before := st
		act := decide(&st, s)

		if st.ReArms < before.ReArms || st.Attempts < before.Attempts || st.ReArms > before.ReArms+1 || st.Attempts > before.Attempts+1 {
			t.Errorf("counters went from rearms %d attempts %d to %d, %d", before.ReArms, before.Attempts, st.ReArms, st.Attempts)
		}
		if before.Floor != "" && release.CompareVersions(st.Floor, before.Floor) < 0 {
			t.Errorf("floor went down from %q to %q", before.Floor, st.Floor)
		}
		if before.Phase == state.Trial && st.Phase == state.RolledBack && st.Version != "" && !st.Refuses(st.Version) {
			t.Errorf("version %s rolled back but not refused", st.Version)
		}
		slot, ok := s.partition(st.Slot)
		switch act {
		case actTrial:
			if st.Phase != state.Trial || !ok || !s.trying || s.booted != slot || slot == s.committed {
				t.Errorf("the trial runs in phase %s, slot %q, booted %d, tryboot %v", st.Phase, st.Slot, s.booted, s.trying)
			}
		case actArm:
			if st.Phase != state.Trial || !ok || slot == s.committed || s.booted != s.committed || st.ReArms > s.maxReArms {
				t.Errorf("armed again in phase %s, slot %q, booted %d, rearms %d", st.Phase, st.Slot, s.booted, st.ReArms)
			}
		case actLeave:
			if s.booted == s.committed || st.Phase != state.RolledBack {
				t.Errorf("leaves the committed partition, or in phase %s", st.Phase)
			}
		}
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := state.Decode(b); err != nil {
			t.Errorf("the decision made an invalid document: %v", err)
		}
	})
}

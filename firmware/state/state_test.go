package state_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pkfreelance/seatgate/firmware/state"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(incrementerEnv); dir != "" {
		os.Exit(increment(dir))
	}
	goleak.VerifyTestMain(m)
}

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func open(t *testing.T) *state.File {
	t.Helper()
	f, err := state.Open(filepath.Join(t.TempDir(), "firmware"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func update(t *testing.T, f *state.File, fn func(*state.State) error) state.State {
	t.Helper()
	s, err := f.Update(fn)
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	return s
}

func load(t *testing.T, f *state.File) state.State {
	t.Helper()
	s, err := f.Load()
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return s
}

// same reports whether two documents encode to the same JSON (times
// decoded from a file carry another *Location than the ones written).
func same(t *testing.T, a, b state.State) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenMissingIsIdle(t *testing.T) {
	f := open(t)
	if s := load(t, f); s.Phase != state.Idle || len(s.History) != 0 {
		t.Errorf("a new document: got %+v, want phase idle and no history", s)
	}
	if _, err := os.Stat(filepath.Join(f.Dir(), "state.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load created state.json (%v); want nothing written", err)
	}
}

func TestUpdatePersists(t *testing.T) {
	f := open(t)
	got := update(t, f, func(s *state.State) error {
		s.Version, s.Slot, s.Manifest, s.URLs = "1.4.2", "b", []byte(`{"signed":{}}`), []string{"https://hq/a"}
		s.Enter(t0, state.Downloading, "assigned")
		return nil
	})
	if got.Phase != state.Downloading || got.NextSeq != 2 || len(got.History) != 1 || got.History[0].Seq != 1 {
		t.Fatalf("returned state: got %+v, want downloading with history entry 1", got)
	}
	again, err := state.Open(f.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if reloaded := load(t, again); !same(t, reloaded, got) {
		t.Errorf("reloaded: got %+v, want %+v", reloaded, got)
	}
	if e := got.History[0]; e.Version != "1.4.2" || e.Phase != state.Downloading || e.Detail != "assigned" || !e.At.Equal(t0) {
		t.Errorf("history entry: got %+v", e)
	}
}

// TestUpdateErrorChangesNothing: fn's error is returned as is, the
// returned state is the one before, and neither the file nor the state a
// later Update sees has any of fn's changes, even ones made in place to
// the slices and bytes it was given.
func TestUpdateErrorChangesNothing(t *testing.T) {
	f := open(t)
	before := update(t, f, func(s *state.State) error {
		s.Version, s.Manifest, s.Refused, s.URLs = "2", []byte("manifest"), []string{"1.9"}, []string{"https://hq/x"}
		s.Enter(t0, state.Waiting, "window")
		return nil
	})
	file := readFile(t, filepath.Join(f.Dir(), "state.json"))
	errBoom := errors.New("boom")
	got, err := f.Update(func(s *state.State) error {
		s.Manifest[0] = 'X'
		s.Refused[0] = "changed"
		s.URLs[0] = "changed"
		s.History[0].Detail = "changed"
		s.Enter(t0, state.Trial, "never")
		s.Attempts = 7
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update: got error %v, want %v", err, errBoom)
	}
	if !same(t, got, before) {
		t.Errorf("returned state: got %+v, want the state before %+v", got, before)
	}
	if after := readFile(t, filepath.Join(f.Dir(), "state.json")); !bytes.Equal(after, file) {
		t.Errorf("state.json changed by a failed Update:\n%s\nwant\n%s", after, file)
	}
	if now := load(t, f); !same(t, now, before) {
		t.Errorf("loaded: got %+v, want %+v", now, before)
	}
}

func TestUpdateRefusesInvalidPhase(t *testing.T) {
	f := open(t)
	_, err := f.Update(func(s *state.State) error { s.Phase = "exploded"; return nil })
	if err == nil || !strings.Contains(err.Error(), "exploded") {
		t.Fatalf("got %v, want an error naming the phase", err)
	}
	if _, err := os.Stat(filepath.Join(f.Dir(), "state.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state.json written for an invalid phase")
	}
}

// TestUpdateWithoutChangeDoesNotWrite: an Update that changes nothing
// leaves the file (the same inode) and its previous copy alone.
func TestUpdateWithoutChangeDoesNotWrite(t *testing.T) {
	f := open(t)
	update(t, f, func(s *state.State) error { s.Enter(t0, state.Waiting, ""); return nil })
	update(t, f, func(s *state.State) error { s.Done = 1; return nil })
	path := filepath.Join(f.Dir(), "state.json")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	prev := readFile(t, path+".prev")
	update(t, f, func(s *state.State) error { s.Done = 1; return nil })
	st2, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(st, st2) {
		t.Error("state.json was rewritten by an Update that changed nothing")
	}
	if got := readFile(t, path+".prev"); !bytes.Equal(got, prev) {
		t.Error("state.json.prev changed by an Update that changed nothing")
	}
}

// TestPrevKeepsTheDocumentBefore: after each write, state.json.prev is the
// document as it was before that write.
func TestPrevKeepsTheDocumentBefore(t *testing.T) {
	f := open(t)
	path := filepath.Join(f.Dir(), "state.json")
	first := update(t, f, func(s *state.State) error { s.Enter(t0, state.Waiting, ""); return nil })
	firstBytes := readFile(t, path)
	update(t, f, func(s *state.State) error { s.Enter(t0, state.Downloading, ""); return nil })
	if got := readFile(t, path+".prev"); !bytes.Equal(got, firstBytes) {
		t.Fatalf("state.json.prev:\n%s\nwant the first document\n%s", got, firstBytes)
	}
	p, err := state.Decode(readFile(t, path+".prev"))
	if err != nil || !same(t, p, first) {
		t.Errorf("state.json.prev decodes to %+v, %v; want %+v", p, err, first)
	}
	left, err := filepath.Glob(filepath.Join(f.Dir(), "*.tmp*"))
	if err != nil || len(left) != 0 {
		t.Errorf("temporary files left behind: %v %v", left, err)
	}
}

// TestDamagedFallsBackToPrev: a state.json that is missing, truncated or
// garbage (a disk that lost the rename, a torn write) is replaced by the
// previous copy; the next Update builds on that copy, repairs state.json
// and keeps the good copy as .prev.
func TestDamagedFallsBackToPrev(t *testing.T) {
	for _, tt := range []struct {
		name   string
		damage func(path string) error
	}{
		{"missing", os.Remove},
		{"empty", func(p string) error { return os.WriteFile(p, nil, 0o600) }},
		{"truncated", func(p string) error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, b[:len(b)/2], 0o600)
		}},
		{"zeros", func(p string) error { return os.WriteFile(p, make([]byte, 512), 0o600) }},
		{"invalid phase", func(p string) error { return os.WriteFile(p, []byte(`{"phase":"melted"}`), 0o600) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := open(t)
			path := filepath.Join(f.Dir(), "state.json")
			good := update(t, f, func(s *state.State) error {
				s.Version, s.Floor = "2", "1"
				s.Enter(t0, state.Downloading, "")
				return nil
			})
			update(t, f, func(s *state.State) error { s.Done = 5; return nil })
			if err := tt.damage(path); err != nil {
				t.Fatal(err)
			}
			if got := load(t, f); !same(t, got, good) {
				t.Fatalf("Load: got %+v, want the previous copy %+v", got, good)
			}
			// Even an Update that changes nothing repairs state.json.
			update(t, f, func(*state.State) error { return nil })
			repaired, err := state.Decode(readFile(t, path))
			if err != nil || !same(t, repaired, good) {
				t.Fatalf("state.json after a no-op Update: %+v, %v; want it repaired to %+v", repaired, err, good)
			}
			next := update(t, f, func(s *state.State) error { s.Done++; return nil })
			if next.Done != 1 || next.Floor != "1" || next.Phase != state.Downloading {
				t.Errorf("Update after the damage: got %+v, want built on the previous copy (done 1)", next)
			}
		})
	}
}

// TestDamagedTwiceKeepsTheGoodCopy: while state.json is damaged, a second
// damage after a repair still finds a good copy.
func TestDamagedTwiceKeepsTheGoodCopy(t *testing.T) {
	f := open(t)
	path := filepath.Join(f.Dir(), "state.json")
	update(t, f, func(s *state.State) error { s.Enter(t0, state.Waiting, ""); return nil })
	update(t, f, func(s *state.State) error { s.Done = 1; return nil })
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	update(t, f, func(s *state.State) error { s.Done = 2; return nil })
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := load(t, f); got.Phase != state.Waiting {
		t.Errorf("Load after a second damage: got %+v, want a good earlier copy", got)
	}
}

func TestBothDamagedIsAnError(t *testing.T) {
	f := open(t)
	for _, name := range []string{"state.json", "state.json.prev"} {
		if err := os.WriteFile(filepath.Join(f.Dir(), name), []byte("not json"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Load(); err == nil {
		t.Error("Load with both copies damaged: got no error")
	}
	called := false
	if _, err := f.Update(func(*state.State) error { called = true; return nil }); err == nil || called {
		t.Errorf("Update with both copies damaged: got %v (fn called %v), want an error before fn", err, called)
	}
}

func TestHistoryIsBounded(t *testing.T) {
	f := open(t)
	const n = 3*state.MaxHistory + 5
	var built state.State
	for i := range n - 1 {
		built.Enter(t0.Add(time.Duration(i)*time.Second), state.Phases()[i%len(state.Phases())], strconv.Itoa(i))
	}
	update(t, f, func(s *state.State) error { *s = built; return nil })
	update(t, f, func(s *state.State) error { s.Enter(t0, state.Idle, strconv.Itoa(n-1)); return nil })
	s := load(t, f)
	if len(s.History) != state.MaxHistory {
		t.Fatalf("history has %d entries, want %d", len(s.History), state.MaxHistory)
	}
	if s.NextSeq != n+1 {
		t.Errorf("next_seq %d, want %d", s.NextSeq, n+1)
	}
	for i, e := range s.History {
		want := uint64(n - state.MaxHistory + 1 + i)
		if e.Seq != want || e.Detail != strconv.FormatUint(want-1, 10) {
			t.Fatalf("history[%d]: got seq %d detail %q, want seq %d (the newest %d kept, in order)", i, e.Seq, e.Detail, want, state.MaxHistory)
		}
	}
}

func TestSince(t *testing.T) {
	var s state.State
	for i := range 5 {
		s.Enter(t0, state.Waiting, strconv.Itoa(i+1))
	}
	s.History = s.History[2:] // entries 3, 4, 5 remain, as after trimming
	for _, tt := range []struct {
		seq  uint64
		want []uint64
	}{
		{0, []uint64{3, 4, 5}},
		{1, []uint64{3, 4, 5}},
		{2, []uint64{3, 4, 5}},
		{3, []uint64{4, 5}},
		{4, []uint64{5}},
		{5, nil},
		{99, nil},
		{math.MaxUint64, nil},
	} {
		t.Run(strconv.FormatUint(tt.seq, 10), func(t *testing.T) {
			var got []uint64
			for _, e := range s.Since(tt.seq) {
				got = append(got, e.Seq)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Since(%d): got %v, want %v", tt.seq, got, tt.want)
			}
		})
	}
	got := s.Since(3)
	got[0].Detail = "changed"
	if s.History[1].Detail != "4" {
		t.Error("Since returned entries that share memory with the history")
	}
}

func TestRefuses(t *testing.T) {
	s := state.State{Refused: []string{"1.2", "1.3"}}
	if !s.Refuses("1.3") || s.Refuses("1.4") {
		t.Errorf("Refuses: got 1.3 %v, 1.4 %v; want true, false", s.Refuses("1.3"), s.Refuses("1.4"))
	}
}

func TestPhases(t *testing.T) {
	final := map[state.Phase]bool{state.Idle: true, state.Committed: true, state.RolledBack: true, state.Failed: true}
	for _, p := range state.Phases() {
		if !p.Valid() {
			t.Errorf("%s is not Valid", p)
		}
		if p.Final() != final[p] {
			t.Errorf("%s.Final() = %v, want %v", p, p.Final(), final[p])
		}
	}
	if state.Phase("").Valid() || state.Phase("Trial").Valid() {
		t.Error("an empty or differently cased phase is Valid")
	}
}

// TestConcurrentGoroutines: Updates from two goroutines, each through its
// own File, serialise: no increment is lost, and a reader in between
// never sees a torn or missing document nor the counter going back.
func TestConcurrentGoroutines(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "firmware")
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 2 {
		wg.Go(func() {
			f, err := state.Open(dir)
			if err != nil {
				errs <- err
				return
			}
			for range n {
				if _, err := f.Update(incrementDone); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	stop := make(chan struct{})
	var reader sync.WaitGroup
	reader.Go(func() {
		f, err := state.Open(dir)
		if err != nil {
			errs <- err
			return
		}
		last := 0
		for {
			select {
			case <-stop:
				return
			default:
			}
			s, err := f.Load()
			if err != nil {
				errs <- fmt.Errorf("load during updates: %w", err)
				return
			}
			if s.Done < last {
				errs <- fmt.Errorf("load during updates: done went from %d back to %d", last, s.Done)
				return
			}
			last = s.Done
		}
	})
	wg.Wait()
	close(stop)
	reader.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	f, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkIncrements(t, load(t, f), 2*n)
}

// incrementerEnv names the directory in which the test binary, run as a
// helper process, increments the counter (TestConcurrentProcesses).
const incrementerEnv = "SEATGATE_STATE_INCREMENTER"

const perProcess = 50

func incrementDone(s *state.State) error {
	s.Done++
	s.Enter(t0, state.Downloading, strconv.Itoa(s.Done))
	return nil
}

// increment is the helper process: it waits for its standard input to
// close (so that both helpers start together), then makes perProcess
// increments.
func increment(dir string) int {
	io.Copy(io.Discard, os.Stdin)
	f, err := state.Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for range perProcess {
		if _, err := f.Update(incrementDone); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

// TestConcurrentProcesses: Updates from two processes serialise on the
// flock: none is lost.
func TestConcurrentProcesses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "firmware")
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	var starts []io.Closer
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), incrementerEnv+"="+dir)
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		start, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs, starts = append(cmds, cmd), append(outs, out), append(starts, start)
	}
	for _, start := range starts {
		start.Close()
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper process %d: %v\n%s", i, err, outs[i])
		}
	}
	f, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkIncrements(t, load(t, f), 2*perProcess)
}

// checkIncrements checks the document after n increments by
// incrementDone: the count, and a history whose details count up to it.
func checkIncrements(t *testing.T, s state.State, n int) {
	t.Helper()
	if s.Done != n {
		t.Fatalf("done = %d after %d increments: updates were lost", s.Done, n)
	}
	if s.NextSeq != uint64(n+1) {
		t.Errorf("next_seq = %d, want %d", s.NextSeq, n+1)
	}
	for i, e := range s.History {
		if want := strconv.Itoa(n - len(s.History) + 1 + i); e.Detail != want {
			t.Fatalf("history[%d] detail %q, want %q", i, e.Detail, want)
		}
	}
}

func TestDecode(t *testing.T) {
	for _, tt := range []struct {
		name, doc string
		want      string // part of the error; "" for none
	}{
		{"empty object is idle", `{}`, ""},
		{"full", `{"phase":"trial","version":"2","slot":"b","attempts":1,"rearms":2,"boot_id":"x",
			"trial_started":"2026-11-02T09:00:00Z","history":[{"seq":4,"at":"2026-11-02T09:00:00Z","phase":"trial"}],"next_seq":5}`, ""},
		{"unknown field", `{"phase":"idle","colour":"red"}`, "unknown field"},
		{"data after the object", `{"phase":"idle"} {}`, "data after"},
		{"unknown phase", `{"phase":"done"}`, "phase"},
		{"negative attempts", `{"phase":"trial","attempts":-1}`, "negative"},
		{"negative rearms", `{"phase":"trial","rearms":-1}`, "negative"},
		{"negative done", `{"phase":"downloading","done":-1}`, "negative"},
		{"history sequence 0", `{"history":[{"seq":0,"at":"2026-11-02T09:00:00Z","phase":"idle"}],"next_seq":1}`, "history sequence 0"},
		{"history out of order", `{"history":[{"seq":2,"at":"2026-11-02T09:00:00Z","phase":"idle"},{"seq":2,"at":"2026-11-02T09:00:00Z","phase":"idle"}],"next_seq":3}`, "history sequence"},
		{"next_seq behind the history", `{"history":[{"seq":2,"at":"2026-11-02T09:00:00Z","phase":"idle"}],"next_seq":2}`, "next_seq"},
		{"not an object", `[]`, "state document"},
		{"too large", `{"detail":"` + strings.Repeat("x", state.MaxSize) + `"}`, "limit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := state.Decode([]byte(tt.doc))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %+v, %v; want an error containing %q", s, err, tt.want)
			}
			if err == nil && !s.Phase.Valid() {
				t.Errorf("decoded phase %q is not valid", s.Phase)
			}
		})
	}
}

func TestBootID(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "boot_id")
	if err := os.WriteFile(path, []byte("8e1f2a6c-1d1b-4c0e-9a43-0d5b0a6a1f10\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if id, err := state.BootID(path); err != nil || id != "8e1f2a6c-1d1b-4c0e-9a43-0d5b0a6a1f10" {
		t.Errorf("BootID: got %q, %v", id, err)
	}
	if err := os.WriteFile(path, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := state.BootID(path); err == nil {
		t.Error("BootID of an empty file: got no error")
	}
	if _, err := state.BootID(filepath.Join(dir, "none")); err == nil {
		t.Error("BootID of a missing file: got no error")
	}
}

// FuzzDecode: Decode never panics, and what it accepts is valid and
// survives a round trip through Update's encoding unchanged.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"phase":"trial","version":"1.4.2","slot":"b","attempts":1,"rearms":2,"boot_id":"x","manifest":"e30=",
		"trial_started":"2026-11-02T09:00:00+05:00","refused":["1.4.1"],"urls":["https://hq/x"],
		"history":[{"seq":4,"at":"2026-11-02T09:00:00Z","phase":"trial","version":"1.4.2","detail":"d"}],"next_seq":5}`))
	f.Add([]byte(`{"phase":"idle","history":[{"seq":1},{"seq":1}]}`))
	f.Add([]byte(`{"phase":"committed"} x`))
	f.Add([]byte(`{"refused":[""],"urls":[""],"historY":[{}],"neXt_seq":1}`)) // found by fuzzing: an entry of seq 0
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := state.Decode(b)
		if err != nil {
			return
		}
		if !s.Phase.Valid() || s.Attempts < 0 || s.ReArms < 0 {
			t.Fatalf("accepted an invalid document: %+v", s)
		}
		enc, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return // a time that decodes but does not encode (year out of range)
		}
		again, err := state.Decode(enc)
		if err != nil {
			t.Fatalf("re-decoding the encoded document: %v\n%s", err, enc)
		}
		enc2, err := json.MarshalIndent(again, "", "  ")
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip changed the document (%v):\n%s\n%s", err, enc, enc2)
		}
		if len(s.History) > 0 && len(s.Since(0)) != len(s.History) {
			t.Fatalf("Since(0) returned %d of %d entries", len(s.Since(0)), len(s.History))
		}
	})
}

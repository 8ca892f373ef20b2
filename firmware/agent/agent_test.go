package agent_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/agent"
	"github.com/pkfreelance/seatgate/firmware/agent/agenttest"
	"github.com/pkfreelance/seatgate/firmware/fetch"
	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/releasetest"
	"github.com/pkfreelance/seatgate/firmware/state"
)

// backend is backend A reduced to files: the slot and its bitmap.
type backend struct {
	dir    string
	st     *state.File
	mu     sync.Mutex
	trial  int
	commit int
}

func (b *backend) Prepare(m release.Manifest) (string, string, error) {
	return filepath.Join(b.dir, "slot"), filepath.Join(b.dir, "slot.bitmap"), nil
}

func (b *backend) RequestTrial(now time.Time) error {
	b.mu.Lock()
	b.trial++
	b.mu.Unlock()
	_, err := b.st.Update(func(s *state.State) error { s.Slot = "b"; s.Enter(now, state.Ready, "verified"); return nil })
	return err
}

func (b *backend) Commit(now time.Time) error {
	b.mu.Lock()
	b.commit++
	b.mu.Unlock()
	_, err := b.st.Update(func(s *state.State) error {
		s.Floor = s.Version
		s.Enter(now, state.Committed, "health held")
		return nil
	})
	return err
}

type harness struct {
	t        testing.TB
	k        releasetest.Keys
	rootFile string
	dir      string
	st       *state.File
	be       *backend
	log      *agenttest.Log
	exits    chan int
	srv      *releasetest.Server
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	dir := t.TempDir()
	st, err := state.Open(filepath.Join(dir, "firmware"))
	if err != nil {
		t.Fatal(err)
	}
	k := releasetest.NewKeys(t)
	return &harness{t: t, k: k, rootFile: k.RootFile(t), dir: dir, st: st, be: &backend{dir: dir, st: st}, log: &agenttest.Log{},
		exits: make(chan int, 4), srv: releasetest.NewServer(t)}
}

// build is a release of size random bytes for the harness's target,
// edited by edit (if not nil) and signed by key (nil: the release key).
func (h *harness) build(version string, size int, edit func(*release.Manifest), key ed25519.PrivateKey) releasetest.Artifact {
	h.t.Helper()
	chunk := int64(64 << 10) // several chunks in a small test artifact
	if size >= 1<<20 {
		chunk = release.DefaultChunkSize
	}
	m := release.Manifest{Product: release.ProductBinary, Version: version,
		Channel: "stable", Arch: "linux/arm64", ChunkSize: chunk, Created: time.Now()}
	if edit != nil {
		edit(&m)
	}
	if key == nil {
		key = h.k.Release
	}
	return releasetest.NewArtifact(h.t, m, size, key)
}

func (h *harness) config(running string, trial bool) agent.Config {
	return agent.Config{
		State: h.st, Backend: h.be, RootFile: h.rootFile,
		Target: release.Target{Product: release.ProductBinary, Arch: "linux/arm64", Channel: "stable", Running: running},
		Fetch:  fetch.Options{Client: h.srv.Client(), MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond},
		Trial:  trial, Dwell: 100 * time.Millisecond, HealthEvery: 10 * time.Millisecond, FailAfter: 50 * time.Millisecond,
		Exit: func(code int) { h.exits <- code }, Log: h.log,
	}
}

// run starts an agent until the test ends.
func (h *harness) run(c agent.Config) *agent.Agent {
	h.t.Helper()
	a, err := agent.New(c)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	h.t.Cleanup(func() { cancel(); <-done })
	return a
}

func (h *harness) waitExit(want int) {
	h.t.Helper()
	select {
	case got := <-h.exits:
		if got != want {
			h.t.Fatalf("exit %d, want %d", got, want)
		}
	case <-time.After(20 * time.Second):
		s, _ := h.st.Load()
		h.t.Fatalf("no exit %d; state %s %q", want, s.Phase, s.Detail)
	}
}

func (h *harness) waitPhase(p state.Phase) state.State {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := h.st.Load()
		if err == nil && s.Phase == p {
			return s
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("phase %s never came; state %s %q", p, s.Phase, s.Detail)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAssignmentDownloadsVerifiesAndAsksForTheSwitch(t *testing.T) {
	h := newHarness(t)
	a := h.run(h.config("1.0.0", false))
	art := h.build("1.1.0", 300<<10, nil, nil)
	a.Assign(agent.Assignment{Rollout: "r-1", Manifest: art.Signed, URLs: []string{h.srv.Publish(art)}})
	h.waitExit(agent.ExitUpdate)
	got, err := os.ReadFile(filepath.Join(h.dir, "slot"))
	if err != nil || !bytes.Equal(got, art.Data) {
		t.Fatalf("slot holds %d bytes (err %v), want the %d-byte artifact", len(got), err, len(art.Data))
	}
	s := h.waitPhase(state.Ready)
	if s.Version != "1.1.0" || s.Rollout != "r-1" || s.From != "1.0.0" {
		t.Errorf("state %+v", s)
	}
	// Every step reached the event log once, in order.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.HasSuffix(strings.Join(h.log.Phases(), " "), "ready") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	ph := strings.Join(h.log.Phases(), " ")
	if !strings.HasPrefix(ph, "waiting downloading") || !strings.HasSuffix(ph, "ready") {
		t.Errorf("reported phases %q, want waiting, downloading…, ready", ph)
	}
	// The same assignment again changes nothing.
	before := len(h.log.Phases())
	a.Assign(agent.Assignment{Rollout: "r-1", Manifest: art.Signed, URLs: []string{h.srv.Publish(art)}})
	time.Sleep(50 * time.Millisecond)
	if n := len(h.log.Phases()); n != before {
		t.Errorf("a repeated assignment logged %d more steps", n-before)
	}
}

func TestRefusedAssignments(t *testing.T) {
	h := newHarness(t)
	_, stranger, _ := release.GenerateKey()
	good := h.build("1.1.0", 70<<10, nil, nil)
	tampered := bytes.Replace(good.Signed, []byte(`"1.1.0"`), []byte(`"1.9.0"`), 1)
	cases := []struct {
		name   string
		signed []byte
		want   string
	}{
		{"bad signature", tampered, "manifest refused"},
		{"unknown key", h.build("1.1.0", 70<<10, nil, stranger).Signed, "manifest refused"},
		{"older version", h.build("0.9.0", 70<<10, nil, nil).Signed, "not above"},
		{"other architecture", h.build("1.2.0", 70<<10, func(m *release.Manifest) { m.Arch = "linux/amd64" }, nil).Signed, "built for"},
		{"expired", h.build("1.3.0", 70<<10, func(m *release.Manifest) {
			m.Created, m.Expires = time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour)
		}, nil).Signed, "manifest refused"},
		{"garbage", []byte("{not json"), "manifest refused"},
	}
	a := h.run(h.config("1.0.0", false))
	for i, c := range cases {
		a.Assign(agent.Assignment{Rollout: "r-" + string(rune('a'+i)), Manifest: c.signed, URLs: []string{h.srv.URL + "/x"}})
		deadline := time.Now().Add(5 * time.Second)
		for {
			s, _ := h.st.Load()
			if s.Phase == state.Failed && s.Rollout == "r-"+string(rune('a'+i)) {
				if !strings.Contains(s.Detail, c.want) {
					t.Errorf("%s: detail %q, want it to say %q", c.name, s.Detail, c.want)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not refused; state %s %q", c.name, s.Phase, s.Detail)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if _, err := os.Stat(filepath.Join(h.dir, "slot")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused release was written to the slot (%v)", err)
	}
	select {
	case c := <-h.exits:
		t.Errorf("exit %d after refused assignments", c)
	default:
	}
	// HQ re-sending a refused assignment does not flood the log.
	s, _ := h.st.Load()
	n := len(s.History)
	last := cases[len(cases)-1]
	for range 3 {
		a.Assign(agent.Assignment{Rollout: "r-" + string(rune('a'+len(cases)-1)), Manifest: last.signed, URLs: []string{h.srv.URL + "/x"}})
	}
	time.Sleep(50 * time.Millisecond)
	if s, _ := h.st.Load(); len(s.History) != n {
		t.Errorf("repeating a refused assignment added %d history entries", len(s.History)-n)
	}
}

func TestDownloadNotFoundFailsWithoutLooping(t *testing.T) {
	h := newHarness(t)
	a := h.run(h.config("1.0.0", false))
	art := h.build("1.1.0", 70<<10, nil, nil)
	a.Assign(agent.Assignment{Rollout: "r-1", Manifest: art.Signed, URLs: []string{h.srv.URL + "/gone"}})
	s := h.waitPhase(state.Failed)
	if !strings.Contains(s.Detail, "download failed") {
		t.Errorf("detail %q", s.Detail)
	}
}

func TestTrialCommitsWhenHealthHolds(t *testing.T) {
	h := newHarness(t)
	art := h.build("1.1.0", 70<<10, nil, nil)
	h.st.Update(func(s *state.State) error {
		s.Manifest, s.Version, s.SHA256 = art.Signed, "1.1.0", art.Manifest.SHA256
		s.Enter(time.Now(), state.Trial, "started by the supervisor")
		return nil
	})
	h.run(h.config("1.1.0", true))
	h.waitPhase(state.Committed)
	select {
	case c := <-h.exits:
		t.Errorf("exit %d during a healthy trial", c)
	default:
	}
}

func TestTrialFailingHealthAsksForRollback(t *testing.T) {
	h := newHarness(t)
	h.st.Update(func(s *state.State) error { s.Version = "1.1.0"; s.Enter(time.Now(), state.Trial, ""); return nil })
	c := h.config("1.1.0", true)
	c.Health = func(state.State) error { return errors.New("2 of 6 readers answering") }
	h.run(c)
	h.waitExit(agent.ExitRollback)
	s, _ := h.st.Load()
	if !strings.Contains(s.Detail, "2 of 6 readers") || s.Phase != state.Trial {
		t.Errorf("state %s %q: want the trial's reason recorded for the supervisor", s.Phase, s.Detail)
	}
	if h.be.commit != 0 {
		t.Error("committed a failing trial")
	}
}

func TestDownloadResumesAfterRestart(t *testing.T) {
	h := newHarness(t)
	art := h.build("1.1.0", 200<<10, nil, nil)
	url := h.srv.Publish(art)
	// A previous run recorded the assignment and died before finishing.
	h.st.Update(func(s *state.State) error {
		s.Rollout, s.Manifest, s.Version, s.SHA256, s.URLs = "r-1", art.Signed, "1.1.0", art.Manifest.SHA256, []string{url}
		s.Enter(time.Now(), state.Downloading, "downloading 1/4 chunks")
		return nil
	})
	h.run(h.config("1.0.0", false))
	h.waitExit(agent.ExitUpdate)
	if got, _ := os.ReadFile(filepath.Join(h.dir, "slot")); !bytes.Equal(got, art.Data) {
		t.Fatal("the resumed download did not complete the artifact")
	}
}

func TestRootRotationFromHQ(t *testing.T) {
	h := newHarness(t)
	// Root version 2 lists a new release key; the manifest is signed by it.
	_, newRel, _ := release.GenerateKey()
	root2 := releasetest.SignRoot(t, releasetest.Root(2, time.Now().AddDate(1, 0, 0), h.k.Root, newRel), h.k.Root)
	art := h.build("1.1.0", 70<<10, nil, newRel)
	a := h.run(h.config("1.0.0", false))
	a.Assign(agent.Assignment{Rollout: "r-1", Manifest: art.Signed, Roots: [][]byte{root2}, URLs: []string{h.srv.Publish(art)}})
	h.waitExit(agent.ExitUpdate)
	// The new root is kept for the next start.
	if _, err := agent.New(h.config("1.0.0", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "firmware", "roots", "2.json")); err != nil {
		t.Errorf("root version 2 not kept: %v", err)
	}
}

func TestRefusalDuringADownloadLeavesItAlone(t *testing.T) {
	h := newHarness(t)
	// A slow source: the download is in progress when a bad assignment
	// (another channel) arrives.
	art := h.build("1.1.0", 300<<10, nil, nil)
	unblock := make(chan struct{})
	h.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-unblock
		http.ServeContent(w, r, "a", time.Time{}, bytes.NewReader(art.Data))
	})
	a := h.run(h.config("1.0.0", false))
	a.Assign(agent.Assignment{Rollout: "r-1", Manifest: art.Signed, URLs: []string{h.srv.URL + "/a"}})
	h.waitPhase(state.Waiting)
	beta := h.build("1.5.0", 70<<10, func(m *release.Manifest) { m.Channel = "beta" }, nil)
	a.Assign(agent.Assignment{Rollout: "r-beta", Manifest: beta.Signed, URLs: []string{h.srv.URL + "/b"}})
	time.Sleep(50 * time.Millisecond)
	if s, _ := h.st.Load(); s.Rollout != "r-1" || s.Version != "1.1.0" || s.Phase.Final() {
		t.Fatalf("a refused assignment changed the update in progress: %s %s %s", s.Phase, s.Rollout, s.Version)
	}
	close(unblock)
	h.waitExit(agent.ExitUpdate)
	if s := h.waitPhase(state.Ready); s.Version != "1.1.0" {
		t.Errorf("switching to %s, want 1.1.0", s.Version)
	}
}

func TestInstallWindowSurvivesARestart(t *testing.T) {
	h := newHarness(t)
	art := h.build("1.1.0", 70<<10, nil, nil)
	url := h.srv.Publish(art)
	h.st.Update(func(s *state.State) error {
		s.Rollout, s.Manifest, s.Version, s.SHA256, s.URLs, s.Window = "r-1", art.Signed, "1.1.0", art.Manifest.SHA256, []string{url}, "02:00-05:00"
		s.Enter(time.Now(), state.Downloading, "downloading 0/2 chunks")
		return nil
	})
	c := h.config("1.0.0", false)
	var asked sync.Map
	c.InWindow = func(w string, _ time.Time) bool { asked.Store(w, true); return false }
	h.run(c)
	s := h.waitPhase(state.Waiting)
	if s.Detail != "waiting for the install window" {
		t.Errorf("detail %q", s.Detail)
	}
	if _, ok := asked.Load("02:00-05:00"); !ok {
		t.Error("the resumed download did not ask about the assignment's window")
	}
	select {
	case code := <-h.exits:
		t.Fatalf("switched (exit %d) outside the install window", code)
	case <-time.After(100 * time.Millisecond):
	}
}

package image

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/agent"
	"github.com/pkfreelance/seatgate/firmware/agent/agenttest"
	"github.com/pkfreelance/seatgate/firmware/fetch"
	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/releasetest"
	"github.com/pkfreelance/seatgate/firmware/state"
)

// hq is what the agent needs from HQ: a root of trust with a release key,
// and the artifacts served over HTTPS with Range requests.
type hq struct {
	rel      ed25519.PrivateKey
	rootFile string
	srv      *releasetest.Server
}

func newHQ(t *testing.T) *hq {
	t.Helper()
	k := releasetest.NewKeys(t)
	return &hq{rel: k.Release, rootFile: k.RootFile(t), srv: releasetest.NewServer(t)}
}

// gateway is one start of the gateway daemon on the fake Pi, wired as
// the package documentation says: Open, Reconcile, then the agent with
// Trial from Reconcile and an Exit that rolls back.
type gateway struct {
	b      *Backend
	a      *agent.Agent
	trial  bool
	exits  chan int
	cancel context.CancelFunc
	done   chan struct{}
}

func (p *fakePi) startGateway(h *hq, log *agenttest.Log, running string, health func(state.State) error) *gateway {
	p.t.Helper()
	b := p.open()
	trial, err := b.Reconcile(time.Now())
	if err != nil {
		p.t.Fatalf("Reconcile: %v", err)
	}
	g := &gateway{b: b, trial: trial, exits: make(chan int, 4), done: make(chan struct{})}
	a, err := agent.New(agent.Config{
		State: b.State(), Backend: b, RootFile: h.rootFile,
		Target: release.Target{Product: release.ProductImage, Arch: "linux/arm64", Channel: "stable", Running: running},
		Fetch:  fetch.Options{Client: h.srv.Client(), MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond},
		Trial:  trial, Health: health,
		Dwell: 50 * time.Millisecond, HealthEvery: 5 * time.Millisecond, FailAfter: 20 * time.Millisecond,
		Exit: func(code int) {
			if code == agent.ExitRollback {
				if err := b.Rollback(time.Now(), ""); err != nil {
					p.t.Errorf("Rollback: %v", err)
				}
			}
			g.exits <- code
		},
		Log: log,
	})
	if err != nil {
		p.t.Fatal(err)
	}
	g.a = a
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	go func() { a.Run(ctx); close(g.done) }()
	p.t.Cleanup(g.stop)
	return g
}

// stop shuts the gateway down (as systemd does for a reboot).
func (g *gateway) stop() {
	g.cancel()
	<-g.done
}

func (g *gateway) waitExit(t *testing.T, want int) {
	t.Helper()
	select {
	case got := <-g.exits:
		if got != want {
			t.Fatalf("exit %d, want %d", got, want)
		}
	case <-time.After(20 * time.Second):
		st, _ := g.b.State().Load()
		t.Fatalf("no exit %d; state %s %q", want, st.Phase, st.Detail)
	}
}

func (g *gateway) waitPhase(t *testing.T, want state.Phase) state.State {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := g.b.State().Load()
		if err == nil && st.Phase == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("phase %s never came; state %s %q", want, st.Phase, st.Detail)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitReported waits until the event log's last report is of phase want.
func waitReported(t *testing.T, log *agenttest.Log, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ph := log.Phases()
		if len(ph) > 0 && ph[len(ph)-1] == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reported phases %q, want the last %s", ph, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The whole update with the real agent: assignment, download into the
// inactive partition, trial request and reboot, the bootloader's trial
// boot, the trial's health, and the commit; HQ hears of every step.
func TestAgentUpdatesTheImage(t *testing.T) {
	p := newFakePi(t)
	h := newHQ(t)
	log := &agenttest.Log{}
	img := p.signRelease("1.1.0", 700<<10, h.rel)

	g := p.startGateway(h, log, "1.0.0", nil)
	if g.trial {
		t.Fatal("the factory boot is a trial")
	}
	g.a.Assign(agent.Assignment{Rollout: "r-1", Manifest: img.Signed, URLs: []string{h.srv.Publish(img)}})
	g.waitExit(t, agent.ExitUpdate)
	if got := p.rebootArgs(); !slices.Equal(got, []string{"0 tryboot"}) {
		t.Fatalf("reboots %q, want [\"0 tryboot\"]", got)
	}
	if got, _ := os.ReadFile(p.parts[3]); !bytes.Equal(got, img.Data) {
		t.Fatalf("partition 3 holds %d bytes, not the %d-byte image", len(got), len(img.Data))
	}
	if got, _ := os.ReadFile(p.parts[2]); !p.passed[sum(got)] {
		t.Fatal("the running partition was written to")
	}
	st := g.waitPhase(t, state.Trial)
	if st.Slot != "3" || st.From != "1.0.0" {
		t.Errorf("state: slot %q from %q, want 3, 1.0.0", st.Slot, st.From)
	}
	p.wantAutoboot(2, 3)
	g.stop()

	p.bootNow()
	p.passed[img.Manifest.SHA256] = true // its health will hold
	g = p.startGateway(h, log, "1.1.0", nil)
	if !g.trial {
		t.Fatal("the trial boot is not the trial")
	}
	st = g.waitPhase(t, state.Committed)
	if st.Floor != "1.1.0" || st.Version != "1.1.0" {
		t.Errorf("committed: floor %q version %q, want 1.1.0", st.Floor, st.Version)
	}
	p.wantAutoboot(3, 3)
	waitReported(t, log, "committed")
	ph := strings.Join(log.Phases(), " ")
	if !strings.HasPrefix(ph, "waiting downloading") || !strings.HasSuffix(ph, "ready trial trial committed") {
		t.Errorf("reported phases %q: want waiting, downloading…, ready, trial (armed), trial (booted), committed", ph)
	}
	select {
	case c := <-g.exits:
		t.Errorf("exit %d during a healthy trial", c)
	default:
	}
	g.stop()

	// The next boot is the new image's, and nothing more happens.
	p.powerCut()
	g = p.startGateway(h, log, "1.1.0", nil)
	if g.trial || g.b.Rebooting() {
		t.Errorf("after the commit: trial %v, rebooting %v", g.trial, g.b.Rebooting())
	}
	if want := []string{"tryboot 3", "3"}; !slices.Equal(p.boots, want) {
		t.Errorf("boots %q, want %q", p.boots, want)
	}
}

// A trial whose health fails: the agent asks for the rollback, the
// daemon's Exit calls Rollback, and the gateway reboots into the
// committed image with the version refused.
func TestAgentRollsBackAFailingImage(t *testing.T) {
	p := newFakePi(t)
	h := newHQ(t)
	log := &agenttest.Log{}
	img := p.signRelease("1.1.0", 200<<10, h.rel)
	g := p.startGateway(h, log, "1.0.0", nil)
	g.a.Assign(agent.Assignment{Rollout: "r-1", Manifest: img.Signed, URLs: []string{h.srv.Publish(img)}})
	g.waitExit(t, agent.ExitUpdate)
	g.stop()

	p.bootNow()
	g = p.startGateway(h, log, "1.1.0", func(state.State) error { return errors.New("2 of 6 readers answering") })
	g.waitExit(t, agent.ExitRollback)
	st := g.waitPhase(t, state.RolledBack)
	if !st.Refuses("1.1.0") || !strings.Contains(st.Detail, "2 of 6 readers") || st.Floor != "" {
		t.Errorf("rolled back: refused %v detail %q floor %q", st.Refused, st.Detail, st.Floor)
	}
	if got := p.rebootArgs(); !slices.Equal(got, []string{"0"}) || !g.b.Rebooting() {
		t.Errorf("reboots %q, want [\"0\"]", got)
	}
	p.wantAutoboot(2, 2)
	g.stop()

	p.bootNow()
	g = p.startGateway(h, log, "1.0.0", nil)
	if g.trial {
		t.Error("a trial after the rollback")
	}
	// HQ assigning the release again is refused by the agent.
	g.a.Assign(agent.Assignment{Rollout: "r-2", Manifest: img.Signed, URLs: []string{h.srv.Publish(img)}})
	st = g.waitPhase(t, state.Failed)
	if !strings.Contains(st.Detail, "rolled back") {
		t.Errorf("re-assigned: detail %q", st.Detail)
	}
	if want := []string{"tryboot 3", "2"}; !slices.Equal(p.boots, want) {
		t.Errorf("boots %q, want %q", p.boots, want)
	}
}

package fleetbench_test

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/fleet"
	"github.com/pkfreelance/seatgate/hq/fleetbench"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
	"github.com/pkfreelance/seatgate/hq/ledger"
	"github.com/pkfreelance/seatgate/sync/wire"
)

func TestMain(m *testing.M) {
	// paho's router may still be handing a message to a subscription of a
	// link that has just disconnected (as in sync/link's tests).
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/eclipse/paho.mqtt.golang.(*router).matchAndDispatch.func1"))
}

// The defaults are the small run every `go test` makes; the package
// documentation gives the full one.
var (
	flagGateways  = flag.Int("fleet.gateways", 50, "simulated gateways")
	flagNodes     = flag.String("fleet.nodes", "1,3", "HQ broker sizes to run, comma-separated: 1 is Start, n > 1 StartCluster(n)")
	flagWindow    = flag.Duration("fleet.window", 3*time.Second, "measured window, while the desks tap")
	flagTap       = flag.Duration("fleet.tap", time.Second, "mean interval between taps at one gateway")
	flagHeartbeat = flag.Duration("fleet.heartbeat", time.Second, "interval between a gateway's Health messages (60 s in the field)")
	flagRamp      = flag.Duration("fleet.ramp", 0, "spread the gateways' first connections over this long (0: all at once)")
	flagWait      = flag.Duration("fleet.wait", 3*time.Minute, "bound on each wait: connecting, draining, folding")
	flagMaxRSS    = flag.Uint64("fleet.maxrss", 8<<10, "MiB of resident memory at which the run is stopped and fails, to spare the machine")
)

// TestFleet connects a fleet of simulated gateways (package fleetbench) to
// HQ as seathq runs it — the embedded broker (one node, then a cluster),
// an Ingester and a Ledger — makes their desks tap for a while, measures
// and checks that every event was stored once, verified and acknowledged.
func TestFleet(t *testing.T) {
	for _, s := range strings.Split(*flagNodes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n == 2 {
			t.Fatalf("-fleet.nodes %q: want 1 or a cluster size of 3 or more", s)
		}
		name := "single"
		if n > 1 {
			name = fmt.Sprintf("cluster-%d", n)
		}
		t.Run(name, func(t *testing.T) { runFleet(t, n, *flagGateways) })
	}
}

func runFleet(t *testing.T, nodes, gateways int) {
	// A gateway's TLS connection is two descriptors in this process, its
	// end and the broker's; attempts that time out while the broker still
	// works on them hold theirs a while longer, and a cluster's Raft
	// groups take some too. Ask for plenty, require the minimum.
	need := uint64(2*gateways + 2048)
	limit, err := fleetbench.RaiseFileLimit(4*need + 16384)
	if err != nil {
		t.Fatal(err)
	}
	if limit < need {
		t.Fatalf("open files: limit %d, need at least %d for %d gateways: raise the hard limit (ulimit -Hn)", limit, need, gateways)
	}
	t.Logf("open file limit %d", limit)
	r := fleetbench.Report{Nodes: nodes, Gateways: gateways}
	ctx, cancel := context.WithTimeout(context.Background(), 10**flagWait)
	defer cancel()
	peakRSS := guardMemory(t, *flagMaxRSS<<20, cancel)
	begin := time.Now()
	e := enrol(t, gateways)
	r.Enrol = time.Since(begin)
	h := startHQ(t, e, nodes)
	r.BrokerStart = h.started

	logs := fleetbench.NewLogCounter()
	gws := make([]*fleetbench.Gateway, gateways)
	for i, id := range e.ids {
		gws[i], err = fleetbench.NewGateway(id, e.keys[i], fleetbench.GatewayOptions{
			Broker:    "tls://" + h.bs[i%len(h.bs)].MQTTAddr(), // spread over the nodes
			TLS:       e.tls[i],
			HQKey:     e.hqPub,
			Heartbeat: *flagHeartbeat,
			Logger:    slog.New(logs),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	fleet := fleetbench.NewFleet(gws)

	// Connect.
	cpu0 := cpuTime(t)
	begin = time.Now()
	origin := begin
	fleet.Start(*flagRamp)
	t.Cleanup(fleet.Stop)
	if err := fleet.WaitConnected(bounded(ctx)); err != nil {
		t.Fatalf("connect: %v\n%+v\ngateways' log:\n%s", err, fleet.Stats(), fleetbench.FormatCounts(logs.Counts(), origin))
	}
	r.Connect = time.Since(begin)
	r.ConnectCPU = (cpuTime(t) - cpu0).Seconds() / r.Connect.Seconds()
	before := fleet.Stats()
	r.Attempts = before.Attempts
	t.Logf("%d gateways connected in %v (%d attempts)", gateways, r.Connect.Round(time.Millisecond), r.Attempts)
	phase := func(name string) { t.Logf("%6.1f s: %s", time.Since(origin).Seconds(), name) }
	connectLog := logs.Counts()

	// The measured window: desks tap, gateways send heartbeats.
	fleet.SetRecording(true)
	in0, health0 := h.in.Stats(), h.health.ok.Load()
	cpu0, begin = cpuTime(t), time.Now()
	r.Taps = fleet.Tap(ctx, *flagTap, *flagWindow)
	r.Window = time.Since(begin)
	r.CPU = (cpuTime(t) - cpu0).Seconds() / r.Window.Seconds()
	in1, during := h.in.Stats(), fleet.Stats()
	r.Stored, r.Batches = in1.Events-in0.Events, in1.Batches-in0.Batches
	r.HealthSent, r.HealthHQ = during.HealthSent-before.HealthSent, h.health.ok.Load()-health0
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.HeapMiB, r.Goroutines = ms.HeapInuse>>20, runtime.NumGoroutine()
	phase(fmt.Sprintf("window over: %d taps, HQ stored %d events; draining", r.Taps, r.Stored))
	begin = time.Now()
	if err := fleet.WaitDelivered(bounded(ctx)); err != nil {
		t.Errorf("drain: %v", err)
	}
	r.Drain = time.Since(begin)
	fleet.SetRecording(false)
	batchLag, tapLag := fleet.Latencies()
	r.IngestLag, r.TapToAck = fleetbench.Summarize(batchLag), fleetbench.Summarize(tapLag)
	r.Reconnects = fleet.Stats().Reconnects - before.Reconnects
	begin = time.Now()
	if err := waitFolded(bounded(ctx), h.ledger, gws); err != nil {
		t.Errorf("ledger: %v (%+v)", err, h.ledger.Stats())
	}
	r.LedgerBehind = time.Since(begin)

	// Enrol one more gateway, on every node, while the desks tap: how
	// long it takes and what it does to the lag.
	phase("enrolling one more gateway under load")
	fleet.SetRecording(true)
	tctx, stopTaps := context.WithCancel(ctx)
	done := make(chan int)
	go func() { done <- fleet.Tap(tctx, *flagTap, *flagWait) }()
	time.Sleep(time.Second)
	phase("SetGateways")
	begin = time.Now()
	enrolFrom := fleet.Stats()
	more := append(e.ids[:len(e.ids):len(e.ids)], broker.GatewayIdentity{Centre: "c-new", Gateway: "gw-1"})
	for _, b := range h.bs {
		if raceEnabled {
			t.Log("race detector on: not reloading the broker under load (see race_test.go)")
			break
		}
		if err := b.SetGateways(more); err != nil {
			t.Errorf("set gateways on %s: %v", b.Name(), err)
		}
	}
	r.SetGateways = time.Since(begin)
	phase("SetGateways done")
	time.Sleep(time.Second)
	stopTaps()
	r.EnrolTaps = <-done
	if err := fleet.WaitDelivered(bounded(ctx)); err != nil {
		t.Errorf("drain after enrolling: %v", err)
	}
	fleet.SetRecording(false)
	batchLag, _ = fleet.Latencies()
	r.EnrolLag = fleetbench.Summarize(batchLag)
	after := fleet.Stats()
	r.EnrolReconnects = after.Reconnects - enrolFrom.Reconnects
	r.PeakRSSMiB = peakRSS() >> 20

	t.Logf("\n%s", r)
	t.Logf("gateways: %+v", after)
	t.Logf("ingester: %+v", h.in.Stats())
	t.Logf("ledger:   %+v", h.ledger.Stats())
	t.Logf("tracker:  %+v", h.tracker.Stats())
	t.Logf("gateways' log while connecting (seconds since the first gateway started):\n%s", fleetbench.FormatCounts(connectLog, origin))
	t.Logf("gateways' log in all:\n%s", fleetbench.FormatCounts(logs.Counts(), origin))

	checkFleet(t, after, r)
	checkIngest(t, h.in.Stats(), after.Logged)
	if err := waitFolded(bounded(ctx), h.ledger, gws); err != nil {
		t.Errorf("ledger, after enrolling: %v (%+v)", err, h.ledger.Stats())
	}
	checkStored(t, h.js, gws)
	if bad := h.health.bad.Load(); bad > 0 {
		t.Errorf("HQ could not decode %d Health messages", bad)
	}
	checkTracker(t, h.tracker, gws)
	// Health is QoS 0 but travels over loopback: none should be lost.
	ingesttest.WaitFor(t, "every Health message at HQ", 10*time.Second, func() bool {
		return h.health.ok.Load() >= fleet.Stats().HealthSent
	})
}

// bounded is ctx bounded by -fleet.wait.
func bounded(ctx context.Context) context.Context {
	ctx, cancel := context.WithTimeout(ctx, *flagWait)
	context.AfterFunc(ctx, cancel)
	return ctx
}

// guardMemory stops the run (cancels it and fails the test) if the
// process's resident memory exceeds limit, and returns the peak seen so
// far. It checks every 500 ms; where RSS cannot be read it does nothing.
func guardMemory(t *testing.T, limit uint64, stop context.CancelFunc) (peak func() uint64) {
	var highest atomic.Uint64
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			rss, err := fleetbench.RSS()
			if err != nil {
				return
			}
			if rss > highest.Load() {
				highest.Store(rss)
			}
			if rss > limit {
				t.Errorf("resident memory %d MiB is over -fleet.maxrss=%d: run stopped", rss>>20, limit>>20)
				stop()
				return
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { close(done); <-exited })
	return highest.Load
}

// enrolment is what enrolment gives every gateway: a certificate and a
// device key, which HQ's registry holds.
type enrolment struct {
	pki   *ingesttest.PKI
	ids   []broker.GatewayIdentity
	tls   []*tls.Config
	keys  []ed25519.PrivateKey
	reg   ingest.StaticRegistry
	hqPub ed25519.PublicKey
	hqKey ed25519.PrivateKey
}

func enrol(t *testing.T, gateways int) *enrolment {
	e := &enrolment{pki: ingesttest.NewPKI(t), ids: make([]broker.GatewayIdentity, gateways),
		tls: make([]*tls.Config, gateways), keys: make([]ed25519.PrivateKey, gateways), reg: ingest.StaticRegistry{}}
	e.hqPub, e.hqKey = ingesttest.Key(t)
	for i := range e.ids {
		e.ids[i] = broker.GatewayIdentity{Centre: fmt.Sprintf("c-%05d", i+1), Gateway: "gw-1"}
		var pub ed25519.PublicKey
		pub, e.keys[i] = ingesttest.Key(t)
		e.tls[i] = e.pki.GatewayTLS(t, e.ids[i])
		e.reg[ingest.GatewayID{Centre: e.ids[i].Centre, Gateway: e.ids[i].Gateway}] = pub
	}
	return e
}

// hq is HQ's part of seathq (hq/service) that gateways keep busy: the
// broker (or a cluster; fsync on every write on one node, as seathq
// defaults), an Ingester, a Ledger and the fleet Tracker (births,
// statuses, Health) on their own connections, and a counter of Health
// messages for the checks.
type hq struct {
	bs      []*broker.Broker
	started time.Duration // to start the broker or cluster
	in      *ingest.Ingester
	ledger  *ledger.Ledger
	tracker *fleet.Tracker
	health  *healthCount
	js      jetstream.JetStream // for checks
}

func startHQ(t *testing.T, e *enrolment, nodes int) *hq {
	h := &hq{}
	begin := time.Now()
	o := e.pki.BrokerOptions(t, e.ids...)
	o.SyncAlways = nodes == 1 // seathq's default: embedded.sync_always
	if nodes == 1 {
		h.bs = []*broker.Broker{ingesttest.StartBroker(t, o)}
	} else {
		h.bs = ingesttest.StartCluster(t, nodes, o)
	}
	h.started = time.Since(begin)
	url := ingesttest.URLs(h.bs...)
	replicas := min(nodes, 3)

	nc, js := ingesttest.Connect(t, url)
	var err error
	h.in, err = ingest.New(js, nc, e.reg, e.hqKey, ingest.Options{Replicas: replicas, Logger: hqLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "ingester", h.in.Run)
	select {
	case <-h.in.Ready():
	case <-time.After(*flagWait):
		t.Fatalf("ingester not ready after %v", *flagWait)
	}
	_, ljs := ingesttest.Connect(t, url)
	h.ledger, err = ledger.New(ljs, ledger.Options{Replicas: replicas, Logger: hqLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "ledger", h.ledger.Run)
	fnc, fjs := ingesttest.Connect(t, url)
	h.tracker, err = fleet.New(context.Background(), fjs, fnc, e.reg, fleet.Options{Replicas: replicas, Logger: hqLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "fleet tracker", h.tracker.Run)
	var obs *nats.Conn
	obs, h.js = ingesttest.Connect(t, url)
	h.health = countHealth(t, obs)
	return h
}

// checkFleet: every gateway connected throughout, every event
// acknowledged, every acknowledgement verified.
func checkFleet(t *testing.T, s fleetbench.FleetStats, r fleetbench.Report) {
	t.Helper()
	if s.Connected != s.Gateways {
		t.Errorf("%d of %d gateways connected at the end (last error %q)", s.Connected, s.Gateways, s.LastError)
	}
	if r.Reconnects != 0 || r.EnrolReconnects != 0 {
		t.Errorf("%d reconnects in the window, %d while enrolling; want none (last error %q)", r.Reconnects, r.EnrolReconnects, s.LastError)
	}
	if taps := uint64(r.Taps + r.EnrolTaps); s.Delivered != s.Logged || s.Logged != taps {
		t.Errorf("events: %d tapped, %d logged, %d acknowledged", taps, s.Logged, s.Delivered)
	}
	if s.AcksRejected != 0 || s.DownlinkRefused != 0 || s.InboxDropped != 0 {
		t.Errorf("downlink: %d acks rejected, %d messages refused, %d dropped", s.AcksRejected, s.DownlinkRefused, s.InboxDropped)
	}
	if s.HealthFailed != 0 {
		t.Errorf("%d Health messages could not be published", s.HealthFailed)
	}
	if r.IngestLag.N == 0 {
		t.Errorf("no ingest lag samples")
	}
}

// checkIngest: HQ verified and stored every event once; nothing was
// rejected, refused, lost to an error or taken for an anomaly.
func checkIngest(t *testing.T, s ingest.Stats, logged uint64) {
	t.Helper()
	if s.Events != logged {
		t.Errorf("ingester stored %d events, gateways logged %d", s.Events, logged)
	}
	var rejected uint64
	for _, n := range s.Rejected {
		rejected += n
	}
	if rejected != 0 || s.Gaps != 0 || s.Forks != 0 || s.Resets != 0 || s.Errors != 0 || s.AckErrors != 0 {
		t.Errorf("ingester: %+v: want no rejections, gaps, forks, resets or errors", s)
	}
}

// checkStored: stream EVENTS holds every event once, and each gateway's
// chain head at HQ is the last event of its log, without anomalies.
func checkStored(t *testing.T, js jetstream.JetStream, gws []*fleetbench.Gateway) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), *flagWait)
	defer cancel()
	stream, err := js.Stream(ctx, ingest.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	heads, err := js.KeyValue(ctx, ingest.ChainsBucket)
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, g := range gws {
		st, err := g.Log().Outbox()
		if err != nil {
			t.Fatal(err)
		}
		total += st.LastSeq
		h, _, err := ingest.LoadHead(ctx, heads, g.ID().Centre, g.ID().Gateway)
		if err != nil {
			t.Fatalf("head of %s: %v", g.ID(), err)
		}
		if h.Seq != st.LastSeq || (h.Seq > 0 && h.Hash != st.ChainHead) || len(h.AnomalyCounts) != 0 || !h.SuspectSince.IsZero() {
			t.Errorf("head of %s: seq %d hash %.12s anomalies %v; want seq %d hash %.12s and none", g.ID(), h.Seq, h.Hash,
				h.AnomalyCounts, st.LastSeq, st.ChainHead)
		}
	}
	if info.State.Msgs != total {
		t.Errorf("EVENTS holds %d messages, the gateways logged %d events", info.State.Msgs, total)
	}
}

// checkTracker: HQ's fleet tracker rejected nothing, wrote every message
// it took, and sees every gateway online with a Health report. It may
// drop messages when its queues are full (the next report replaces them):
// those are only logged.
func checkTracker(t *testing.T, tr *fleet.Tracker, gws []*fleetbench.Gateway) {
	t.Helper()
	s := tr.Stats()
	if s.Dropped > 0 {
		t.Logf("fleet tracker dropped %d messages (queues full)", s.Dropped)
	}
	var rejected uint64
	for _, n := range s.Rejected {
		rejected += n
	}
	if rejected != 0 || s.Errors != 0 {
		t.Errorf("fleet tracker: %+v: want no rejections or errors", s)
	}
	offline := 0
	for _, g := range gws {
		if st := tr.Gateway(g.ID().Centre, g.ID().Gateway); st.State != fleet.StateOnline || st.Health == nil {
			if offline++; offline <= 3 {
				t.Errorf("fleet tracker: %s is %s, health %v; want online with a report", g.ID(), st.State, st.Health != nil)
			}
		}
	}
	if offline > 3 {
		t.Errorf("fleet tracker: %d gateways not online with a report", offline)
	}
}

// waitFolded waits until the ledger has folded every gateway's log.
func waitFolded(ctx context.Context, l *ledger.Ledger, gws []*fleetbench.Gateway) error {
	for _, g := range gws {
		want := g.Log().Delivered()
		for {
			got, err := l.Folded(ctx, g.ID().Centre, g.ID().Gateway)
			if err == nil && got >= want {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s folded up to %d of %d (%v): %w", g.ID(), got, want, err, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// healthCount counts the Health messages HQ receives.
type healthCount struct{ ok, bad atomic.Uint64 }

func countHealth(t *testing.T, nc *nats.Conn) *healthCount {
	t.Helper()
	c := &healthCount{}
	sub, err := nc.Subscribe("seats.v1.*.*."+wire.KindHealth, func(m *nats.Msg) {
		if _, err := wire.DecodeHealth(m.Data); err != nil {
			c.bad.Add(1)
			return
		}
		c.ok.Add(1)
	})
	if err != nil {
		t.Fatal(err)
	}
	sub.SetPendingLimits(-1, -1)
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
	return c
}

func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	d, err := fleetbench.CPUTime()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// hqLogger is the test log for the Ingester and the Ledger when
// SEATHQ_TEST_LOG is set, as in hq/ingest's tests.
func hqLogger(t *testing.T) *slog.Logger {
	if os.Getenv("SEATHQ_TEST_LOG") == "" {
		return nil
	}
	return ingesttest.TestLogger(t)
}

// run runs f(ctx) until the end of the test and checks that it returned
// only because ctx was done.
func run(t *testing.T, name string, f func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("%s: Run returned %v, want context.Canceled", name, err)
		}
	})
}

package fleet_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/fleet"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
	"github.com/pkfreelance/seatgate/sync/wire"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type env struct {
	t     *testing.T
	nc    *nats.Conn
	tr    *fleet.Tracker
	key   ed25519.PrivateKey
	clock *clock
}

func start(t *testing.T) *env {
	ctx, cancel := context.WithCancel(context.Background())
	p := ingesttest.NewPKI(t)
	b := ingesttest.StartBroker(t, p.BrokerOptions(t))
	nc, js := ingesttest.Connect(t, b.ClientURL())
	pub, key := ingesttest.Key(t)
	reg := ingest.StaticRegistry{{Centre: "lhr-01", Gateway: "gw-1"}: pub}
	c := &clock{t: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	tr, err := fleet.New(ctx, js, nc, reg, fleet.Options{Logger: ingesttest.TestLogger(t), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { tr.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	nc.Flush()
	time.Sleep(50 * time.Millisecond) // subscriptions made
	return &env{t: t, nc: nc, tr: tr, key: key, clock: c}
}

func (e *env) send(kind string, msg any) {
	e.t.Helper()
	data, ok := msg.([]byte)
	if !ok {
		var err error
		data, err = json.Marshal(msg)
		if err != nil {
			e.t.Fatal(err)
		}
	}
	if err := e.nc.Publish("seats.v1.lhr-01.gw-1."+kind, data); err != nil {
		e.t.Fatal(err)
	}
}

// settle waits until the tracker has handled n messages in all.
func (e *env) settle(n uint64) fleet.Stats {
	e.t.Helper()
	var s fleet.Stats
	ingesttest.WaitFor(e.t, "messages handled", 10*time.Second, func() bool {
		s = e.tr.Stats()
		var rejected uint64
		for _, r := range s.Rejected {
			rejected += r
		}
		return s.Applied+rejected+s.Errors >= n
	})
	time.Sleep(50 * time.Millisecond) // the watch brings the bucket's change back
	return s
}

func (e *env) birth(boot uint64, key ed25519.PrivateKey) wire.Birth {
	b := wire.Birth{V: 1, Centre: "lhr-01", Gateway: "gw-1", Boot: boot, Firmware: "1.4.0",
		StartedAt: e.clock.Now(), KeyID: wire.KeyID(key.Public().(ed25519.PublicKey))}
	if err := wire.Sign(key, &b); err != nil {
		e.t.Fatal(err)
	}
	return b
}

func TestPresenceFollowsTheBootCounter(t *testing.T) {
	e := start(t)
	if g := e.tr.Gateway("lhr-01", "gw-1"); g.State != fleet.StateUnknown {
		t.Fatalf("before any message: %s", g.State)
	}
	e.send("birth", e.birth(7, e.key))
	e.settle(1)
	g := e.tr.Gateway("lhr-01", "gw-1")
	if g.State != fleet.StateOnline || g.Presence.Boot != 7 || g.Presence.Firmware != "1.4.0" {
		t.Fatalf("after birth: %+v %+v", g, g.Presence)
	}
	// The last will of boot 6 arrives late: ignored.
	e.send("status", wire.Status{V: 1, State: wire.StateOffline, Boot: 6})
	s := e.settle(2)
	if s.Rejected[fleet.ReasonStale] != 1 || e.tr.Gateway("lhr-01", "gw-1").State != fleet.StateOnline {
		t.Fatalf("a late death from an earlier boot was not ignored: %+v", s)
	}
	// The death of boot 7 counts.
	e.send("status", wire.Status{V: 1, State: wire.StateOffline, Boot: 7})
	e.settle(3)
	if g := e.tr.Gateway("lhr-01", "gw-1"); g.State != fleet.StateOffline {
		t.Fatalf("after its own last will: %s", g.State)
	}
	// Boot 8 comes online without a birth seen yet.
	e.send("status", wire.Status{V: 1, State: wire.StateOnline, Boot: 8})
	e.settle(4)
	g = e.tr.Gateway("lhr-01", "gw-1")
	if g.State != fleet.StateOnline || g.Presence.Boot != 8 || g.Presence.Firmware != "" {
		t.Fatalf("boot 8 online: %+v", g.Presence)
	}
	// Heard from nothing for longer than Silent: silent, not online.
	e.clock.Add(4 * time.Minute)
	if g := e.tr.Gateway("lhr-01", "gw-1"); g.State != fleet.StateSilent {
		t.Fatalf("after 4 min of silence: %s", g.State)
	}
}

func TestHealthAndOccupancy(t *testing.T) {
	e := start(t)
	now := e.clock.Now()
	e.send("health", wire.Health{V: 1, Time: now, Boot: 3, UptimeSec: 60, Firmware: "1.4.0", OutboxDepth: 12, OutboxOldest: 30,
		DiskFree: 1 << 30, ReadersOK: 23, ReadersTotal: 24, ClockTrusted: true, MembershipRev: 9})
	o := wire.Occupancy{V: 1, Time: now, Seats: []wire.SeatOccupancy{
		{Seat: "a-01", Zone: "a", State: store.SeatOccupied, Member: "m-1", Since: now.Add(-time.Hour)},
		{Seat: "a-02", Zone: "a", State: store.SeatFree},
	}}
	if err := wire.Sign(e.key, &o); err != nil {
		t.Fatal(err)
	}
	e.send("occupancy", o)
	e.settle(2)
	g := e.tr.Gateway("lhr-01", "gw-1")
	if g.Health == nil || g.Health.OutboxDepth != 12 || g.Health.ReadersOK != 23 || g.Occupancy == nil || len(g.Occupancy.Seats) != 2 {
		t.Fatalf("gateway: %+v", g)
	}
	occ := e.tr.Occupancy(true)
	if len(occ) != 1 || occ[0].Seats != 2 || occ[0].Occupied != 1 || len(occ[0].SeatList) != 2 {
		t.Fatalf("occupancy: %+v", occ)
	}
	// An older retained report does not replace a newer one.
	old := o
	old.Time = now.Add(-time.Minute)
	old.Seats = old.Seats[1:]
	old.Sig = ""
	e.send("occupancy", old)
	s := e.settle(3)
	if s.Rejected[fleet.ReasonStale] != 1 || e.tr.Occupancy(false)[0].Occupied != 1 {
		t.Fatalf("a stale occupancy changed the state: %+v", s)
	}
}

// Bad input on every topic the tracker follows: rejected, counted by reason,
// never a state change and never a crash.
func TestBadInputChangesNothing(t *testing.T) {
	e := start(t)
	_, otherKey := ingesttest.Key(t)
	forged := e.birth(9, otherKey)
	tampered := e.birth(9, e.key)
	tampered.Firmware = "6.6.6"
	unsigned := e.birth(9, e.key)
	unsigned.Sig = ""
	mismatch := e.birth(9, e.key)
	mismatch.Gateway = "gw-2"
	wire.Sign(e.key, &mismatch)
	badOcc := wire.Occupancy{V: 1, Time: e.clock.Now(), Seats: []wire.SeatOccupancy{{Seat: "a", Zone: "z", State: store.SeatFree}}}
	wire.Sign(otherKey, &badOcc)

	cases := []struct {
		kind   string
		msg    any
		reason fleet.Reason
	}{
		{"birth", []byte("garbage"), fleet.ReasonDecode},
		{"birth", []byte(`{"v":1,"centre":"lhr-01"`), fleet.ReasonDecode},
		{"birth", forged, fleet.ReasonBadSignature},
		{"birth", tampered, fleet.ReasonBadSignature},
		{"birth", unsigned, fleet.ReasonBadSignature},
		{"birth", mismatch, fleet.ReasonMismatch},
		{"status", []byte(`{"v":2,"state":"online","boot":1}`), fleet.ReasonDecode},
		{"status", []byte(`{"v":1,"state":"maybe","boot":1}`), fleet.ReasonDecode},
		{"health", []byte(`{"v":1}`), fleet.ReasonDecode},
		{"health", []byte(strings.Repeat(" ", wire.MaxPayload+1)), fleet.ReasonDecode},
		{"occupancy", badOcc, fleet.ReasonBadSignature},
		{"occupancy", []byte(`[]`), fleet.ReasonDecode},
	}
	for _, c := range cases {
		e.send(c.kind, c.msg)
	}
	// A gateway that is not enrolled, and a subject that is not a gateway's.
	e.nc.Publish("seats.v1.lhr-01.gw-9.birth", []byte("{}"))
	e.nc.Publish("seats.v1.LHR.gw-1.status", []byte("{}"))
	s := e.settle(uint64(len(cases) + 2))
	want := map[fleet.Reason]uint64{fleet.ReasonUnknownGateway: 1, fleet.ReasonTopic: 1}
	for _, c := range cases {
		want[c.reason]++
	}
	for r, n := range want {
		if s.Rejected[r] != n {
			t.Errorf("rejected for %s: %d, want %d (all: %+v)", r, s.Rejected[r], n, s.Rejected)
		}
	}
	if s.Applied != 0 {
		t.Errorf("%d bad messages applied", s.Applied)
	}
	if g := e.tr.Gateways(""); len(g) != 0 {
		t.Errorf("state changed by bad input: %+v", g)
	}
}

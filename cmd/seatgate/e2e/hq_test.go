package e2e_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/brokertest"
	"github.com/pkfreelance/seatgate/sync/identity"
	"github.com/pkfreelance/seatgate/sync/wire"
)

var topics = wire.Topics{Centre: "e2e-centre", Gateway: "gw-1"}

// fakeHQ plays seathq over a real broker: it verifies and stores event
// batches (in order, chain checked), acknowledges them signed, and can
// send journal entries.
type fakeHQ struct {
	t       *testing.T
	key     ed25519.PrivateKey
	devKey  func() ed25519.PublicKey
	c       mqtt.Client
	mu      sync.Mutex
	events  []store.Event
	chain   string
	births  []wire.Birth
	status  []wire.Status
	rev     int64
	journal [][]byte // signed entries, index rev-1
	refused int
}

func startFakeHQ(t *testing.T, addr string, key ed25519.PrivateKey, devKey func() ed25519.PublicKey) *fakeHQ {
	h := &fakeHQ{t: t, key: key, devKey: devKey, chain: store.GenesisHash}
	subscribed := make(chan struct{}, 1)
	o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("seathq-test").SetAutoReconnect(true).
		SetConnectRetry(true).SetConnectRetryInterval(50 * time.Millisecond).SetMaxReconnectInterval(200 * time.Millisecond).
		SetOnConnectHandler(func(c mqtt.Client) {
			defer func() {
				select {
				case subscribed <- struct{}{}:
				default:
				}
			}()
			c.Subscribe(topics.Events(), 1, h.onEvents).Wait()
			c.Subscribe(topics.Birth(), 1, func(_ mqtt.Client, m mqtt.Message) {
				b, err := wire.DecodeBirth(m.Payload())
				if err == nil {
					h.mu.Lock()
					h.births = append(h.births, b)
					h.mu.Unlock()
				}
			})
			c.Subscribe(topics.Status(), 1, func(_ mqtt.Client, m mqtt.Message) {
				s, err := wire.DecodeStatus(m.Payload())
				if err == nil {
					h.mu.Lock()
					h.status = append(h.status, s)
					h.mu.Unlock()
				}
			})
			c.Subscribe(topics.JournalWant(), 1, func(c mqtt.Client, m mqtt.Message) {
				w, err := wire.DecodeJournalWant(m.Payload())
				if err != nil {
					h.t.Errorf("HQ: %v", err)
					return
				}
				h.mu.Lock()
				var resend [][]byte
				if w.From >= 1 && int(w.From) <= len(h.journal) {
					resend = append(resend, h.journal[w.From-1:]...)
				}
				h.mu.Unlock()
				go func() {
					for _, p := range resend {
						c.Publish(topics.JournalCatchUp(), 1, false, p).WaitTimeout(5 * time.Second)
					}
				}()
			}).Wait()
		})
	h.c = mqtt.NewClient(o)
	if tok := h.c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("fake HQ connect: %v", tok.Error())
	}
	t.Cleanup(func() { h.c.Disconnect(100) })
	select {
	case <-subscribed:
	case <-time.After(5 * time.Second):
		t.Fatal("fake HQ did not subscribe")
	}
	return h
}

func (h *fakeHQ) onEvents(c mqtt.Client, m mqtt.Message) {
	if p := h.batch(m.Payload()); p != nil {
		go c.Publish(topics.Ack(), 1, false, p) // never block paho's handler
	}
}

// batch stores a batch that continues HQ's copy of the chain and returns
// the signed ack to send (nil for a batch it could not read).
func (h *fakeHQ) batch(payload []byte) []byte {
	b, err := wire.DecodeEventBatch(payload)
	if err != nil {
		h.t.Errorf("HQ: %v", err)
		return nil
	}
	if err := wire.Verify(h.devKey(), &b); err != nil {
		h.t.Errorf("HQ: batch signature: %v", err)
		return nil
	}
	h.mu.Lock()
	// Store what continues HQ's copy: a batch may overlap what HQ holds
	// (an ack lost to a crash); events HQ has are skipped, the rest must
	// continue the chain.
	if have := uint64(len(h.events)); b.First <= have+1 && have < b.Last {
		fresh := b.Events[have+1-b.First:]
		if err := store.VerifyChain(h.chain, fresh); err != nil {
			h.t.Errorf("HQ: %v", err)
		} else {
			h.events = append(h.events, fresh...)
			h.chain = fresh[len(fresh)-1].Hash
		}
	}
	upto := uint64(len(h.events))
	h.mu.Unlock()
	a := wire.Ack{V: wire.Version, Centre: topics.Centre, Gateway: topics.Gateway, Boot: b.Boot, Upto: upto}
	wire.Sign(h.key, &a)
	p, _ := wire.Encode(&a)
	return p
}

// change publishes the next journal entry for the centre.
func (h *fakeHQ) change(op wire.Op, fill func(*wire.JournalEntry)) {
	h.mu.Lock()
	h.rev++
	e := wire.JournalEntry{V: wire.Version, Centre: topics.Centre, Rev: h.rev, Time: time.Now(), Op: op}
	h.mu.Unlock()
	fill(&e)
	if err := wire.Sign(h.key, &e); err != nil {
		h.t.Fatal(err)
	}
	p, _ := wire.Encode(&e)
	h.mu.Lock()
	h.journal = append(h.journal, p)
	h.mu.Unlock()
	h.c.Publish(topics.Journal(), 1, false, p).WaitTimeout(5 * time.Second)
}

func (h *fakeHQ) stored() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}

// TestGatewayWithHQOverMQTT: the real seatgate binary against a real
// Mosquitto and a stand-in HQ: taps reach HQ signed and chained, HQ's
// acknowledgements empty the outbox, a membership change made at HQ is
// enforced at the desk within a second, birth and status are announced,
// and after a SIGKILL nothing answered is lost.
func TestGatewayWithHQOverMQTT(t *testing.T) {
	broker := brokertest.StartMosquitto(t, "allow_anonymous true\npersistence false\n")
	hqPub, hqKey, _ := ed25519.GenerateKey(nil)
	g := newGW(t)
	cfg, _ := os.ReadFile(g.cfgPath)
	cfg = append(cfg, []byte(fmt.Sprintf("hq:\n  broker: tcp://%s\n  hq_key: %s\n", broker.Addr,
		base64.StdEncoding.EncodeToString(hqPub)))...)
	os.WriteFile(g.cfgPath, cfg, 0o600)
	dataDir := filepath.Join(g.dir, "data")
	devKey := func() ed25519.PublicKey {
		k, err := identity.LoadOrCreate(dataDir)
		if err != nil {
			t.Fatal(err)
		}
		return k.Public()
	}
	g.start()
	hq := startFakeHQ(t, broker.Addr, hqKey, devKey)

	// HQ enrols a plan, a member and a card: the desk honours them.
	hq.change(wire.OpPlanPut, func(e *wire.JournalEntry) { e.Plan = &access.Plan{ID: "flex", Name: "Flexible"} })
	today := access.DateOf(time.Now().In(karachi))
	hq.change(wire.OpMemberPut, func(e *wire.JournalEntry) {
		e.Member = &access.Member{ID: "m-hq", Name: "Enrolled At HQ", Status: access.StatusActive, PlanID: "flex",
			ValidFrom: today.AddDays(-1), ValidUntil: today.AddDays(30), Seats: access.SeatRule{Kind: access.SeatAny}}
	})
	sent := time.Now()
	hq.change(wire.OpCardPut, func(e *wire.JournalEntry) { e.Card = &access.Card{UID: "CAFE0001", MemberID: "m-hq"} })
	var res tapResult
	for time.Since(sent) < 5*time.Second {
		res = g.tap("desk-1", "CAFE0001")
		if res.Outcome == "checkin" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res.Outcome != "checkin" || res.Member != "m-hq" {
		t.Fatalf("tap with a card enrolled at HQ: %+v", res)
	}
	t.Logf("membership change enforced at the desk %v after HQ sent it", time.Since(sent).Round(time.Millisecond))

	for i := range 20 {
		g.tap(fmt.Sprintf("desk-%d", 2+i%5), fmt.Sprintf("FFEE%04X", i))
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if cond() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s", what)
	}
	lastSeq := func() int {
		var hz struct {
			LastSeq int `json:"last_seq"`
		}
		g.call("GET", "/healthz", nil, &hz)
		return hz.LastSeq
	}
	n := lastSeq()
	if n < 21 {
		t.Fatalf("last_seq = %d, want at least 21", n)
	}
	waitFor("HQ to store every event", func() bool { return hq.stored() == n })
	var h struct {
		Outbox struct {
			Delivered uint64 `json:"delivered"`
			Depth     uint64 `json:"depth"`
		} `json:"outbox"`
		HQ struct {
			Link struct {
				Connected bool `json:"connected"`
			} `json:"link"`
		} `json:"hq"`
	}
	waitFor("the outbox to empty", func() bool {
		g.call("GET", "/healthz", nil, &h)
		return int(h.Outbox.Delivered) == n && h.Outbox.Depth == 0
	})
	if !h.HQ.Link.Connected {
		t.Errorf("healthz says the HQ link is down")
	}
	hq.mu.Lock()
	if len(hq.births) == 0 || hq.births[0].Boot != 1 || hq.births[0].KeyID != identity.KeyID(devKey()) {
		t.Errorf("births = %+v, want boot 1 with the device key", hq.births)
	}
	hq.mu.Unlock()

	// A storm of taps, SIGKILL, restart: every answered tap reaches HQ.
	for i := range 15 {
		g.tap(fmt.Sprintf("desk-%d", 2+i%5), fmt.Sprintf("FFEF%04X", i))
	}
	g.kill()
	waitFor("the broker to publish the last will", func() bool {
		hq.mu.Lock()
		defer hq.mu.Unlock()
		n := len(hq.status)
		return n > 0 && hq.status[n-1].State == wire.StateOffline && hq.status[n-1].Boot == 1
	})
	g.start()
	waitFor("HQ to store every event after the restart", func() bool { return hq.stored() == n+15 })
	hq.mu.Lock()
	defer hq.mu.Unlock()
	if err := store.VerifyChain(store.GenesisHash, hq.events); err != nil {
		t.Errorf("HQ's copy of the log: %v", err)
	}
	last := hq.births[len(hq.births)-1]
	if last.Boot != 2 {
		t.Errorf("birth after restart has boot %d, want 2", last.Boot)
	}
	if !strings.Contains(g.logs.String(), "mqtt connected") {
		t.Errorf("gateway log does not show the MQTT connection")
	}
	g.stop()
}

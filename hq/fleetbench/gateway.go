package fleetbench

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
	"github.com/pkfreelance/seatgate/sync/identity"
	"github.com/pkfreelance/seatgate/sync/link"
	"github.com/pkfreelance/seatgate/sync/outbox"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// GatewayOptions configure a simulated gateway.
type GatewayOptions struct {
	// Broker is the MQTT URL, "tls://127.0.0.1:8883".
	Broker string
	// TLS carries the gateway's client certificate and the HQ CA.
	TLS *tls.Config
	// HQKey is the pinned key every acknowledgement must be signed with.
	HQKey ed25519.PublicKey
	// Heartbeat is the interval between Health messages (the real gateway's
	// is 60 s). The first comes at a random point of the first interval, so
	// that a fleet's heartbeats are spread out. Zero: none.
	Heartbeat time.Duration
	// Seats is the number of seats taps land on (default 100).
	Seats int
	// BackoffMax bounds the link's reconnect delay (default: the link's,
	// 2 min).
	BackoffMax time.Duration
	// Logger receives the link's and the drainer's log (default none).
	Logger *slog.Logger
}

// Firmware is the version simulated gateways announce.
const Firmware = "fleetbench"

// Gateway is one simulated gateway, made of the gateway's real parts:
// its MQTT link (sync/link: paho, TLS with its own client certificate,
// reconnect with backoff), its outbox drainer (sync/outbox: signed batches,
// bounded window, rate limit, resend on reconnect or missing ack) and an
// in-memory hash-chained event log (ingesttest.Log) in place of bbolt. Like
// the real gateway (cmd/seatgate, hqlink.go) it sets its "offline" status as
// last will, subscribes to its ack, journal and catch-up topics, publishes
// its signed birth and "online" status on every connection and a Health
// message every Heartbeat. It does not publish occupancy or ask for the
// journal.
//
// It measures, for each batch, the time from its publication to the
// signed acknowledgement that covers it (ingest lag), and for each event
// the time from the tap to that acknowledgement.
type Gateway struct {
	id      broker.GatewayIdentity
	topics  wire.Topics
	key     identity.Key
	o       GatewayOptions
	boot    uint64
	started time.Time

	log   *ingesttest.Log
	link  *link.Link
	drain *outbox.Drainer

	batchLag *pendingTimes // by batch's last seq: publication → ack
	tapLag   *pendingTimes // by event seq: tap → ack

	mu    sync.Mutex
	seats []time.Time // check-in time of each seat; zero when free

	healthSent, healthFailed, downlinkRefused atomic.Uint64
}

// NewGateway builds a gateway for id with device key key; nothing connects
// until Run.
func NewGateway(id broker.GatewayIdentity, key ed25519.PrivateKey, o GatewayOptions) (*Gateway, error) {
	topics, err := wire.NewTopics(id.Centre, id.Gateway)
	if err != nil {
		return nil, fmt.Errorf("gateway %s: %w", id, err)
	}
	if len(key) != ed25519.PrivateKeySize || len(o.HQKey) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("gateway %s: need a device key and the HQ key", id)
	}
	if o.Seats <= 0 {
		o.Seats = 100
	}
	g := &Gateway{id: id, topics: topics, key: identity.Key{Private: key}, o: o, boot: 1, started: time.Now(),
		log: &ingesttest.Log{}, batchLag: newPendingTimes(), tapLag: newPendingTimes(), seats: make([]time.Time, o.Seats)}
	offline, err := wire.Encode(&wire.Status{V: wire.Version, State: wire.StateOffline, Boot: g.boot})
	if err != nil {
		return nil, err
	}
	g.link, err = link.New(link.Options{
		Broker:     o.Broker,
		ClientID:   id.ClientID(),
		TLS:        o.TLS,
		Will:       &link.Will{Topic: topics.Status(), Payload: offline, QoS: 1, Retained: true},
		Subscribe:  []string{topics.Ack(), topics.Journal(), topics.JournalCatchUp()},
		OnConnect:  g.onConnect,
		BackoffMax: o.BackoffMax,
		Logger:     o.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("gateway %s: %w", id, err)
	}
	g.drain = outbox.New(g.log, timedPublisher{g}, outbox.Options{Topics: topics, Boot: g.boot, Key: key, HQKey: o.HQKey,
		Logger: o.Logger})
	return g, nil
}

// ID names the gateway.
func (g *Gateway) ID() broker.GatewayIdentity { return g.id }

// Public is the gateway's device public key, which HQ's registry holds.
func (g *Gateway) Public() ed25519.PublicKey { return g.key.Public() }

// Log is the gateway's event log.
func (g *Gateway) Log() *ingesttest.Log { return g.log }

// Run connects and runs the gateway until ctx is done, then disconnects.
// It returns ctx.Err().
func (g *Gateway) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { _ = g.link.Run(ctx) })
	wg.Go(func() { _ = g.drain.Run(ctx) })
	wg.Go(func() { g.dispatch(ctx) })
	if g.o.Heartbeat > 0 {
		wg.Go(func() { g.heartbeat(ctx) })
	}
	wg.Wait()
	return ctx.Err()
}

// Tap logs one event at now, as a desk would: a check-in at a free seat
// or a check-out at a taken one, picked at random; the drainer sends it.
func (g *Gateway) Tap(now time.Time) {
	g.mu.Lock()
	n := rand.IntN(len(g.seats))
	seat := "s-" + strconv.Itoa(n+1)
	e := store.Event{Time: now, Seat: seat, Member: "m-" + strconv.Itoa(n+1), Card: fmt.Sprintf("04%012X", n+1),
		Reader: "r-" + seat, ClockTrusted: true}
	if since := g.seats[n]; since.IsZero() {
		e.Kind = access.OutcomeCheckin
		g.seats[n] = now
	} else {
		e.Kind, e.Since = access.OutcomeCheckout, since
		g.seats[n] = time.Time{}
	}
	e = g.log.Append(e)
	g.mu.Unlock()
	g.tapLag.sent(e.Seq, now)
	g.drain.Notify()
}

// onConnect runs after every connection, as the real gateway's does.
func (g *Gateway) onConnect(ctx context.Context) {
	birth := wire.Birth{V: wire.Version, Centre: g.topics.Centre, Gateway: g.topics.Gateway, Boot: g.boot,
		Firmware: Firmware, StartedAt: g.started, KeyID: g.key.ID()}
	if err := wire.Sign(g.key.Private, &birth); err == nil {
		g.publish(ctx, g.topics.Birth(), 1, true, &birth)
	}
	g.publish(ctx, g.topics.Status(), 1, true, &wire.Status{V: wire.Version, State: wire.StateOnline, Boot: g.boot})
	g.drain.Connected()
}

func (g *Gateway) publish(ctx context.Context, topic string, qos byte, retained bool, msg interface{ Validate() error }) error {
	b, err := wire.Encode(msg)
	if err == nil {
		err = g.link.Publish(ctx, topic, qos, retained, b)
	}
	if err != nil && g.o.Logger != nil {
		g.o.Logger.Warn("publish", "gateway", g.id.String(), "topic", topic, "err", err)
	}
	return err
}

// dispatch hands acknowledgements to the drainer and takes the samples
// they complete.
func (g *Gateway) dispatch(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-g.link.Inbox():
			if m.Topic != g.topics.Ack() {
				g.downlinkRefused.Add(1) // nothing else is sent in this benchmark
				continue
			}
			if err := g.drain.HandleAck(m.Payload); err != nil {
				g.downlinkRefused.Add(1)
				continue
			}
			now, upto := time.Now(), g.log.Delivered()
			g.batchLag.acked(upto, now)
			g.tapLag.acked(upto, now)
		}
	}
}

// heartbeat publishes Health every Heartbeat while connected.
func (g *Gateway) heartbeat(ctx context.Context) {
	t := time.NewTimer(rand.N(g.o.Heartbeat))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			t.Reset(g.o.Heartbeat)
			if !g.link.State().Connected {
				continue
			}
			st, _ := g.log.Outbox()
			h := wire.Health{V: wire.Version, Time: now, Boot: g.boot, UptimeSec: int64(now.Sub(g.started).Seconds()),
				Firmware: Firmware, OutboxDepth: st.Depth, DiskFree: 8 << 30, ReadersOK: 10, ReadersTotal: 10, ClockTrusted: true}
			if !st.OldestUndelivered.IsZero() {
				h.OutboxOldest = max(0, int64(now.Sub(st.OldestUndelivered).Seconds()))
			}
			if g.publish(ctx, g.topics.Health(), 0, false, &h) == nil {
				g.healthSent.Add(1)
			} else {
				g.healthFailed.Add(1)
			}
		}
	}
}

// timedPublisher is the drainer's publisher: the link, noting when each
// batch leaves.
type timedPublisher struct{ g *Gateway }

func (p timedPublisher) Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error {
	if last, err := batchLast(payload); err == nil {
		p.g.batchLag.sent(last, time.Now())
	}
	return p.g.link.Publish(ctx, topic, qos, retained, payload)
}

// batchLast reads "last" from an encoded EventBatch without decoding it.
// wire.Encode writes the batch's own keys, in the order v, centre,
// gateway, boot, first, last, before its events, and IDs cannot hold a
// quote, so the first "last" key is the batch's.
func batchLast(payload []byte) (uint64, error) {
	const key = `"last":`
	i := bytes.Index(payload, []byte(key))
	if i < 0 {
		return 0, errors.New("no last key")
	}
	rest := payload[i+len(key):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	return strconv.ParseUint(string(rest[:j]), 10, 64)
}

// GatewayStats are one gateway's counters.
type GatewayStats struct {
	Link            link.State
	Drain           outbox.Stats
	Logged          uint64 // events in the log
	Delivered       uint64 // acknowledged by HQ
	HealthSent      uint64
	HealthFailed    uint64
	DownlinkRefused uint64 // acks that failed verification, or messages on other topics
	Unacked         int    // batches published and not yet acknowledged
}

// Stats reports the gateway's counters.
func (g *Gateway) Stats() GatewayStats {
	st, _ := g.log.Outbox()
	return GatewayStats{Link: g.link.State(), Drain: g.drain.Stats(), Logged: st.LastSeq, Delivered: st.Delivered,
		HealthSent: g.healthSent.Load(), HealthFailed: g.healthFailed.Load(), DownlinkRefused: g.downlinkRefused.Load(),
		Unacked: g.batchLag.waiting()}
}

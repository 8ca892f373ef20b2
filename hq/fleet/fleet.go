// Package fleet follows the live state of every enrolled gateway at HQ: whether
// it is online and since when, which boot and firmware it runs, its last health
// report (outbox depth and age, disk, readers, clock) and the occupancy of its
// seats. It is what HQ's gateway list and occupancy pages read.
//
// A Tracker receives the gateways' birth, status, health and occupancy messages
// (one HQ instance handles each message: a NATS queue group) and keeps the last
// of each in the JetStream key-value bucket FLEET, so any instance — including
// one started later — answers queries from a copy in memory kept current by a
// watch.
//
// Presence follows the boot counter: a birth or status from an earlier boot
// than the one recorded (a retained message or last will that arrives late) is
// ignored, so a gateway that restarted is never marked offline by the death of
// its previous run. A birth must carry the enrolled device key's signature, and
// an occupancy report carrying a signature must carry a good one. Occupancy is
// what the gateway shows, not evidence: seat-hours come from the signed events
// (package ledger).
package fleet

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/internal/ratelog"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// Names in NATS.
const (
	Bucket = "FLEET"
	Queue  = "seathq-fleet"
)

// queueLen is each worker's queue: room for a burst of every gateway's
// birth, status and health at once after an HQ restart.
const queueLen = 8192

// subjects are the uplink messages a Tracker follows.
var subjects = []string{"seats.v1.*.*.birth", "seats.v1.*.*.status", "seats.v1.*.*.health", "seats.v1.*.*.occupancy"}

// Reason says why a message was rejected. A rejected message changes nothing.
type Reason string

// Rejection reasons.
const (
	ReasonTopic          Reason = "topic"           // not a gateway's uplink subject
	ReasonDecode         Reason = "decode"          // too large, malformed, wrong version or breaking the message rules
	ReasonUnknownGateway Reason = "unknown_gateway" // not enrolled
	ReasonBadSignature   Reason = "bad_signature"   // a birth not signed by the enrolled key, or a bad occupancy signature
	ReasonMismatch       Reason = "mismatch"        // a birth naming another gateway than its topic
	ReasonStale          Reason = "stale"           // from an earlier boot, or older than what is recorded
)

// Stats counts the messages a Tracker handled.
type Stats struct {
	Received uint64            `json:"received"`
	Applied  uint64            `json:"applied"`
	Rejected map[Reason]uint64 `json:"rejected"`
	Errors   uint64            `json:"errors"`  // the bucket could not be written
	Dropped  uint64            `json:"dropped"` // not handled: this instance's queue was full (the next report replaces it)
}

// Presence is a gateway's connection state as its birth and status say.
type Presence struct {
	Boot      uint64    `json:"boot"`
	Online    bool      `json:"online"`
	Since     time.Time `json:"since"` // HQ's clock when Online last changed
	Firmware  string    `json:"firmware,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"` // the gateway's clock at its start
	KeyID     string    `json:"key_id,omitempty"`
	Seen      time.Time `json:"seen"` // HQ's clock at the last birth or status
	// Channel, Arch and Hardware: what releases it takes (its birth).
	Channel  string `json:"channel,omitempty"`
	Arch     string `json:"arch,omitempty"`
	Hardware string `json:"hardware,omitempty"`
}

// HealthReport is a gateway's last health message and when HQ received it.
type HealthReport struct {
	wire.Health
	Received time.Time `json:"received"`
}

// OccupancyReport is a gateway's last occupancy message and when HQ
// received it.
type OccupancyReport struct {
	wire.Occupancy
	Received time.Time `json:"received"`
}

// Gateway is what HQ knows of one gateway's live state.
type Gateway struct {
	Centre    string           `json:"centre"`
	Gateway   string           `json:"gateway"`
	State     string           `json:"state"` // StateOnline, StateSilent, StateOffline or StateUnknown
	Presence  *Presence        `json:"presence,omitempty"`
	Health    *HealthReport    `json:"health,omitempty"`
	Occupancy *OccupancyReport `json:"occupancy,omitempty"`
	// Firmware is the last step of a firmware update the gateway logged
	// (from its outbox events, so none is missed).
	Firmware *FirmwareReport `json:"firmware,omitempty"`
	LastSeen time.Time       `json:"last_seen,omitzero"` // HQ's clock at the last message of any kind
}

// Gateway states.
const (
	StateOnline  = "online"  // connected and heard from within SilentAfter
	StateSilent  = "silent"  // connected by its last status, but not heard from for SilentAfter
	StateOffline = "offline" // its last will, or the broker, said so
	StateUnknown = "unknown" // never heard from
)

// Options configure a Tracker. The zero value of every field is a usable
// default.
type Options struct {
	Replicas int           // of bucket FLEET: 1 (default) or 3 in a cluster
	Workers  int           // handle messages of different gateways in parallel (default 4)
	Silent   time.Duration // a connected gateway not heard from this long is silent (default 3 min: three missed health reports)
	Logger   *slog.Logger
	Now      func() time.Time
}

// Tracker follows the fleet. Its methods are safe for concurrent use.
type Tracker struct {
	o   Options
	nc  *nats.Conn
	kv  jetstream.KeyValue
	reg ingest.Registry
	log *ratelog.Log

	mu    sync.RWMutex
	state map[string]*Gateway // by "{centre}.{gateway}"
	stats Stats
}

// New creates bucket FLEET if missing and loads its content. Run starts
// receiving messages.
func New(ctx context.Context, js jetstream.JetStream, nc *nats.Conn, reg ingest.Registry, o Options) (*Tracker, error) {
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Silent <= 0 {
		o.Silent = 3 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: Bucket, History: 1, Replicas: o.Replicas, Description: "the last presence, health and occupancy of every gateway",
	})
	if err != nil {
		return nil, fmt.Errorf("fleet: bucket %s: %w", Bucket, err)
	}
	return &Tracker{
		o: o, nc: nc, kv: kv, reg: reg, log: ratelog.New(o.Logger, 10*time.Second),
		state: map[string]*Gateway{}, stats: Stats{Rejected: map[Reason]uint64{}},
	}, nil
}

// Run watches the bucket and handles the gateways' messages until ctx is
// done, then returns ctx.Err().
func (t *Tracker) Run(ctx context.Context) error {
	w, err := t.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("fleet: watch: %w", err)
	}
	defer w.Stop()

	queues := make([]chan *nats.Msg, t.o.Workers)
	var wg sync.WaitGroup
	for i := range queues {
		queues[i] = make(chan *nats.Msg, queueLen)
		wg.Go(func() {
			for m := range queues[i] {
				t.handle(ctx, m)
			}
		})
	}
	// The handler only routes: a gateway's messages go to one worker, in
	// order. It never blocks the connection: a full queue drops the message
	// (presence and health come again; the bucket keeps the last).
	var subs []*nats.Subscription
	for _, s := range subjects {
		sub, err := t.nc.QueueSubscribe(s, Queue, func(m *nats.Msg) {
			h := fnv.New32a()
			h.Write([]byte(gatewayPart(m.Subject)))
			select {
			case queues[h.Sum32()%uint32(len(queues))] <- m:
			default:
				t.count(func(s *Stats) { s.Dropped++ })
				t.log.Log(slog.LevelWarn, "full", "fleet: queue full, dropping a message", "subject", m.Subject)
			}
		})
		if err != nil {
			return fmt.Errorf("fleet: subscribe %s: %w", s, err)
		}
		subs = append(subs, sub)
	}
	defer func() {
		for _, s := range subs {
			s.Unsubscribe()
		}
		for _, q := range queues {
			close(q)
		}
		wg.Wait()
	}()

	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("fleet: watch ended")
			}
			if e != nil {
				t.load(e)
			}
		}
	}
}

// gatewayPart is "seats.v1.{c}.{g}" of a subject.
func gatewayPart(subject string) string {
	if i := strings.LastIndexByte(subject, '.'); i > 0 {
		return subject[:i]
	}
	return subject
}

// load applies one key of the bucket to the copy in memory.
func (t *Tracker) load(e jetstream.KeyValueEntry) {
	parts := strings.Split(e.Key(), ".")
	if len(parts) != 3 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	id := parts[0] + "." + parts[1]
	g := t.state[id]
	if g == nil {
		g = &Gateway{Centre: parts[0], Gateway: parts[1]}
		t.state[id] = g
	}
	del := e.Operation() != jetstream.KeyValuePut
	var err error
	switch parts[2] {
	case "presence":
		g.Presence = nil
		if !del {
			g.Presence = new(Presence)
			err = json.Unmarshal(e.Value(), g.Presence)
		}
	case "health":
		g.Health = nil
		if !del {
			g.Health = new(HealthReport)
			err = json.Unmarshal(e.Value(), g.Health)
		}
	case "occupancy":
		g.Occupancy = nil
		if !del {
			g.Occupancy = new(OccupancyReport)
			err = json.Unmarshal(e.Value(), g.Occupancy)
		}
	case "firmware":
		g.Firmware = nil
		if !del {
			g.Firmware = new(FirmwareReport)
			err = json.Unmarshal(e.Value(), g.Firmware)
		}
	}
	if err != nil {
		t.o.Logger.Error("fleet: corrupt record in the bucket", "key", e.Key(), "err", err)
	}
}

func (t *Tracker) count(f func(*Stats)) {
	t.mu.Lock()
	f(&t.stats)
	t.mu.Unlock()
}

func (t *Tracker) reject(subject string, r Reason, err error) {
	t.count(func(s *Stats) { s.Rejected[r]++ })
	t.log.Log(slog.LevelWarn, string(r)+gatewayPart(subject), "fleet: message rejected", "subject", subject, "reason", r, "err", err)
}

// handle applies one message.
func (t *Tracker) handle(ctx context.Context, m *nats.Msg) {
	t.count(func(s *Stats) { s.Received++ })
	topic, err := wire.MQTTTopic(m.Subject)
	var centre, gw, kind string
	if err == nil {
		centre, gw, kind, err = wire.ParseTopic(topic)
	}
	if err != nil {
		t.reject(m.Subject, ReasonTopic, err)
		return
	}
	key, ok := t.reg.GatewayKey(centre, gw)
	if !ok {
		t.reject(m.Subject, ReasonUnknownGateway, errors.New("not enrolled"))
		return
	}
	now := t.o.Now().UTC()
	id := centre + "." + gw
	var reason Reason
	switch kind {
	case wire.KindBirth:
		reason, err = t.birth(ctx, id, key, centre, gw, m.Data, now)
	case wire.KindStatus:
		reason, err = t.status(ctx, id, m.Data, now)
	case wire.KindHealth:
		reason, err = t.health(ctx, id, m.Data, now)
	case wire.KindOccupancy:
		reason, err = t.occupancy(ctx, id, key, m.Data, now)
	default:
		reason, err = ReasonTopic, fmt.Errorf("kind %q", kind)
	}
	switch {
	case reason != "":
		t.reject(m.Subject, reason, err)
	case err != nil:
		t.count(func(s *Stats) { s.Errors++ })
		t.log.Log(slog.LevelError, "kv", "fleet: cannot record a message", "subject", m.Subject, "err", err)
	default:
		t.count(func(s *Stats) { s.Applied++ })
	}
}

func (t *Tracker) birth(ctx context.Context, id string, key ed25519.PublicKey, centre, gw string, data []byte, now time.Time) (Reason, error) {
	b, err := wire.DecodeBirth(data)
	if err != nil {
		return ReasonDecode, err
	}
	if b.Centre != centre || b.Gateway != gw {
		return ReasonMismatch, fmt.Errorf("birth of %s/%s on %s's topic", b.Centre, b.Gateway, id)
	}
	if err := wire.Verify(key, &b); err != nil {
		return ReasonBadSignature, err
	}
	return t.updatePresence(ctx, id, b.Boot, func(p *Presence) {
		if !p.Online {
			p.Since = now
		}
		p.Boot, p.Online, p.Firmware, p.StartedAt, p.KeyID, p.Seen = b.Boot, true, b.Firmware, b.StartedAt, b.KeyID, now
		p.Channel, p.Arch, p.Hardware = b.Channel, b.Arch, b.Hardware
	})
}

func (t *Tracker) status(ctx context.Context, id string, data []byte, now time.Time) (Reason, error) {
	s, err := wire.DecodeStatus(data)
	if err != nil {
		return ReasonDecode, err
	}
	online := s.State == wire.StateOnline
	return t.updatePresence(ctx, id, s.Boot, func(p *Presence) {
		if p.Online != online || p.Since.IsZero() {
			p.Since = now
		}
		if s.Boot > p.Boot { // no birth of this boot seen yet
			p.Firmware, p.StartedAt = "", time.Time{}
		}
		p.Boot, p.Online, p.Seen = s.Boot, online, now
	})
}

// updatePresence applies f to the presence record unless the message's boot
// is earlier than the recorded one, with compare-and-set so that instances
// handling messages of one gateway at once do not undo each other.
func (t *Tracker) updatePresence(ctx context.Context, id string, boot uint64, f func(*Presence)) (Reason, error) {
	key := id + ".presence"
	for range 10 {
		var p Presence
		var rev uint64
		e, err := t.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return "", err
		default:
			if err := json.Unmarshal(e.Value(), &p); err != nil {
				return "", fmt.Errorf("corrupt presence %s: %w", key, err)
			}
			rev = e.Revision()
		}
		if boot < p.Boot {
			return ReasonStale, fmt.Errorf("boot %d, but boot %d is recorded", boot, p.Boot)
		}
		f(&p)
		data, err := json.Marshal(p)
		if err != nil {
			return "", err
		}
		if rev == 0 {
			_, err = t.kv.Create(ctx, key, data)
		} else {
			_, err = t.kv.Update(ctx, key, data, rev)
		}
		if err == nil {
			return "", nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
			return "", err
		}
	}
	return "", errors.New("presence kept changing under us")
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

func (t *Tracker) health(ctx context.Context, id string, data []byte, now time.Time) (Reason, error) {
	h, err := wire.DecodeHealth(data)
	if err != nil {
		return ReasonDecode, err
	}
	t.mu.RLock()
	var presentBoot uint64
	if g := t.state[id]; g != nil && g.Presence != nil {
		presentBoot = g.Presence.Boot
	}
	t.mu.RUnlock()
	if h.Boot < presentBoot {
		return ReasonStale, fmt.Errorf("health of boot %d, but boot %d is recorded", h.Boot, presentBoot)
	}
	out, err := json.Marshal(HealthReport{Health: h, Received: now})
	if err != nil {
		return "", err
	}
	_, err = t.kv.Put(ctx, id+".health", out)
	return "", err
}

func (t *Tracker) occupancy(ctx context.Context, id string, key ed25519.PublicKey, data []byte, now time.Time) (Reason, error) {
	o, err := wire.DecodeOccupancy(data)
	if err != nil {
		return ReasonDecode, err
	}
	if o.Sig != "" {
		if err := wire.Verify(key, &o); err != nil {
			return ReasonBadSignature, err
		}
	}
	t.mu.RLock()
	var last time.Time
	if g := t.state[id]; g != nil && g.Occupancy != nil {
		last = g.Occupancy.Time
	}
	t.mu.RUnlock()
	if o.Time.Before(last) {
		return ReasonStale, fmt.Errorf("occupancy of %v, but one of %v is recorded", o.Time, last)
	}
	out, err := json.Marshal(OccupancyReport{Occupancy: o, Received: now})
	if err != nil {
		return "", err
	}
	_, err = t.kv.Put(ctx, id+".occupancy", out)
	return "", err
}

// Stats returns the counters.
func (t *Tracker) Stats() Stats {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := t.stats
	s.Rejected = maps.Clone(t.stats.Rejected)
	return s
}

// Gateway returns the live state of one gateway (StateUnknown when never
// heard from).
func (t *Tracker) Gateway(centre, gateway string) Gateway {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if g := t.state[centre+"."+gateway]; g != nil {
		return t.view(g)
	}
	return Gateway{Centre: centre, Gateway: gateway, State: StateUnknown}
}

// Gateways returns the live state of every gateway heard from in centre
// ("" for all), sorted.
func (t *Tracker) Gateways(centre string) []Gateway {
	t.mu.RLock()
	out := make([]Gateway, 0, len(t.state))
	for _, g := range t.state {
		if centre == "" || g.Centre == centre {
			out = append(out, t.view(g))
		}
	}
	t.mu.RUnlock()
	slices.SortFunc(out, func(a, b Gateway) int {
		return strings.Compare(a.Centre+"."+a.Gateway, b.Centre+"."+b.Gateway)
	})
	return out
}

// view copies g with its state and last-seen time worked out.
func (t *Tracker) view(g *Gateway) Gateway {
	v := *g
	if g.Presence != nil {
		p := *g.Presence
		v.Presence = &p
		v.LastSeen = p.Seen
	}
	if g.Health != nil {
		h := *g.Health
		v.Health = &h
		v.LastSeen = later(v.LastSeen, h.Received)
	}
	if g.Occupancy != nil {
		o := *g.Occupancy
		o.Seats = slices.Clone(o.Seats)
		v.Occupancy = &o
		v.LastSeen = later(v.LastSeen, o.Received)
	}
	if g.Firmware != nil {
		f := *g.Firmware
		v.Firmware = &f
	}
	switch {
	case v.Presence == nil && v.LastSeen.IsZero():
		v.State = StateUnknown
	case v.Presence != nil && !v.Presence.Online:
		v.State = StateOffline
	case t.o.Now().Sub(v.LastSeen) > t.o.Silent:
		v.State = StateSilent
	default:
		v.State = StateOnline
	}
	return v
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// CentreOccupancy is the live occupancy of one centre.
type CentreOccupancy struct {
	Centre         string               `json:"centre"`
	Seats          int                  `json:"seats"`
	Occupied       int                  `json:"occupied"`
	Gateways       int                  `json:"gateways"`
	GatewaysOnline int                  `json:"gateways_online"`
	Updated        time.Time            `json:"updated,omitzero"` // the latest report's time (the gateway's clock)
	SeatList       []wire.SeatOccupancy `json:"seat_list,omitempty"`
}

// Occupancy returns the live occupancy of every centre heard from, sorted by
// centre, with each centre's seats when withSeats is set.
func (t *Tracker) Occupancy(withSeats bool) []CentreOccupancy {
	by := map[string]*CentreOccupancy{}
	for _, g := range t.Gateways("") {
		c := by[g.Centre]
		if c == nil {
			c = &CentreOccupancy{Centre: g.Centre}
			by[g.Centre] = c
		}
		c.Gateways++
		if g.State == StateOnline {
			c.GatewaysOnline++
		}
		if g.Occupancy == nil {
			continue
		}
		c.Updated = later(c.Updated, g.Occupancy.Time)
		for _, s := range g.Occupancy.Seats {
			c.Seats++
			if s.State == store.SeatOccupied {
				c.Occupied++
			}
			if withSeats {
				c.SeatList = append(c.SeatList, s)
			}
		}
	}
	out := make([]CentreOccupancy, 0, len(by))
	for _, c := range by {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b CentreOccupancy) int { return strings.Compare(a.Centre, b.Centre) })
	return out
}

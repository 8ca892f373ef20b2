package daemon

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/cmd/seatgate/internal/config"
	"github.com/pkfreelance/seatgate/sync/identity"
	"github.com/pkfreelance/seatgate/sync/journal"
	"github.com/pkfreelance/seatgate/sync/link"
	"github.com/pkfreelance/seatgate/sync/outbox"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// hqLink joins the gateway to HQ: the MQTT link, the outbox drain, the
// membership journal, and the birth, status, health and occupancy
// messages. Nothing on the tap path waits for it.
type hqLink struct {
	cfg     config.HQ
	topics  wire.Topics
	key     identity.Key
	boot    uint64
	version string
	dataDir string
	started time.Time
	store   *store.Store
	health  func() (readersOK, readersTotal int, trusted bool)
	log     *slog.Logger

	link    *link.Link
	drain   *outbox.Drainer
	journal *journal.Applier
	fw      *updater // nil without firmware.root

	occupancyDirty atomic.Bool
	rejected       atomic.Uint64 // downlink messages refused
	diskAlarm      atomic.Pointer[string]
}

func newHQLink(g *Gateway) (*hqLink, error) {
	h := &hqLink{cfg: g.cfg.HQ, topics: wire.Topics{Centre: g.cfg.Centre, Gateway: g.cfg.Gateway},
		version: g.opts.Version, dataDir: g.cfg.DataDir, started: time.Now(), store: g.store, log: g.log.With("component", "hq")}
	key, err := identity.LoadOrCreate(g.cfg.DataDir)
	if err != nil {
		return nil, err
	}
	h.key = key
	hqKeyRaw, err := base64.StdEncoding.DecodeString(h.cfg.HQKey)
	if err != nil || len(hqKeyRaw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("hq.hq_key: not a base64 ed25519 public key")
	}
	hqKey := ed25519.PublicKey(hqKeyRaw)
	if h.boot, err = g.store.NextBoot(); err != nil {
		return nil, fmt.Errorf("count boot: %w", err)
	}
	var tlsConf *tls.Config
	if strings.HasPrefix(h.cfg.Broker, "tls://") || strings.HasPrefix(h.cfg.Broker, "ssl://") {
		if tlsConf, err = clientTLS(h.cfg, key); err != nil {
			return nil, err
		}
	}
	offline, err := wire.Encode(&wire.Status{V: wire.Version, State: wire.StateOffline, Boot: h.boot})
	if err != nil {
		return nil, err
	}
	h.link, err = link.New(link.Options{
		Broker: h.cfg.Broker, ClientID: h.topics.Centre + "_" + h.topics.Gateway, TLS: tlsConf,
		Will:      &link.Will{Topic: h.topics.Status(), Payload: offline, QoS: 1, Retained: true},
		Subscribe: []string{h.topics.Ack(), h.topics.Journal(), h.topics.JournalCatchUp(), h.topics.Firmware()},
		OnConnect: h.onConnect,
		Logger:    h.log,
	})
	if err != nil {
		return nil, err
	}
	h.drain = outbox.New(g.store, h.link, outbox.Options{Topics: h.topics, Boot: h.boot, Key: key.Private, HQKey: hqKey,
		BatchSize: h.cfg.BatchSize, Rate: float64(h.cfg.BatchesPerSecond), Logger: h.log})
	h.journal = journal.New(g.store, h.link, journal.Options{Topics: h.topics, HQKey: hqKey, Logger: h.log})
	return h, nil
}

// clientTLS loads the pinned HQ CA and the gateway's certificate. With key
// "device" the certificate is for the device key (what HQ issues at
// enrolment), so no second private key exists on the gateway.
func clientTLS(c config.HQ, device identity.Key) (*tls.Config, error) {
	caPEM, err := os.ReadFile(c.CA)
	if err != nil {
		return nil, fmt.Errorf("hq.ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("hq.ca %s: no PEM certificate in it", c.CA)
	}
	var cert tls.Certificate
	if c.Key == config.DeviceKey {
		certPEM, err := os.ReadFile(c.Cert)
		if err != nil {
			return nil, fmt.Errorf("hq.cert: %w", err)
		}
		blk, _ := pem.Decode(certPEM)
		if blk == nil || blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("hq.cert %s: no PEM certificate in it", c.Cert)
		}
		x, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("hq.cert %s: %w", c.Cert, err)
		}
		if pub, ok := x.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(device.Public()) {
			return nil, fmt.Errorf("hq.cert %s is not for this gateway's device key %s (hq.key: device): ask HQ for a certificate of this key", c.Cert, device.ID())
		}
		cert = tls.Certificate{Certificate: [][]byte{blk.Bytes}, PrivateKey: device.Private, Leaf: x}
	} else {
		var err error
		if cert, err = tls.LoadX509KeyPair(c.Cert, c.Key); err != nil {
			return nil, fmt.Errorf("hq.cert/hq.key: %w", err)
		}
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// run starts the link's parts; they stop with ctx.
func (h *hqLink) run(ctx context.Context, wg *sync.WaitGroup) {
	goRun := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	goRun(func() { _ = h.link.Run(ctx) })
	goRun(func() { _ = h.drain.Run(ctx) })
	goRun(func() { h.dispatch(ctx) })
	goRun(func() { h.periodic(ctx) })
}

// eventLogged is called for every event the gateway commits.
func (h *hqLink) eventLogged() {
	h.drain.Notify()
	h.occupancyDirty.Store(true)
}

// onConnect runs after every (re)connection.
func (h *hqLink) onConnect(ctx context.Context) {
	birth := wire.Birth{V: wire.Version, Centre: h.topics.Centre, Gateway: h.topics.Gateway, Boot: h.boot,
		Firmware: h.version, StartedAt: h.started, KeyID: h.key.ID()}
	if h.fw != nil {
		birth.Channel, birth.Arch, birth.Hardware = h.fw.channel, Arch(), h.fw.hardware
	}
	if err := wire.Sign(h.key.Private, &birth); err == nil {
		h.publish(ctx, h.topics.Birth(), 1, true, &birth)
	}
	h.publish(ctx, h.topics.Status(), 1, true, &wire.Status{V: wire.Version, State: wire.StateOnline, Boot: h.boot})
	h.drain.Connected()
	if err := h.journal.Connected(ctx); err != nil {
		h.log.Warn("ask for journal catch-up", "err", err)
	}
	h.occupancyDirty.Store(true)
}

func (h *hqLink) publish(ctx context.Context, topic string, qos byte, retained bool, msg interface{ Validate() error }) {
	b, err := wire.Encode(msg)
	if err == nil {
		err = h.link.Publish(ctx, topic, qos, retained, b)
	}
	if err != nil {
		h.log.Warn("publish", "topic", topic, "err", err)
	}
}

// dispatch hands downlink messages to the outbox and the journal.
func (h *hqLink) dispatch(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-h.link.Inbox():
			var err error
			switch m.Topic {
			case h.topics.Ack():
				err = h.drain.HandleAck(m.Payload)
			case h.topics.Journal():
				err = h.journal.HandleEntry(ctx, m.Payload)
			case h.topics.JournalCatchUp():
				err = h.journal.HandleCatchUp(ctx, m.Payload)
			case h.topics.Firmware():
				if h.fw == nil {
					err = fmt.Errorf("firmware assignment ignored: updates are off (no firmware.root, or not run by seatgate supervise)")
				} else {
					err = h.fw.handleAssign(h.topics, m.Payload)
				}
			default:
				err = fmt.Errorf("unexpected topic %s", m.Topic)
			}
			if err != nil {
				if n := h.rejected.Add(1); n <= 10 || n%100 == 0 {
					h.log.Warn("downlink message refused", "topic", m.Topic, "err", err, "refused", n)
				}
			}
		}
	}
}

// periodic publishes occupancy (at most once a second, on change), health
// (every minute), asks HQ for journal entries it may have missed while
// connected (every ten minutes: a safety net, entries normally arrive live
// and gaps are noticed at the next one) and prunes delivered events past
// retention (hourly).
func (h *hqLink) periodic(ctx context.Context) {
	sec := time.NewTicker(time.Second)
	defer sec.Stop()
	var lastHealth, lastPrune, lastDisk time.Time
	lastAsk := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-sec.C:
			// Every minute; every 5 s while the alarm is up, so space is
			// freed as soon as HQ acknowledges.
			if every := time.Minute; now.Sub(lastDisk) >= every || h.diskAlarm.Load() != nil && now.Sub(lastDisk) >= 5*time.Second {
				lastDisk = now
				h.checkDisk(now)
			}
			if !h.link.State().Connected {
				continue
			}
			if h.occupancyDirty.Swap(false) {
				h.publishOccupancy(ctx, now)
			}
			if now.Sub(lastHealth) >= time.Minute {
				lastHealth = now
				h.publishHealth(ctx, now)
			}
			if err := h.journal.Retry(ctx); err != nil {
				h.log.Warn("ask for missing journal entries", "err", err)
			}
			if now.Sub(lastAsk) >= 10*time.Minute {
				lastAsk = now
				if err := h.journal.Connected(ctx); err != nil {
					h.log.Warn("ask for journal catch-up", "err", err)
				}
			}
			if now.Sub(lastPrune) >= time.Hour {
				lastPrune = now
				if n, err := h.store.Prune(now.Add(-time.Duration(h.cfg.Retention))); err != nil {
					h.log.Warn("prune delivered events", "err", err)
				} else if n > 0 {
					h.log.Info("pruned delivered events", "count", n)
				}
			}
		}
	}
}

// checkDisk raises or clears the disk alarm. While it is raised every
// delivered event is pruned, whatever the retention; undelivered events are
// never touched, and desks keep being served.
func (h *hqLink) checkDisk(now time.Time) {
	used, err := h.store.DiskUsage()
	if err != nil {
		h.log.Warn("disk usage", "err", err)
		return
	}
	free := diskFree(h.dataDir)
	var reason string
	switch {
	case used > int64(h.cfg.DiskQuotaMB)<<20:
		reason = fmt.Sprintf("database holds %d MB, over hq.disk_quota_mb %d", used>>20, h.cfg.DiskQuotaMB)
	case free > 0 && free < uint64(h.cfg.MinFreeMB)<<20:
		reason = fmt.Sprintf("%d MB free on the data directory's file system, under hq.min_free_mb %d", free>>20, h.cfg.MinFreeMB)
	}
	if reason == "" {
		if h.diskAlarm.Swap(nil) != nil {
			h.log.Info("disk alarm cleared")
		}
		return
	}
	h.diskAlarm.Store(&reason)
	n, err := h.store.Prune(now.Add(time.Second))
	h.log.Warn("disk alarm: pruned every delivered event; undelivered events are kept and desks are served", "reason", reason, "pruned", n, "err", err)
}

func (h *hqLink) publishOccupancy(ctx context.Context, now time.Time) {
	seats, err := h.store.Seats()
	if err != nil {
		h.log.Warn("occupancy", "err", err)
		return
	}
	o := wire.Occupancy{V: wire.Version, Time: now}
	for _, s := range seats {
		o.Seats = append(o.Seats, wire.SeatOccupancy{Seat: s.Seat, Zone: s.Zone, State: s.State, Member: s.Member, Since: s.Since})
	}
	if err := wire.Sign(h.key.Private, &o); err != nil {
		h.log.Warn("occupancy", "err", err)
		return
	}
	h.publish(ctx, h.topics.Occupancy(), 1, true, &o)
}

func (h *hqLink) publishHealth(ctx context.Context, now time.Time) {
	o, _ := h.store.Outbox()
	info, _ := h.store.MembershipInfo()
	hl := wire.Health{V: wire.Version, Time: now, Boot: h.boot, UptimeSec: int64(time.Since(h.started).Seconds()),
		Firmware: h.version, OutboxDepth: o.Depth, DiskFree: diskFree(h.dataDir), MembershipRev: info.Revision}
	if !o.OldestUndelivered.IsZero() {
		hl.OutboxOldest = int64(now.Sub(o.OldestUndelivered).Seconds())
	}
	if h.health != nil {
		hl.ReadersOK, hl.ReadersTotal, hl.ClockTrusted = h.health()
	}
	if h.fw != nil {
		hl.Update = h.fw.health()
	}
	h.publish(ctx, h.topics.Health(), 0, false, &hl)
}

// Status is the link's state for /healthz.
type hqStatus struct {
	Link    link.State    `json:"link"`
	Outbox  outbox.Stats  `json:"outbox"`
	Journal journal.Stats `json:"journal"`
	Boot    uint64        `json:"boot"`
	KeyID   string        `json:"device_key"`
	Refused uint64        `json:"downlink_refused"`
	// DiskAlarm says why the disk quota is reached; empty when it is not.
	DiskAlarm string `json:"disk_alarm,omitempty"`
}

func (h *hqLink) status() hqStatus {
	st := hqStatus{Link: h.link.State(), Outbox: h.drain.Stats(), Journal: h.journal.Stats(), Boot: h.boot,
		KeyID: h.key.ID(), Refused: h.rejected.Load()}
	if r := h.diskAlarm.Load(); r != nil {
		st.DiskAlarm = *r
	}
	return st
}

// Package relay joins a Mosquitto broker to HQ's NATS, for centres (or a
// whole deployment) whose gateways connect to Mosquitto rather than to
// seathq's embedded NATS MQTT listener. It carries the gateways' uplink
// (events, birth, status, health, occupancy, journal requests) from Mosquitto
// to the NATS subjects HQ's ingest, fleet tracker and authority listen on, and
// HQ's downlink (acknowledgements, journal entries, catch-up answers) back.
//
// The relay is stateless and adds no guarantee of its own, and needs none:
// a batch lost on the way is not acknowledged and the gateway resends it,
// acknowledgements are watermarks (a later one covers a lost one), and the
// journal detects gaps and catches up. Its MQTT session is clean; its
// handlers never block (NATS publishes are buffered, MQTT publishes are not
// waited for).
//
// On Mosquitto it is an HQ service: a client certificate with CN "seathq"
// from HQ's CA, which deploy/mosquitto/acl gives the whole seats/v1/# tree.
package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/nats-io/nats.go"

	"github.com/pkfreelance/seatgate/sync/wire"
)

// Topics and subjects relayed.
var (
	uplinkTopics = []string{
		"seats/v1/+/+/" + wire.KindEvents, "seats/v1/+/+/" + wire.KindBirth, "seats/v1/+/+/" + wire.KindStatus,
		"seats/v1/+/+/" + wire.KindHealth, "seats/v1/+/+/" + wire.KindOccupancy, "seats/v1/+/+/journal/want",
	}
	downlinkSubjects = []string{"seats.v1.*.*." + wire.KindAck, "seats.v1.*.*.journal", "seats.v1.*.journal", "seats.v1.*.*." + wire.KindFirmware}
)

// Options configure a Relay.
type Options struct {
	Broker   string      // "tls://mq.example.pk:8883" (or tcp:// on this machine)
	TLS      *tls.Config // client certificate of the HQ service and the broker's CA
	ClientID string      // default "seathq-relay"
	Logger   *slog.Logger
}

// Stats count relayed messages.
type Stats struct {
	Up        uint64 `json:"up"`      // Mosquitto → NATS
	Down      uint64 `json:"down"`    // NATS → Mosquitto
	Dropped   uint64 `json:"dropped"` // not relayed: a topic or subject outside protocol v1, or a failed publish
	Connected bool   `json:"connected"`
}

// Relay is a running relay.
type Relay struct {
	o                 Options
	nc                *nats.Conn
	c                 mqtt.Client
	up, down, dropped atomic.Uint64
	subs              []*nats.Subscription
	closeOnce         sync.Once
}

// Start connects to the broker (retrying in the background until ctx is
// done or Close) and starts relaying.
func Start(ctx context.Context, nc *nats.Conn, o Options) (*Relay, error) {
	if o.Broker == "" {
		return nil, errors.New("relay: no broker")
	}
	if o.ClientID == "" {
		o.ClientID = "seathq-relay"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Relay{o: o, nc: nc}
	mo := mqtt.NewClientOptions().AddBroker(o.Broker).SetClientID(o.ClientID).SetCleanSession(true).
		SetTLSConfig(o.TLS).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).SetMaxReconnectInterval(30 * time.Second).
		SetOrderMatters(false). // handlers only hand over; never block paho
		SetOnConnectHandler(r.onConnect).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { o.Logger.Warn("relay: Mosquitto connection lost", "err", err) })
	r.c = mqtt.NewClient(mo)
	r.c.Connect() // retried in the background (SetConnectRetry)
	for _, s := range downlinkSubjects {
		sub, err := nc.Subscribe(s, r.downlink)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("relay: subscribe %s: %w", s, err)
		}
		r.subs = append(r.subs, sub)
	}
	context.AfterFunc(ctx, r.Close)
	return r, nil
}

func (r *Relay) onConnect(c mqtt.Client) {
	filters := map[string]byte{}
	for _, t := range uplinkTopics {
		filters[t] = 1
	}
	tok := c.SubscribeMultiple(filters, r.uplink)
	go func() { // not waited for in the handler
		if tok.WaitTimeout(30*time.Second) && tok.Error() == nil {
			r.o.Logger.Info("relay: Mosquitto connected and subscribed", "broker", r.o.Broker)
		} else {
			r.o.Logger.Error("relay: subscribing on Mosquitto failed", "err", tok.Error())
		}
	}()
}

// uplink hands a gateway's message to NATS (buffered, never blocks).
func (r *Relay) uplink(_ mqtt.Client, m mqtt.Message) {
	subject, err := wire.NATSSubject(m.Topic())
	if err == nil {
		err = r.nc.Publish(subject, m.Payload())
	}
	if err != nil {
		r.dropped.Add(1)
		return
	}
	r.up.Add(1)
}

// downlink hands HQ's message to Mosquitto, QoS 1, not waited for.
func (r *Relay) downlink(m *nats.Msg) {
	topic, err := wire.MQTTTopic(m.Subject)
	if err != nil || !r.c.IsConnectionOpen() {
		r.dropped.Add(1)
		return
	}
	r.c.Publish(topic, 1, false, m.Data)
	r.down.Add(1)
}

// Stats returns the counters.
func (r *Relay) Stats() Stats {
	return Stats{Up: r.up.Load(), Down: r.down.Load(), Dropped: r.dropped.Load(), Connected: r.c.IsConnectionOpen()}
}

// Close stops relaying.
func (r *Relay) Close() {
	r.closeOnce.Do(func() {
		for _, s := range r.subs {
			s.Unsubscribe()
		}
		r.c.Disconnect(250)
	})
}

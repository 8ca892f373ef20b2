// Package link is the gateway's MQTT 3.1.1 connection to HQ (paho).
//
// It owns one paho client and its reconnect loop: exponential backoff with
// jitter (so 5,000 gateways coming back after an HQ outage do not arrive
// together), subscriptions made in the on-connect handler, and message
// handlers that never block (paho runs them on its own goroutine; a handler
// that blocks stalls the client, a known paho deadlock). Incoming messages
// go to a bounded inbox; when it is full the message is dropped and counted.
// That is safe because nothing here relies on the broker or paho for
// delivery: acknowledgements are watermarks (a later one covers a dropped
// one) and the membership journal detects gaps and catches up.
//
// Sessions are clean (no broker-side persistent session) and paho keeps its
// in-flight messages in memory only: the durable outbox and the journal's
// revisions carry every guarantee.
package link

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Message is one message received on a subscribed topic.
type Message struct {
	Topic   string
	Payload []byte
}

// Will is the last-will message the broker publishes if the gateway
// vanishes without disconnecting.
type Will struct {
	Topic    string
	Payload  []byte
	QoS      byte
	Retained bool
}

// Options configure a Link.
type Options struct {
	// Broker is the broker's URL: "tls://hq.example:8883" (or tcp:// for
	// tests and local brokers without TLS).
	Broker string
	// ClientID is the MQTT client id: "{centre}_{gateway}" (NATS refuses
	// a "." in client ids). Never send a password to NATS: gateways are
	// authenticated by their certificate alone.
	ClientID string
	// TLS carries the gateway's client certificate and the pinned HQ CA.
	TLS                *tls.Config
	Username, Password string
	// Will is set on every connection (the gateway's "offline" status with
	// its boot counter); nil for none.
	Will *Will
	// Subscribe lists the topics subscribed on every connection, at QoS 0:
	// nothing relies on the broker for downlink delivery (acks are
	// watermarks, the journal detects gaps), and on NATS every QoS 1
	// subscription is a JetStream consumer, in a cluster a replicated one:
	// 15,000 of them for 5,000 gateways made connecting take minutes
	// (hq/fleetbench; at QoS 0 the fleet connects in 14 s).
	Subscribe []string
	// OnConnect runs on its own goroutine after every successful
	// connection and subscription (e.g. publish the birth message, ask
	// for journal catch-up, restart the outbox drain).
	OnConnect func(ctx context.Context)
	// Inbox is the capacity of the incoming message queue (default 256).
	Inbox int
	// BackoffMin and BackoffMax bound the reconnect delay (defaults 1 s
	// and 2 min); each delay is drawn uniformly from [d/2, d] ("equal
	// jitter").
	BackoffMin, BackoffMax time.Duration
	// ConnectTimeout bounds one connection attempt (default 20 s).
	ConnectTimeout time.Duration
	// KeepAlive is the MQTT keep-alive (default 30 s).
	KeepAlive time.Duration
	Logger    *slog.Logger
}

// State is the link's health, for /healthz and metrics.
type State struct {
	Connected  bool      `json:"connected"`
	Since      time.Time `json:"since,omitzero"` // of the current state
	Attempts   uint64    `json:"attempts"`
	Reconnects uint64    `json:"reconnects"`
	LastError  string    `json:"last_error,omitempty"`
	Dropped    uint64    `json:"dropped"` // inbound messages dropped because the inbox was full
}

// ErrNotConnected is returned by Publish while the link is down.
var ErrNotConnected = errors.New("mqtt link is not connected")

// Link is one gateway's connection to HQ. Create with New, run with Run.
type Link struct {
	o     Options
	log   *slog.Logger
	inbox chan Message

	mu     sync.Mutex
	client mqtt.Client
	state  State

	dropped atomic.Uint64
	lost    chan error
}

// New checks the options; nothing connects until Run.
func New(o Options) (*Link, error) {
	if o.Broker == "" || o.ClientID == "" {
		return nil, errors.New("link: broker and client id are required")
	}
	if o.Inbox <= 0 {
		o.Inbox = 256
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 2 * time.Minute
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 20 * time.Second
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Link{o: o, log: o.Logger, inbox: make(chan Message, o.Inbox), lost: make(chan error, 1)}, nil
}

// Inbox delivers messages from the subscribed topics.
func (l *Link) Inbox() <-chan Message { return l.inbox }

// State reports the link's health.
func (l *Link) State() State {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.state
	s.Dropped = l.dropped.Load()
	return s
}

// Run connects and stays connected until ctx is done, then disconnects.
// It returns ctx.Err().
func (l *Link) Run(ctx context.Context) error {
	var (
		backoff time.Duration
		wg      sync.WaitGroup
	)
	defer wg.Wait()
	for {
		err := l.connect(ctx)
		if err == nil {
			backoff = 0
			connCtx, cancel := context.WithCancel(ctx)
			if l.o.OnConnect != nil {
				wg.Add(1)
				go func() { defer wg.Done(); l.o.OnConnect(connCtx) }()
			}
			select {
			case <-ctx.Done():
				cancel()
				l.disconnect()
				return ctx.Err()
			case err = <-l.lost:
				cancel()
				l.log.Warn("mqtt connection lost", "err", err)
				l.setDown(err)
			}
		} else {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			l.setDown(err)
		}
		backoff = min(max(backoff*2, l.o.BackoffMin), l.o.BackoffMax)
		wait := backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1))
		l.log.Info("mqtt reconnect scheduled", "in", wait.Round(time.Millisecond), "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// connect makes one connection attempt and subscribes.
func (l *Link) connect(ctx context.Context) error {
	co := mqtt.NewClientOptions().
		AddBroker(l.o.Broker).
		SetClientID(l.o.ClientID).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetKeepAlive(l.o.KeepAlive).
		SetConnectTimeout(l.o.ConnectTimeout).
		SetWriteTimeout(10 * time.Second).
		SetOrderMatters(true). // messages reach the inbox in arrival order; the handler never blocks
		SetTLSConfig(l.o.TLS).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			select {
			case l.lost <- err:
			default:
			}
		})
	if l.o.Username != "" {
		co.SetUsername(l.o.Username).SetPassword(l.o.Password)
	}
	if w := l.o.Will; w != nil {
		co.SetBinaryWill(w.Topic, w.Payload, w.QoS, w.Retained)
	}
	// Drain a loss reported by a previous connection.
	select {
	case <-l.lost:
	default:
	}
	c := mqtt.NewClient(co)
	l.mu.Lock()
	l.state.Attempts++
	l.mu.Unlock()
	if err := wait(ctx, c.Connect(), l.o.ConnectTimeout); err != nil {
		c.Disconnect(0)
		return fmt.Errorf("connect to %s: %w", l.o.Broker, err)
	}
	if len(l.o.Subscribe) > 0 {
		filters := map[string]byte{}
		for _, t := range l.o.Subscribe {
			filters[t] = 0
		}
		tok := c.SubscribeMultiple(filters, l.handle)
		if err := wait(ctx, tok, l.o.ConnectTimeout); err != nil {
			c.Disconnect(0)
			return fmt.Errorf("subscribe: %w", err)
		}
		for t, q := range tok.(*mqtt.SubscribeToken).Result() {
			if q == 0x80 {
				c.Disconnect(0)
				return fmt.Errorf("subscribe %s: refused by the broker", t)
			}
		}
	}
	l.mu.Lock()
	if l.state.Attempts > 1 || !l.state.Since.IsZero() {
		l.state.Reconnects++
	}
	l.client = c
	l.state.Connected, l.state.Since, l.state.LastError = true, time.Now(), ""
	l.mu.Unlock()
	l.log.Info("mqtt connected", "broker", l.o.Broker, "client", l.o.ClientID)
	return nil
}

// handle is paho's message handler: it never blocks.
func (l *Link) handle(_ mqtt.Client, m mqtt.Message) {
	msg := Message{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...)}
	select {
	case l.inbox <- msg:
	default:
		if n := l.dropped.Add(1); n == 1 || n%100 == 0 {
			l.log.Warn("mqtt inbox full: message dropped", "topic", msg.Topic, "dropped", n)
		}
	}
}

func (l *Link) setDown(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client != nil {
		l.client.Disconnect(0)
		l.client = nil
	}
	if l.state.Connected || l.state.Since.IsZero() {
		l.state.Since = time.Now()
	}
	l.state.Connected = false
	if err != nil {
		l.state.LastError = err.Error()
	}
}

func (l *Link) disconnect() {
	l.mu.Lock()
	c := l.client
	l.client = nil
	l.state.Connected, l.state.Since = false, time.Now()
	l.mu.Unlock()
	if c != nil {
		c.Disconnect(250)
	}
}

// Publish sends one message and, for QoS 1, waits for the broker's PUBACK
// (bounded by ctx). It fails at once while the link is down.
func (l *Link) Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error {
	l.mu.Lock()
	c := l.client
	l.mu.Unlock()
	if c == nil || !c.IsConnectionOpen() {
		return ErrNotConnected
	}
	return wait(ctx, c.Publish(topic, qos, retained, payload), 30*time.Second)
}

// wait waits for a paho token without blocking past ctx or limit.
func wait(ctx context.Context, t mqtt.Token, limit time.Duration) error {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("no answer from the broker within %v", limit)
	}
}

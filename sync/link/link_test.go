package link_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"github.com/pkfreelance/seatgate/sync/brokertest"
	"github.com/pkfreelance/seatgate/sync/link"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/eclipse/paho.mqtt.golang.(*router).matchAndDispatch.func1"))
}

const anonymous = "allow_anonymous true\npersistence false\n"

// peer is a plain paho client standing in for HQ.
func peer(t *testing.T, addr string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(fmt.Sprintf("hq-%d", time.Now().UnixNano())).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("peer connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func runLink(t *testing.T, o link.Options) (*link.Link, context.CancelFunc) {
	t.Helper()
	l, err := link.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
	})
	return l, cancel
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestPublishSubscribeAndReconnect(t *testing.T) {
	b := brokertest.StartMosquitto(t, anonymous)
	var connects atomic.Int32
	l, _ := runLink(t, link.Options{
		Broker: "tcp://" + b.Addr, ClientID: "lhr-01_gw-1",
		Subscribe:  []string{"seats/v1/lhr-01/gw-1/ack"},
		OnConnect:  func(context.Context) { connects.Add(1) },
		BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
	})
	waitFor(t, "the link to connect", func() bool { return l.State().Connected && connects.Load() == 1 })

	hq := peer(t, b.Addr)
	got := make(chan string, 1)
	hq.Subscribe("seats/v1/lhr-01/gw-1/events", 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) })
	time.Sleep(100 * time.Millisecond)
	if err := l.Publish(context.Background(), "seats/v1/lhr-01/gw-1/events", 1, false, []byte("batch-1")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	select {
	case p := <-got:
		if p != "batch-1" {
			t.Errorf("HQ got %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("HQ never got the batch")
	}
	hq.Publish("seats/v1/lhr-01/gw-1/ack", 1, false, "ack-1").WaitTimeout(5 * time.Second)
	select {
	case m := <-l.Inbox():
		if m.Topic != "seats/v1/lhr-01/gw-1/ack" || string(m.Payload) != "ack-1" {
			t.Errorf("inbox got %+v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ack never reached the inbox")
	}

	// The broker crashes: the link notices, publishing fails fast, and it
	// reconnects and resubscribes when the broker is back.
	b.Kill()
	waitFor(t, "the link to notice", func() bool { return !l.State().Connected })
	if err := l.Publish(context.Background(), "seats/v1/lhr-01/gw-1/events", 1, false, []byte("x")); !errors.Is(err, link.ErrNotConnected) {
		t.Errorf("publish while down: %v, want ErrNotConnected", err)
	}
	b.Start()
	waitFor(t, "the link to reconnect", func() bool { return l.State().Connected && connects.Load() == 2 })
	if st := l.State(); st.Reconnects < 1 || st.Attempts < 2 {
		t.Errorf("state after reconnect = %+v", st)
	}
	hq2 := peer(t, b.Addr)
	hq2.Publish("seats/v1/lhr-01/gw-1/ack", 1, false, "ack-2").WaitTimeout(5 * time.Second)
	select {
	case m := <-l.Inbox():
		if string(m.Payload) != "ack-2" {
			t.Errorf("inbox after reconnect got %q", m.Payload)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("subscription not restored after reconnect")
	}
}

// TestFullInboxNeverBlocks: a gateway that stops reading its inbox loses
// messages (counted), never its connection.
func TestFullInboxNeverBlocks(t *testing.T) {
	b := brokertest.StartMosquitto(t, anonymous)
	l, _ := runLink(t, link.Options{Broker: "tcp://" + b.Addr, ClientID: "lhr-01_gw-2", Inbox: 4,
		Subscribe: []string{"seats/v1/lhr-01/journal"}})
	waitFor(t, "connect", func() bool { return l.State().Connected })
	hq := peer(t, b.Addr)
	for i := range 50 {
		hq.Publish("seats/v1/lhr-01/journal", 1, false, fmt.Sprint(i)).WaitTimeout(5 * time.Second)
	}
	waitFor(t, "drops to be counted", func() bool { return l.State().Dropped >= 40 })
	if err := l.Publish(context.Background(), "seats/v1/lhr-01/gw-2/health", 1, false, []byte("ok")); err != nil {
		t.Errorf("publish with a full inbox: %v", err)
	}
}

func TestBrokerDownAtStart(t *testing.T) {
	l, _ := runLink(t, link.Options{Broker: "tcp://127.0.0.1:1", ClientID: "lhr-01_gw-3",
		BackoffMin: 20 * time.Millisecond, BackoffMax: 40 * time.Millisecond, ConnectTimeout: time.Second})
	waitFor(t, "a few attempts", func() bool { return l.State().Attempts >= 3 })
	if st := l.State(); st.Connected || st.LastError == "" {
		t.Errorf("state = %+v, want down with an error", st)
	}
}

package broker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pkfreelance/seatgate/hq/broker"
)

// TestCluster: three embedded nodes form a JetStream cluster; a stream
// with three replicas keeps its messages and accepts new ones while one
// node is down; MQTT works on any node and reaches NATS clients on others.
func TestCluster(t *testing.T) {
	f := newFixture(t)
	o := brokerOptions(t, f)
	start := time.Now()
	nodes, err := broker.StartCluster(3, t.TempDir(), o)
	if err != nil {
		t.Fatalf("StartCluster: %v", err)
	}
	t.Logf("cluster up in %v", time.Since(start))
	t.Cleanup(func() {
		start := time.Now()
		for _, n := range nodes {
			n.Shutdown()
		}
		for _, n := range nodes {
			n.WaitForShutdown()
		}
		t.Logf("cluster down in %v", time.Since(start))
	})
	for i, n := range nodes {
		if want := fmt.Sprintf("seathq-%d", i+1); n.Name() != want {
			t.Errorf("node %d name: got %q, want %q", i, n.Name(), want)
		}
		if n.ClusterAddr() == "" {
			t.Errorf("node %s has no cluster address", n.Name())
		}
	}

	// Client URLs of all nodes, so the connection can fail over.
	urls := make([]string, len(nodes))
	for i, n := range nodes {
		urls[i] = n.ClientURL()
	}
	nc, err := nats.Connect(strings.Join(urls, ","), nats.UserInfo(hqUser, hqPassword), nats.Timeout(opTimeout),
		nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := nc.JetStream(nats.MaxWait(opTimeout))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("JetStream has a meta leader", func(t *testing.T) {
		info, err := js.AccountInfo()
		if err != nil {
			t.Fatalf("account info: %v", err)
		}
		if info.Domain != "" {
			t.Logf("domain %q", info.Domain)
		}
	})

	// checkMQTT connects gateway A to node n with its persistent session,
	// publishes its birth (reaching HQ through whichever node HQ uses) and
	// receives an ack from HQ. It reports whether the session was present.
	checkMQTT := func(t *testing.T, n *broker.Broker) bool {
		t.Helper()
		mc, present := mustDial(t, n.MQTTAddr(), f.gateways[gwA], dialOpts{clientID: gwA.ClientID(), persistent: true})
		defer mc.close()
		if got := mc.subscribe(t, topic(up(gwA, "ack"))); got != 1 {
			t.Fatalf("subscribe own ack on %s: granted %#x", n.Name(), got)
		}
		// Interest travels between nodes asynchronously, and a message that
		// finds no interest on its node is gone (QoS 0 towards NATS). So
		// each direction repeats until the first copy arrives.
		got := make(chan string, 100)
		sub, err := nc.Subscribe(up(gwA, "birth"), func(m *nats.Msg) { got <- string(m.Data) })
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		want := "birth via " + n.Name()
		repeatUntil(t, func() { mc.publish(t, topic(up(gwA, "birth")), 1, true, want) }, func() bool {
			select {
			case p := <-got:
				if p != want {
					t.Fatalf("HQ got %q, want %q", p, want)
				}
				return true
			case <-time.After(250 * time.Millisecond):
				return false
			}
		})
		repeatUntil(t, func() {
			if err := nc.Publish(up(gwA, "ack"), []byte("hq:ack")); err != nil {
				t.Fatal(err)
			}
		}, func() bool {
			select {
			case m := <-mc.msgs:
				if m.Topic() != topic(up(gwA, "ack")) || string(m.Payload()) != "hq:ack" {
					t.Fatalf("gateway got %s %q", m.Topic(), m.Payload())
				}
				return true
			case <-time.After(250 * time.Millisecond):
				return false
			}
		})
		return present
	}

	t.Run("MQTT on one node reaches NATS clients of the cluster", func(t *testing.T) {
		checkMQTT(t, nodes[0])
		// MQTT's own state is replicated like any stream.
		for _, name := range []string{"$MQTT_sess", "$MQTT_msgs", "$MQTT_rmsgs"} {
			si, err := js.StreamInfo(name)
			if err != nil {
				t.Fatalf("stream %s: %v", name, err)
			}
			if si.Config.Replicas != 3 {
				t.Errorf("stream %s: %d replicas, want 3", name, si.Config.Replicas)
			}
		}
	})

	const stream = "EVENTS"
	var victim *broker.Broker
	t.Run("a replicated stream survives the loss of one node", func(t *testing.T) {
		si, err := js.AddStream(&nats.StreamConfig{Name: stream, Subjects: []string{"seats.v1.*.*.events"}, Replicas: 3, Storage: nats.FileStorage})
		if err != nil {
			t.Fatalf("add stream: %v", err)
		}
		if si.Config.Replicas != 3 {
			t.Fatalf("replicas: got %d, want 3", si.Config.Replicas)
		}
		for i := 1; i <= 10; i++ {
			if _, err := js.Publish(up(gwA, "events"), []byte(fmt.Sprint(i))); err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
		}
		// Stop the node that leads the stream, the hardest case.
		si, err = js.StreamInfo(stream)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			if si.Cluster != nil && n.Name() == si.Cluster.Leader {
				victim = n
			}
		}
		if victim == nil {
			t.Fatalf("stream leader %v is none of the nodes", si.Cluster)
		}
		t.Logf("shutting down %s, leader of %s", victim.Name(), stream)
		victim.Shutdown()
		victim.WaitForShutdown()

		// A new leader takes over; writes and reads go on with 2 of 3.
		deadline := time.Now().Add(20 * time.Second)
		var lastErr error
		for time.Now().Before(deadline) {
			if _, lastErr = js.Publish(up(gwA, "events"), []byte("11")); lastErr == nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if lastErr != nil {
			t.Fatalf("publish after losing %s: %v", victim.Name(), lastErr)
		}
		si, err = js.StreamInfo(stream)
		if err != nil {
			t.Fatal(err)
		}
		if si.State.Msgs != 11 {
			t.Errorf("messages: got %d, want 11", si.State.Msgs)
		}
		if si.Cluster == nil || si.Cluster.Leader == "" || si.Cluster.Leader == victim.Name() {
			t.Errorf("stream leader after failover: %+v", si.Cluster)
		}
		sub, err := js.SubscribeSync(up(gwA, "events"), nats.BindStream(stream), nats.DeliverAll(), nats.AckNone())
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		for i := 1; i <= 11; i++ {
			m, err := sub.NextMsg(waitMsg)
			if err != nil {
				t.Fatalf("read message %d: %v", i, err)
			}
			if got := string(m.Data); got != fmt.Sprint(i) {
				t.Fatalf("message %d: got %q", i, got)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := broker.WaitMetaLeader(ctx, nodes); err != nil {
			t.Errorf("meta leader among the remaining nodes: %v", err)
		}
	})

	t.Run("an MQTT session survives the loss of one node", func(t *testing.T) {
		if victim == nil {
			t.Skip("no node was shut down")
		}
		for _, n := range nodes {
			if n != victim {
				if !checkMQTT(t, n) {
					t.Errorf("session of %s on %s: not present after losing %s", gwA.ClientID(), n.Name(), victim.Name())
				}
				return
			}
		}
	})
}

// repeatUntil calls do and then done until done reports true, for at most
// waitMsg.
func repeatUntil(t *testing.T, do func(), done func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitMsg)
	for {
		do()
		if done() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing arrived after %v of retries", waitMsg)
		}
	}
}

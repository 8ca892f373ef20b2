package broker_test

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/hq/broker"
)

// hqSide is HQ's end of a broker under test: a NATS connection (HQ NATS)
// or an MQTT client with the seathq service certificate (Mosquitto).
// Subjects are in NATS form (seats.v1.lhr-01.gw-1.events) for both.
type hqSide interface {
	// receiveAll returns every message published under seats.v1.> from
	// now on, except HQ's own (payloads starting with "hq:").
	receiveAll(t *testing.T) <-chan hqMsg
	// publish sends payload on subject; payload must start with "hq:".
	publish(t *testing.T, subject, payload string)
}

type hqMsg struct{ subject, payload string }

// brokerDiffs are the documented differences between the brokers.
type brokerDiffs struct {
	// ownDownlinkDenied: a gateway's publish on its own ack and journal
	// subjects is dropped (NATS deny); Mosquitto cannot deny write alone.
	ownDownlinkDenied bool
	// unenrolledRefused: a valid certificate of a gateway that is not in
	// the broker's list is refused at connect (NATS: no such user);
	// Mosquitto lets it connect with no rights at all.
	unenrolledRefused bool
	// subscribeRefused: a SUBSCRIBE outside the client's rights gets
	// 0x80 in the SUBACK (NATS). Mosquitto's acl_file grants every
	// subscription and checks read access on each message it would send,
	// so nothing is delivered either way.
	subscribeRefused bool
}

// subscribeForbidden subscribes to a filter outside c's rights: the
// broker must refuse it where it can; delivery is checked by the caller.
func subscribeForbidden(t *testing.T, c *mqttClient, filter string, diffs brokerDiffs) {
	t.Helper()
	got := c.subscribe(t, filter)
	if diffs.subscribeRefused && got != 0x80 {
		t.Errorf("subscribe %s: granted QoS %#x, want refusal 0x80", filter, got)
	}
}

func topic(subject string) string { return broker.SubjectToTopic(subject) }

func up(g broker.GatewayIdentity, leaf string) string {
	return "seats.v1." + g.Centre + "." + g.Gateway + "." + leaf
}

func centreJournal(g broker.GatewayIdentity) string { return "seats.v1." + g.Centre + ".journal" }

// checkGatewayRights runs the publish/subscribe/ACL specification of
// docs/protocol.md against a running broker.
func checkGatewayRights(t *testing.T, f *fixture, addr string, hq hqSide, diffs brokerDiffs) {
	all := hq.receiveAll(t)
	expectHQ := func(t *testing.T, subject, payload string) {
		t.Helper()
		select {
		case m := <-all:
			if m.subject != subject || m.payload != payload {
				t.Fatalf("HQ received %s %q, want %s %q", m.subject, m.payload, subject, payload)
			}
		case <-time.After(waitMsg):
			t.Fatalf("HQ received nothing after %v, want %s %q", waitMsg, subject, payload)
		}
	}
	expectHQQuiet := func(t *testing.T) {
		t.Helper()
		select {
		case m := <-all:
			t.Fatalf("HQ received %s %q, want nothing", m.subject, m.payload)
		case <-time.After(quietTime):
		}
	}

	a := mustConnect(t, addr, f.gateways[gwA])

	t.Run("uplink reaches HQ", func(t *testing.T) {
		a.publish(t, topic(up(gwA, "events")), 1, false, `{"v":1,"first":1}`)
		expectHQ(t, up(gwA, "events"), `{"v":1,"first":1}`)
		a.publish(t, topic(up(gwA, "health")), 0, false, "health")
		expectHQ(t, up(gwA, "health"), "health")
		a.publish(t, topic(up(gwA, "status")), 1, true, "online") // retained
		expectHQ(t, up(gwA, "status"), "online")
		a.publish(t, topic(up(gwA, "journal.want")), 1, false, "want")
		expectHQ(t, up(gwA, "journal.want"), "want")
	})

	t.Run("downlink reaches the gateway", func(t *testing.T) {
		for _, s := range []string{up(gwA, "ack"), up(gwA, "journal"), centreJournal(gwA)} {
			if got := a.subscribe(t, topic(s)); got != 1 {
				t.Fatalf("subscribe %s: granted QoS %#x, want 1", topic(s), got)
			}
		}
		for _, s := range []string{up(gwA, "ack"), up(gwA, "journal"), centreJournal(gwA)} {
			hq.publish(t, s, "hq:"+s)
			a.expect(t, topic(s), "hq:"+s)
		}
	})

	t.Run("cannot publish outside its uplink", func(t *testing.T) {
		forbidden := []string{
			up(gwB, "events"),              // another centre's gateway
			up(gwC, "events"),              // a gateway of its own centre
			up(gwB, "ack"),                 // another gateway's downlink
			centreJournal(gwA),             // its centre's journal, which HQ writes
			centreJournal(gwB),             //
			"seats.v1.lhr-01.gw-10.events", // a gateway whose ID extends its own
			"seats.v1.lhr-01",              // a parent of its uplink
			"other.topic",                  // outside the protocol
		}
		if diffs.ownDownlinkDenied {
			forbidden = append(forbidden, up(gwA, "ack"), up(gwA, "journal"))
		}
		for _, s := range forbidden {
			// The broker acknowledges and drops: MQTT 3.1.1 has no way to
			// refuse a PUBLISH.
			a.publish(t, topic(s), 1, false, "forged "+s)
		}
		// Same connection, so a forgery would arrive before this.
		a.publish(t, topic(up(gwA, "events")), 1, false, "sentinel")
		expectHQ(t, up(gwA, "events"), "sentinel")
		expectHQQuiet(t)
		a.expectNothing(t) // nothing forged reached its own downlink either
	})

	t.Run("cannot subscribe outside its downlink", func(t *testing.T) {
		// B leaves a retained status, which a subscription must not reveal.
		b := mustConnect(t, addr, f.gateways[gwB])
		b.publish(t, topic(up(gwB, "status")), 1, true, "b online")
		expectHQ(t, up(gwB, "status"), "b online")

		forbidden := []string{
			up(gwB, "ack"), up(gwB, "journal"), centreJournal(gwB), // another centre
			up(gwC, "ack"), up(gwC, "journal"), // a sibling in its own centre
			up(gwB, "events"), up(gwB, "status"), up(gwA, "events"), // uplinks, its own included
			"seats.v1.>", "seats.v1.lhr-01.*.ack", "seats.v1.*.journal", ">", "*.v1.lhr-01.gw-1.ack",
			up(gwA, ">"), // a wildcard, even one over its own topics
		}
		for _, s := range forbidden {
			subscribeForbidden(t, a, topic(s), diffs)
		}
		for _, s := range []string{up(gwB, "ack"), up(gwB, "journal"), centreJournal(gwB), up(gwC, "ack"), up(gwC, "journal")} {
			hq.publish(t, s, "hq:"+s)
		}
		b.publish(t, topic(up(gwB, "events")), 1, false, "b events")
		expectHQ(t, up(gwB, "events"), "b events")
		hq.publish(t, up(gwA, "ack"), "hq:sentinel")
		a.expectOnly(t, topic(up(gwA, "ack")), "hq:sentinel")
	})

	t.Run("other gateways have their own rights", func(t *testing.T) {
		b := mustConnect(t, addr, f.gateways[gwB])
		c := mustConnect(t, addr, f.gateways[gwC])
		if got := b.subscribe(t, topic(up(gwB, "ack"))); got != 1 {
			t.Fatalf("B subscribe own ack: granted %#x, want 1", got)
		}
		if got := c.subscribe(t, topic(centreJournal(gwC))); got != 1 {
			t.Fatalf("C subscribe centre journal: granted %#x, want 1", got)
		}
		// The centre journal reaches every gateway of the centre, and
		// only those.
		hq.publish(t, centreJournal(gwA), "hq:rev 8")
		a.expect(t, topic(centreJournal(gwA)), "hq:rev 8")
		c.expect(t, topic(centreJournal(gwC)), "hq:rev 8")
		hq.publish(t, up(gwB, "ack"), "hq:upto 5")
		b.expect(t, topic(up(gwB, "ack")), "hq:upto 5")
		b.expectNothing(t)
		b.publish(t, topic(up(gwB, "events")), 1, false, "b events")
		expectHQ(t, up(gwB, "events"), "b events")
	})

	t.Run("persistent session resumes its subscriptions", func(t *testing.T) {
		id := gwA.ClientID()
		s1, _ := mustDial(t, addr, f.gateways[gwA], dialOpts{clientID: id, persistent: true})
		if got := s1.subscribe(t, topic(up(gwA, "ack"))); got != 1 {
			t.Fatalf("subscribe: granted %#x, want 1", got)
		}
		s1.close()
		s2, present := mustDial(t, addr, f.gateways[gwA], dialOpts{clientID: id, persistent: true})
		if !present {
			t.Fatal("reconnect: session present = false, want true")
		}
		// nats-server restores the session's subscriptions just after the
		// CONNACK, while reading the CONNECT; a round trip on the
		// connection (any SUBACK) shows they are in place.
		if got := s2.subscribe(t, topic(up(gwA, "journal"))); got != 1 {
			t.Fatalf("subscribe own journal: granted %#x, want 1", got)
		}
		hq.publish(t, up(gwA, "ack"), "hq:after reconnect")
		s2.expect(t, topic(up(gwA, "ack")), "hq:after reconnect")
		// Leave no session behind for later tests.
		s2.close()
		s3, _ := mustDial(t, addr, f.gateways[gwA], dialOpts{clientID: id})
		s3.close()
	})

	t.Run("another gateway's client ID gets none of its messages", func(t *testing.T) {
		// Neither broker binds the client ID to the certificate: A can
		// take over B's session (and so disconnect B), but its rights stay
		// A's, for live and for queued messages.
		id := gwB.ClientID()
		victim, _ := mustDial(t, addr, f.gateways[gwB], dialOpts{clientID: id, persistent: true})
		if got := victim.subscribe(t, topic(up(gwB, "ack"))); got != 1 {
			t.Fatalf("B subscribe own ack: granted %#x, want 1", got)
		}
		victim.close()
		hq.publish(t, up(gwB, "ack"), "hq:queued for B")
		thief, _ := mustDial(t, addr, f.gateways[gwA], dialOpts{clientID: id, persistent: true})
		hq.publish(t, up(gwB, "ack"), "hq:live for B")
		thief.expectNothing(t)
		thief.close()
		cleanup, _ := mustDial(t, addr, f.gateways[gwB], dialOpts{clientID: id})
		cleanup.close()
	})

	t.Run("an MQTT username does not change the identity", func(t *testing.T) {
		mc, _ := mustDial(t, addr, f.gateways[gwA], dialOpts{username: hqUser})
		subscribeForbidden(t, mc, "seats/v1/#", diffs)
		if got := mc.subscribe(t, topic(up(gwA, "ack"))); got != 1 {
			t.Errorf("gateway A claiming to be %s: subscribe own ack granted %#x, want 1", hqUser, got)
		}
		hq.publish(t, up(gwB, "ack"), "hq:for B")
		hq.publish(t, up(gwA, "ack"), "hq:for A")
		mc.expectOnly(t, topic(up(gwA, "ack")), "hq:for A")
	})

	t.Run("connection refused", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			conf *tls.Config
		}{
			{"no client certificate", f.noCert},
			{"certificate from another CA with the same CN", f.rogue},
			{"expired certificate", f.expired},
		} {
			if mc, err := connectMQTT(addr, tt.conf); err == nil {
				mc.close()
				t.Errorf("%s: connected, want refusal", tt.name)
			}
		}
	})

	t.Run("unenrolled gateway", func(t *testing.T) {
		mc, err := connectMQTT(addr, f.gateways[gwUnenrolled])
		if diffs.unenrolledRefused {
			if err == nil {
				mc.close()
				t.Fatal("connected, want refusal")
			}
			return
		}
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer mc.close()
		subscribeForbidden(t, mc, topic(up(gwUnenrolled, "ack")), diffs)
		hq.publish(t, up(gwUnenrolled, "ack"), "hq:for nobody")
		mc.expectNothing(t)
		mc.publish(t, topic(up(gwUnenrolled, "events")), 1, false, "unenrolled")
		a.publish(t, topic(up(gwA, "events")), 1, false, "sentinel 2")
		expectHQ(t, up(gwA, "events"), "sentinel 2")
		expectHQQuiet(t)
	})
}

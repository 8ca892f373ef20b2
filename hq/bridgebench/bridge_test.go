package bridgebench_test

import (
	"encoding/json"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pkfreelance/seatgate/sync/brokertest"
)

// settings is a Mosquitto configuration used on both brokers of a bridge.
type settings struct {
	name string
	file string // in testdata
}

var (
	durable  = settings{"durable", "testdata/durable.conf"}
	defaults = settings{"defaults", "testdata/defaults.conf"}
)

func mosquittoConf(t testing.TB, file string, vars ...string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer(vars...).Replace(string(b))
}

// bridge is the store-and-forward alternative: an edge Mosquitto that
// bridges seats/v1/# to an HQ Mosquitto through a link that can stall,
// with a subscriber at HQ.
type bridge struct {
	Edge, HQ *brokertest.Mosquitto
	Link     *tcpLink
	Sub      *subscriber
}

// startBridge starts both brokers with s, the link between them, and the
// subscriber, and waits until a message published at the edge reaches it.
func startBridge(t testing.TB, s settings, n int) *bridge {
	t.Helper()
	conf := "allow_anonymous true\n" + mosquittoConf(t, s.file) // (brokertest keeps the current user)
	b := &bridge{HQ: brokertest.StartMosquitto(t, conf)}
	b.Sub = subscribe(t, b.HQ.Addr, n)
	b.Link = newTCPLink(t, b.HQ.Addr)
	b.Edge = brokertest.StartMosquitto(t, conf+mosquittoConf(t, "testdata/bridge.conf", "%HQ%", b.Link.Addr))

	b.drained(t)
	return b
}

// probeTopic is bridged like the events.
const probeTopic = "seats/v1/probe"

// drained returns once the bridge has carried to HQ everything the edge
// holds: it publishes a probe at the edge until one arrives. The edge
// forwards a client's queue in order, so the probe comes after whatever
// was queued before it.
func (b *bridge) drained(t testing.TB) {
	t.Helper()
	probe := newClient(t, b.Edge.Addr, "bridgebench-probe")
	defer probe.Disconnect(0)
	seen := b.Sub.probes()
	for deadline := time.Now().Add(30 * time.Second); b.Sub.probes() == seen; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the bridge did not carry a probe in 30 s; edge log:\n%s", b.Edge.Log())
		}
		probe.Publish(probeTopic, 1, false, "probe")
	}
}

// newClient connects an MQTT client with a clean session that does not
// reconnect.
func newClient(t testing.TB, addr, id string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetCleanSession(true).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("%s: connect to %s: %v", id, addr, tok.Error())
	}
	return c
}

// subscriber is HQ's side of the bridge: a QoS 1 subscription in a
// persistent session, counting the distinct events it receives.
type subscriber struct {
	c mqtt.Client

	mu       sync.Mutex
	seen     []bool // by seq
	distinct int
	last     time.Time // of the last new event
	probe    int       // probes received
}

func subscribe(t testing.TB, addr string, n int) *subscriber {
	t.Helper()
	s := &subscriber{seen: make([]bool, n+1)}
	subscribed := make(chan struct{}, 1)
	o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("seathq-sub").SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(200 * time.Millisecond).
		SetOnConnectHandler(func(c mqtt.Client) {
			c.Subscribe("seats/v1/#", 1, s.receive).Wait()
			select {
			case subscribed <- struct{}{}:
			default:
			}
		})
	s.c = mqtt.NewClient(o)
	t.Cleanup(func() { s.c.Disconnect(100) })
	if tok := s.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: connect to %s: %v", addr, tok.Error())
	}
	select {
	case <-subscribed:
	case <-time.After(10 * time.Second):
		t.Fatal("subscriber: not subscribed after 10 s")
	}
	return s
}

func (s *subscriber) receive(_ mqtt.Client, m mqtt.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Topic() == probeTopic {
		s.probe++
		return
	}
	var ev struct {
		Seq int `json:"seq"`
	}
	if json.Unmarshal(m.Payload(), &ev) != nil || ev.Seq < 1 || ev.Seq >= len(s.seen) || s.seen[ev.Seq] {
		return
	}
	s.seen[ev.Seq] = true
	s.distinct++
	s.last = time.Now()
}

func (s *subscriber) probes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.probe
}

// received reports how many distinct events arrived, and when the last
// new one did.
func (s *subscriber) received() (int, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.distinct, s.last
}

// has reports whether event seq arrived.
func (s *subscriber) has(seq int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[seq]
}

// tcpLink is the network between the edge and HQ: a TCP forwarder that
// can be stalled, as a congested or dead uplink is: it takes connections
// and bytes but delivers nothing until it is released.
type tcpLink struct {
	Addr string
	to   string
	ln   net.Listener
	wg   sync.WaitGroup

	mu    sync.Mutex
	open  chan struct{} // closed while bytes flow
	conns map[net.Conn]bool
}

func newTCPLink(t testing.TB, to string) *tcpLink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &tcpLink{Addr: ln.Addr().String(), to: to, ln: ln, open: make(chan struct{}), conns: map[net.Conn]bool{}}
	close(l.open)
	l.wg.Go(l.accept)
	t.Cleanup(l.close)
	return l
}

func (l *tcpLink) accept() {
	for {
		in, err := l.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", l.to)
		if err != nil {
			in.Close()
			continue
		}
		l.mu.Lock()
		l.conns[in], l.conns[out] = true, true
		l.mu.Unlock()
		l.wg.Go(func() { l.pipe(out, in) })
		l.wg.Go(func() { l.pipe(in, out) })
	}
}

// pipe copies src to dst, holding each chunk while the link is stalled.
func (l *tcpLink) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			l.mu.Lock()
			open := l.open
			l.mu.Unlock()
			<-open
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Stall stops delivering bytes in both directions.
func (l *tcpLink) Stall() {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.open:
		l.open = make(chan struct{})
	default:
	}
}

// Release delivers again, what was held first.
func (l *tcpLink) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.open:
	default:
		close(l.open)
	}
}

func (l *tcpLink) close() {
	l.ln.Close()
	l.Release()
	l.mu.Lock()
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

// publisher is an application at the gateway handing its events to the
// edge broker: QoS 1, each event one message. PUBACKs are counted per
// event: a PUBACKed event is one the application has forgotten.
type publisher struct {
	c      mqtt.Client
	tokens chan pending
	done   chan struct{}

	mu    sync.Mutex
	acked []bool // by seq
	count int
	reach map[int]chan struct{} // closed when count reaches the key
}

type pending struct {
	seq int
	tok mqtt.Token
}

func newPublisher(t testing.TB, addr string, n int) *publisher {
	t.Helper()
	p := &publisher{c: newClient(t, addr, "gw-app"), tokens: make(chan pending, n), done: make(chan struct{}),
		acked: make([]bool, n+1), reach: map[int]chan struct{}{}}
	go p.track()
	t.Cleanup(func() { p.c.Disconnect(0); p.close() })
	return p
}

// track records PUBACKs in publication order. paho fails a message's
// token when the connection is lost before its PUBACK.
func (p *publisher) track() {
	defer close(p.done)
	for m := range p.tokens {
		if !m.tok.WaitTimeout(30*time.Second) || m.tok.Error() != nil {
			continue
		}
		p.mu.Lock()
		p.acked[m.seq] = true
		p.count++
		if ch, ok := p.reach[p.count]; ok {
			close(ch)
			delete(p.reach, p.count)
		}
		p.mu.Unlock()
	}
}

// publish sends event seq with payload; its PUBACK is tracked.
func (p *publisher) publish(topic string, seq int, payload []byte) {
	p.tokens <- pending{seq, p.c.Publish(topic, 1, false, payload)}
}

// reached is closed once n events have been PUBACKed.
func (p *publisher) reached(n int) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch := make(chan struct{})
	if p.count >= n {
		close(ch)
	} else {
		p.reach[n] = ch
	}
	return ch
}

// close stops tracking after the tokens published so far and returns
// which events were PUBACKed, by seq.
func (p *publisher) close() []bool {
	select {
	case <-p.done:
	default:
		close(p.tokens)
		<-p.done
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acked
}

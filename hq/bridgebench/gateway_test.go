package bridgebench_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/link"
	"github.com/pkfreelance/seatgate/sync/outbox"
	"github.com/pkfreelance/seatgate/sync/wire"
)

var (
	topics = wire.Topics{Centre: "lhr-01", Gateway: "gw-1"}
	// t0 is the first tap; tap i is i seconds later.
	t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.FixedZone("PKT", 5*3600))
)

// deskCount members each own a card and tap at their own desk, so that
// taps alternate check-in and check-out: events like a centre's.
const deskCount = 20

func reader(i int) string  { return fmt.Sprintf("desk-%02d", i%deskCount) }
func cardUID(i int) string { return fmt.Sprintf("04A1B2C3D4E5%02X", i%deskCount) }

// seedStore gives a new store its seats and an HQ membership.
func seedStore(s *store.Store) error {
	seats := make([]access.Seat, deskCount)
	m := store.Membership{Centre: topics.Centre, Revision: 1, GeneratedAt: t0,
		Plans: []access.Plan{{ID: "open", Name: "Open access", PricePKR: 3500}}}
	for i := range deskCount {
		seats[i] = access.Seat{ID: fmt.Sprintf("A-%02d", i), Zone: "A", Reader: reader(i)}
		id := fmt.Sprintf("m-%02d", i)
		m.Members = append(m.Members, access.Member{ID: id, Name: "Freelancer " + id, Status: access.StatusActive,
			PlanID: "open", ValidFrom: access.Date{Year: 2026, Month: 1, Day: 1},
			ValidUntil: access.Date{Year: 2026, Month: 12, Day: 31}, Seats: access.SeatRule{Kind: access.SeatAny}})
		m.Cards = append(m.Cards, access.Card{UID: cardUID(i), MemberID: id})
	}
	if err := s.SetSeats(seats); err != nil {
		return err
	}
	return s.ReplaceMembership(m)
}

// tap commits tap number i (from 0) as a desk does: when Tap returns, the
// event is committed (and fsynced unless the store was opened NoSync) and
// the desk shows its answer.
func tap(s *store.Store, i int) (store.Event, error) {
	when := t0.Add(time.Duration(i) * time.Second)
	_, ev, err := s.Tap(access.Tap{Reader: reader(i), UID: cardUID(i), At: when}, when)
	if err != nil {
		return store.Event{}, fmt.Errorf("tap %d: %w", i, err)
	}
	return ev, nil
}

// watchedLog is the gateway's store with a hook on every watermark HQ
// acknowledges.
type watchedLog struct {
	*store.Store
	delivered func(upto uint64)
}

func (l watchedLog) MarkDelivered(upto uint64) error {
	if err := l.Store.MarkDelivered(upto); err != nil {
		return err
	}
	l.delivered(upto)
	return nil
}

// drain is a gateway's outbox drain as the seatgate daemon wires it
// (cmd/seatgate/internal/daemon/hqlink.go), reduced to the drain: the MQTT
// link, the Drainer, and the loop that hands the Drainer HQ's acks.
type drain struct {
	Log    outbox.Log
	Broker string // tcp://host:port
	Key    ed25519.PrivateKey
	HQKey  ed25519.PublicKey
	// Options: BatchSize, Rate and Window as wanted (zero: the Drainer's
	// defaults); Topics, Boot and the keys are set by start.
	Options outbox.Options
	// Rejected is called with every ack the Drainer refuses.
	Rejected func(error)
}

// start runs the drain until ctx is done; wg waits for its goroutines.
// Notify the returned Drainer of every event committed.
func (g drain) start(ctx context.Context, wg *sync.WaitGroup, boot uint64) (*outbox.Drainer, error) {
	o := g.Options
	o.Topics, o.Boot, o.Key, o.HQKey = topics, boot, g.Key, g.HQKey
	var d *outbox.Drainer
	l, err := link.New(link.Options{Broker: g.Broker, ClientID: topics.Centre + "_" + topics.Gateway,
		Subscribe: []string{topics.Ack()}, OnConnect: func(context.Context) { d.Connected() },
		BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second})
	if err != nil {
		return nil, err
	}
	d = outbox.New(g.Log, l, o)
	wg.Go(func() { l.Run(ctx) })
	wg.Go(func() { d.Run(ctx) })
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-l.Inbox():
				if err := d.HandleAck(m.Payload); err != nil && g.Rejected != nil {
					g.Rejected(err)
				}
			}
		}
	})
	return d, nil
}

// Drain profiles: the gateway as configured by default, and at the
// configuration's limits (hq.batch_size 900, hq.batches_per_second 1000).
// The window is the Drainer's default (1,000 events) in both, as in the
// daemon, which does not set it.
var (
	gatewayDefaults = outbox.Options{BatchSize: 100, Rate: 20}
	gatewayMaximum  = outbox.Options{BatchSize: 900, Rate: 1000}
)

// buildLog creates a store at path holding n committed taps and returns
// their events. The store is closed again.
func buildLog(t testing.TB, path string, n int) []store.Event {
	t.Helper()
	s, err := store.Open(path, store.Options{NoSync: true}) // fsync only at Close: this is preparation
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := seedStore(s); err != nil {
		t.Fatal(err)
	}
	evs := make([]store.Event, n)
	for i := range n {
		ev, err := tap(s, i)
		if err != nil {
			t.Fatal(err)
		}
		evs[i] = ev
	}
	if last, err := s.LastSeq(); err != nil || last != uint64(n) {
		t.Fatalf("%d taps logged %d events (%v), want one each", n, last, err)
	}
	return evs
}

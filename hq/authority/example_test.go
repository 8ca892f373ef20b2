package authority_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/hq/authority"
	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/pki"
)

// HQ adds a plan and a member with a card to a centre; each change is the
// centre's next revision, signed and sent to its gateways. Run (not shown)
// answers gateways that ask to catch up.
func Example() {
	dir, err := os.MkdirTemp("", "seathq-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	b, err := startBroker(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer b.WaitForShutdown()
	defer b.Shutdown()
	nc, err := nats.Connect(b.ClientURL(), nats.UserInfo("seathq", "change-me"))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}

	_, hqKey, err := ed25519.GenerateKey(nil) // in production: HQ's membership key, pinned by every gateway
	if err != nil {
		log.Fatal(err)
	}
	a, err := authority.New(js, nc, hqKey, authority.Options{})
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	day := access.Plan{ID: "day", Name: "Day shift", Windows: []access.Window{{Start: access.Clock(9, 0), End: access.Clock(18, 0)}}, PricePKR: 3500}
	ayesha := access.Member{ID: "m-001", Name: "Ayesha Khan", Status: access.StatusActive, PlanID: "day",
		ValidFrom: access.Date{Year: 2026, Month: 11, Day: 1}, ValidUntil: access.Date{Year: 2026, Month: 11, Day: 30},
		Seats: access.SeatRule{Kind: access.SeatAny}}
	if _, err := a.PutPlan(ctx, "lhr-01", day); err != nil {
		log.Fatal(err)
	}
	if _, err := a.PutMember(ctx, "lhr-01", ayesha); err != nil {
		log.Fatal(err)
	}
	rev, err := a.PutCard(ctx, "lhr-01", access.Card{UID: "04:a1:b2:c3", MemberID: "m-001"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("revision", rev)

	_, err = a.PutCard(ctx, "lhr-01", access.Card{UID: "04A1B2C3", MemberID: "m-002"})
	fmt.Println(err)

	m, err := a.Snapshot(ctx, "lhr-01")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("revision %d: %d plan, %d member, card %s\n", m.Revision, len(m.Plans), len(m.Members), m.Cards[0].UID)
	// Output:
	// revision 3
	// lhr-01: put card "04A1B2C3": member "m-002": not found
	// revision 3: 1 plan, 1 member, card 04A1B2C3
}

func startBroker(dir string) (*broker.Broker, error) {
	ca, err := pki.NewCA(filepath.Join(dir, "ca"))
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		return nil, err
	}
	tlsConf, err := pki.ServerTLSConfig(certPEM, keyPEM, ca.CertPool())
	if err != nil {
		return nil, err
	}
	return broker.Start(broker.Options{
		DataDir: filepath.Join(dir, "nats"), MQTTHost: "127.0.0.1", TLS: tlsConf,
		HQUser: "seathq", HQPassword: "change-me",
	})
}

package broker_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/pki"
)

// Start an embedded HQ broker for one enrolled gateway; seathq connects
// over NATS, the gateway over MQTT with its certificate.
func ExampleStart() {
	dir, err := os.MkdirTemp("", "seathq-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ca, err := pki.NewCA(filepath.Join(dir, "ca"))
	if err != nil {
		log.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueServer([]string{"localhost", "127.0.0.1"}, 365*24*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	tlsConf, err := pki.ServerTLSConfig(certPEM, keyPEM, ca.CertPool())
	if err != nil {
		log.Fatal(err)
	}
	b, err := broker.Start(broker.Options{
		DataDir:    filepath.Join(dir, "nats"),
		MQTTHost:   "127.0.0.1",
		TLS:        tlsConf,
		Gateways:   []broker.GatewayIdentity{{Centre: "lhr-01", Gateway: "gw-1"}},
		HQUser:     "seathq",
		HQPassword: "change-me",
	})
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
	// Gateways dial b.MQTTAddr() with tls://, a certificate from
	// ca.IssueGateway and client ID GatewayIdentity.ClientID().
	fmt.Println("HQ connected:", nc.IsConnected())
	// Output: HQ connected: true
}

func ExampleWriteMosquittoACL() {
	gws := []broker.GatewayIdentity{{Centre: "lhr-01", Gateway: "gw-1"}}
	if err := broker.WriteMosquittoACL(os.Stdout, nil, gws); err != nil {
		log.Fatal(err)
	}
	// Output:
	// # No topic line comes before the first user line: anonymous clients get
	// # nothing. No pattern lines: they would apply to every user.
	//
	// # Gateway lhr-01/gw-1: its uplink, its downlink and its centre's journal.
	// user lhr-01.gw-1
	// topic write seats/v1/lhr-01/gw-1/#
	// topic read seats/v1/lhr-01/gw-1/ack
	// topic read seats/v1/lhr-01/gw-1/journal
	// topic read seats/v1/lhr-01/gw-1/firmware
	// topic read seats/v1/lhr-01/journal
}

func ExampleGatewayIdentity_Rights() {
	g := broker.GatewayIdentity{Centre: "lhr-01", Gateway: "gw-1"}
	r := g.Rights()
	fmt.Println("user:     ", g.NATSUser())
	fmt.Println("publish:  ", r.Publish, "except", r.PublishDeny)
	fmt.Println("subscribe:", r.Subscribe)
	// Output:
	// user:      CN=lhr-01.gw-1
	// publish:   [seats.v1.lhr-01.gw-1.>] except [seats.v1.lhr-01.gw-1.ack seats.v1.lhr-01.gw-1.journal seats.v1.lhr-01.gw-1.firmware]
	// subscribe: [seats.v1.lhr-01.gw-1.ack seats.v1.lhr-01.gw-1.journal seats.v1.lhr-01.gw-1.firmware seats.v1.lhr-01.journal]
}

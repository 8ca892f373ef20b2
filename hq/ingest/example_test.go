package ingest_test

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
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/broker"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/pki"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// An Ingester on an embedded HQ broker stores a gateway's signed batch and
// acknowledges it. (A gateway publishes over MQTT; here the batch is put on
// the NATS subject the broker maps its topic to.)
func Example() {
	dir, err := os.MkdirTemp("", "seathq-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ca, err := pki.NewCA(filepath.Join(dir, "ca"))
	if err != nil {
		log.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueServer([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	tlsConf, err := pki.ServerTLSConfig(certPEM, keyPEM, ca.CertPool())
	if err != nil {
		log.Fatal(err)
	}
	b, err := broker.Start(broker.Options{DataDir: filepath.Join(dir, "nats"), MQTTHost: "127.0.0.1", TLS: tlsConf,
		HQUser: "seathq", HQPassword: "change-me"})
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

	// The enrolled gateway's device key, and HQ's signing key.
	devicePub, deviceKey, _ := ed25519.GenerateKey(nil)
	_, hqKey, _ := ed25519.GenerateKey(nil)
	reg := ingest.StaticRegistry{{Centre: "lhr-01", Gateway: "gw-1"}: devicePub}

	in, err := ingest.New(js, nc, reg, hqKey, ingest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- in.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-in.Ready()

	acks, err := nc.SubscribeSync("seats.v1.lhr-01.gw-1.ack")
	if err != nil {
		log.Fatal(err)
	}

	// The gateway's first two events, chained and signed.
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.FixedZone("PKT", 5*3600))
	events := []store.Event{
		{Seq: 1, Time: at, Kind: access.OutcomeCheckin, Seat: "A1", Member: "m-001", ClockTrusted: true},
		{Seq: 2, Time: at.Add(time.Hour), Kind: access.OutcomeCheckout, Seat: "A1", Member: "m-001", ClockTrusted: true, Since: at},
	}
	prev := wire.GenesisHash
	for i := range events {
		events[i].Hash, _ = wire.EventHash(prev, events[i])
		prev = events[i].Hash
	}
	batch := wire.EventBatch{V: wire.Version, Centre: "lhr-01", Gateway: "gw-1", Boot: 1, First: 1, Last: 2,
		PrevHash: wire.GenesisHash, Events: events}
	if err := wire.Sign(deviceKey, &batch); err != nil {
		log.Fatal(err)
	}
	payload, err := wire.Encode(&batch)
	if err != nil {
		log.Fatal(err)
	}
	if err := nc.Publish("seats.v1.lhr-01.gw-1.events", payload); err != nil {
		log.Fatal(err)
	}

	m, err := acks.NextMsg(10 * time.Second)
	if err != nil {
		log.Fatal(err)
	}
	ack, err := wire.DecodeAck(m.Data)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("acknowledged up to", ack.Upto, "signed by HQ:", wire.Verify(hqKey.Public().(ed25519.PublicKey), &ack) == nil)
	kv, err := js.KeyValue(ctx, ingest.ChainsBucket)
	if err != nil {
		log.Fatal(err)
	}
	head, _, err := ingest.LoadHead(ctx, kv, "lhr-01", "gw-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("chain head:", head.Seq)
	// Output:
	// acknowledged up to 2 signed by HQ: true
	// chain head: 2
}

package ledger_test

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
	"github.com/pkfreelance/seatgate/hq/ledger"
	"github.com/pkfreelance/seatgate/hq/pki"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// A night shift, 20:00 to 06:00, stored by ingest and folded by the ledger:
// four hours on the day it began, six on the next.
func ExampleLedger_Query() {
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

	devicePub, deviceKey, _ := ed25519.GenerateKey(nil)
	_, hqKey, _ := ed25519.GenerateKey(nil)
	in, err := ingest.New(js, nc, ingest.StaticRegistry{{Centre: "lhr-01", Gateway: "gw-1"}: devicePub}, hqKey, ingest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	l, err := ledger.New(js, ledger.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- in.Run(ctx) }()
	go func() { done <- l.Run(ctx) }()
	defer func() { cancel(); <-done; <-done }()
	<-in.Ready()

	// The gateway's log: a check-in at 20:00 and the check-out at 06:00.
	pkt := time.FixedZone("PKT", 5*3600)
	in20 := time.Date(2026, 11, 26, 20, 0, 0, 0, pkt)
	events := []store.Event{
		{Seq: 1, Time: in20, Kind: access.OutcomeCheckin, Seat: "A1", Member: "m-001", ClockTrusted: true},
		{Seq: 2, Time: in20.Add(10 * time.Hour), Kind: access.OutcomeCheckout, Seat: "A1", Member: "m-001",
			ClockTrusted: true, Since: in20},
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
	payload, _ := wire.Encode(&batch)
	if err := nc.Publish("seats.v1.lhr-01.gw-1.events", payload); err != nil {
		log.Fatal(err)
	}

	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if seq, _ := l.Folded(ctx, "lhr-01", "gw-1"); seq == 2 {
			break
		}
		if time.Now().After(deadline) {
			log.Fatal("not folded")
		}
	}
	from, _ := access.ParseDate("2026-11-26")
	days, err := l.Query(ctx, "lhr-01", from, from.AddDays(1))
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range days {
		fmt.Printf("%s %.1f h verified=%v\n", d.Date, d.Hours(), d.Verified)
	}
	// Output:
	// 2026-11-26 4.0 h verified=true
	// 2026-11-27 6.0 h verified=true
}

package wire_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/pkfreelance/seatgate/sync/wire"
)

// HQ acknowledges a gateway's events; the gateway decodes the ack,
// verifies it with the HQ key it pins and checks that it is for itself.
func ExampleSign() {
	hqPriv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x02}, ed25519.SeedSize))
	hqPub := hqPriv.Public().(ed25519.PublicKey)

	// At HQ.
	a := wire.Ack{V: wire.Version, Centre: "lhr-01", Gateway: "gw-1", Boot: 7, Upto: 150}
	if err := wire.Sign(hqPriv, &a); err != nil {
		fmt.Println(err)
		return
	}
	payload, err := wire.Encode(a)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s\n", payload)

	// At the gateway, on topic seats/v1/lhr-01/gw-1/ack.
	got, err := wire.DecodeAck(payload)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := wire.Verify(hqPub, &got); err != nil {
		fmt.Println(err)
		return
	}
	if got.Centre != "lhr-01" || got.Gateway != "gw-1" {
		fmt.Println("ack for another gateway")
		return
	}
	fmt.Println("delivered up to", got.Upto)

	// Anyone who changes the ack on its way breaks the signature.
	got.Upto = 10_000
	err = wire.Verify(hqPub, &got)
	fmt.Println(errors.Is(err, wire.ErrBadSignature), err)
	// Output:
	// {"v":1,"centre":"lhr-01","gateway":"gw-1","boot":7,"upto":150,"sig":"1zkOshHYTa9bMqaCR2z58FXr8CYWpuuKAxrr9vmbcayNjkminZeUd3REYhjNRB1otfPRfkHI3v+s+qno3CVbAA=="}
	// delivered up to 150
	// true wire: verify Ack: bad signature (key 6a3803d5f059902a)
}

func ExampleTopics() {
	t, err := wire.NewTopics("lhr-01", "gw-1")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.Events())
	fmt.Println(t.Journal())
	subject, _ := wire.NATSSubject(t.Events())
	fmt.Println(subject)
	centre, gateway, kind, _ := wire.ParseTopic("seats/v1/lhr-01/gw-1/journal/want")
	fmt.Println(centre, gateway, kind)
	// Output:
	// seats/v1/lhr-01/gw-1/events
	// seats/v1/lhr-01/journal
	// seats.v1.lhr-01.gw-1.events
	// lhr-01 gw-1 journal/want
}

package broker_test

import (
	"context"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/crypto/bcrypt"

	"github.com/pkfreelance/seatgate/hq/broker"
)

// TestHQPasswordAsBcryptHash: HQPassword may be a bcrypt hash; HQ then
// logs in with the password itself, and the hash itself is refused.
func TestHQPasswordAsBcryptHash(t *testing.T) {
	f := newFixture(t)
	o := brokerOptions(t, f)
	hash, err := bcrypt.GenerateFromPassword([]byte(hqPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	o.HQPassword = string(hash)
	b := startBroker(t, o)
	connectHQ(t, b.ClientURL())
	if nc, err := nats.Connect(b.ClientURL(), nats.UserInfo(hqUser, string(hash)), nats.Timeout(opTimeout), nats.NoReconnect()); err == nil {
		nc.Close()
		t.Error("HQ with the hash as its password: connected, want refusal")
	}
}

// TestSetGatewaysDuringJetStreamReads: enrolling and removing gateways
// while HQ reads its KV buckets (JetStream direct gets) is safe under the
// race detector. A configuration reload, which SetGateways used to do,
// raced those reads in nats-server 2.15.3 (Server.opts written by
// ReloadOptions, read by the direct-get handler without its lock).
func TestSetGatewaysDuringJetStreamReads(t *testing.T) {
	f := newFixture(t)
	b := startBroker(t, brokerOptions(t, f))
	js, err := jetstream.New(connectHQ(t, b.ClientURL()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "READS"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if e, err := kv.Get(ctx, "k"); err != nil || string(e.Value()) != "v" {
				t.Errorf("KV get during SetGateways: %v", err)
				return
			}
		}
	})
	for i := range 200 {
		gws := []broker.GatewayIdentity{gwA}
		if i%2 == 0 {
			gws = append(gws, gwB)
		}
		if err := b.SetGateways(gws); err != nil {
			t.Fatalf("SetGateways: %v", err)
		}
	}
	close(stop)
	wg.Wait()
}

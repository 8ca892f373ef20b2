package ingest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// BenchmarkStore measures one batch of 500 events from publication to
// acknowledgement, on one server (R1) and on a 3-node cluster (R3).
func BenchmarkStore(b *testing.B) {
	for _, c := range []struct {
		replicas int
		sync     bool
	}{{1, false}, {1, true}, {3, false}} {
		replicas := c.replicas
		name := fmt.Sprintf("R%d", replicas)
		if c.sync {
			name += "-sync_always"
		}
		b.Run(name, func(b *testing.B) {
			p := ingesttest.NewPKI(b)
			url := ""
			if replicas == 1 {
				o := p.BrokerOptions(b)
				o.SyncAlways = c.sync
				url = ingesttest.StartBroker(b, o).ClientURL()
			} else {
				url = ingesttest.URLs(ingesttest.StartCluster(b, 3, p.BrokerOptions(b))...)
			}
			nc, js := ingesttest.Connect(b, url)
			_, hqKey := ingesttest.Key(b)
			pub, key := ingesttest.Key(b)
			topics := wire.Topics{Centre: "lhr-01", Gateway: "gw-1"}
			in, err := ingest.New(js, nc, ingest.StaticRegistry{{Centre: "lhr-01", Gateway: "gw-1"}: pub}, hqKey,
				ingest.Options{Replicas: replicas})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); in.Run(ctx) }()
			defer func() { cancel(); <-done }()
			<-in.Ready()
			acks, err := nc.SubscribeSync("seats.v1.lhr-01.gw-1.ack")
			if err != nil {
				b.Fatal(err)
			}

			const perBatch = 500
			log := &ingesttest.Log{}
			ingesttest.Sessions(log, b.N*perBatch/2, t0, 30*time.Minute, time.Minute, "A1", "A2")
			all := log.All()
			b.ResetTimer()
			for i := range b.N {
				first := i*perBatch + 1
				prev := wire.GenesisHash
				if first > 1 {
					prev = all[first-2].Hash
				}
				if err := nc.Publish("seats.v1.lhr-01.gw-1.events", ingesttest.Batch(b, key, topics, 1, prev, all[first-1:first-1+perBatch])); err != nil {
					b.Fatal(err)
				}
				waitUpto(b, acks, uint64(first-1+perBatch))
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*perBatch), "µs/event")
		})
	}
}

func waitUpto(b *testing.B, acks *nats.Subscription, upto uint64) {
	for {
		m, err := acks.NextMsg(30 * time.Second)
		if err != nil {
			b.Fatalf("ack of %d: %v", upto, err)
		}
		if a, err := wire.DecodeAck(m.Data); err == nil && a.Upto >= upto {
			return
		}
	}
}

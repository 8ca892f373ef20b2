package bridgebench_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/identity"
	"github.com/pkfreelance/seatgate/sync/outbox"
)

var (
	benchEvents = flag.Int("events", 20_000, "events in each run of BenchmarkDrainVsBridge")
	benchDrain  = flag.String("drain", "max", "BenchmarkDrainVsBridge's drain: max (the configuration's limits: "+
		"batch_size 900, batches_per_second 1000) or default (100 and 20: at most 2,000 events a second)")
)

// BenchmarkDrainVsBridge drains N committed events through our outbox and
// sends the same N through a Mosquitto bridge, in each run, and reports
// the events a second of each, their ratio (ours/bridge), and the events
// the bridge lost on the way without any crash. Sub-benchmarks are the
// bridge's settings (testdata/). Every run starts its brokers afresh:
// ns/op is a whole run, starts included; the events a second count only
// the drain and the bridge's stream.
func BenchmarkDrainVsBridge(b *testing.B) {
	n := *benchEvents
	profile := gatewayMaximum
	switch *benchDrain {
	case "max":
	case "default":
		profile = gatewayDefaults
	default:
		b.Fatalf("-drain %q: want max or default", *benchDrain)
	}
	template := filepath.Join(b.TempDir(), "template.db")
	payloads := marshalEvents(b, buildLog(b, template, n))
	for _, s := range []settings{durable, defaults} {
		b.Run("bridge="+s.name, func(b *testing.B) {
			var (
				ours, bridge time.Duration
				received     int
				runs         int
			)
			for b.Loop() {
				ours += drainOnce(b, template, n, profile)
				d, got := bridgeOnce(b, s, payloads)
				bridge += d
				received += got
				runs++
			}
			oursRate := float64(n*runs) / ours.Seconds()
			bridgeRate := float64(received) / bridge.Seconds()
			b.ReportMetric(oursRate, "ours-events/s")
			b.ReportMetric(bridgeRate, "bridge-events/s")
			b.ReportMetric(oursRate/bridgeRate, "ours/bridge")
			b.ReportMetric(float64(n*runs-received)/float64(runs), "bridge-lost/run")
		})
	}
}

// drainOnce drains a copy of the template store, n events, through the
// gateway's MQTT link, Mosquitto and HQ's Ingester, and returns how long
// it took until the store had every event marked delivered.
func drainOnce(b *testing.B, template string, n int, o outbox.Options) time.Duration {
	b.Helper()
	dir := b.TempDir()
	path := filepath.Join(dir, "seatgate.db")
	copyFile(b, template, path)
	key, err := identity.LoadOrCreate(dir)
	if err != nil {
		b.Fatal(err)
	}
	h := startHQ(b, key.Public())
	s, err := store.Open(path, store.Options{}) // fsync on, as on a gateway
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()

	done := make(chan struct{})
	var once sync.Once
	log := watchedLog{s, func(upto uint64) {
		if upto >= uint64(n) {
			once.Do(func() { close(done) })
		}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	start := time.Now()
	d := drain{Log: log, Broker: h.Broker, Key: key.Private, HQKey: h.Pub, Options: o,
		Rejected: func(err error) { b.Errorf("ack rejected: %v", err) }}
	if _, err := d.start(ctx, &wg, 1); err != nil {
		b.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		b.Fatalf("drain of %d events not done after 10 minutes", n)
	}
	return time.Since(start)
}

// bridgeOnce publishes payloads (seqs from 1) QoS 1 at a new edge broker
// as fast as it takes them, and returns how long it took from the first
// publication to the last event the HQ subscriber received, and how many
// distinct events it received.
func bridgeOnce(b *testing.B, s settings, payloads [][]byte) (time.Duration, int) {
	b.Helper()
	n := len(payloads)
	br := startBridge(b, s, n)
	p := newPublisher(b, br.Edge.Addr, n)
	start := time.Now()
	for i, pl := range payloads {
		p.publish(topicEvents, i+1, pl)
	}
	acked := p.close()
	for seq := 1; seq <= n; seq++ {
		if !acked[seq] {
			b.Fatalf("the edge did not PUBACK event %d", seq)
		}
	}
	br.drained(b)
	got, last := br.Sub.received()
	if got == 0 {
		b.Fatal("the HQ subscriber received nothing")
	}
	return last.Sub(start), got
}

func copyFile(b *testing.B, from, to string) {
	b.Helper()
	src, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		b.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		b.Fatal(fmt.Errorf("copy %s: %w", from, err))
	}
}

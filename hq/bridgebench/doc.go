// Package bridgebench compares the gateway's outbox drain with the usual
// alternative, a Mosquitto bridge doing store-and-forward, on the same
// machine in the same run. It holds only tests and a benchmark; they start
// real mosquitto processes, an embedded NATS with JetStream and HQ's real
// Ingester, and kill processes, so they live apart from the unit tests.
//
// # What is compared
//
// Ours: N events committed to a gateway store (bbolt, fsync on) are
// drained by outbox.Drainer over the gateway's MQTT link (sync/link) into
// a Mosquitto broker, from which HQ takes them into ingest.Ingester, which
// stores every event in JetStream before it signs an acknowledgement; the
// gateway then marks them delivered. The Ingester speaks NATS, so a
// stateless relay carries batches from Mosquitto to NATS and acks back (a
// batch lost on the way is not acknowledged and is sent again). The drain
// is done when the store says every event is delivered.
//
// The bridge: the same N events, one per message, are published QoS 1 by a
// client to an "edge" Mosquitto that bridges them (QoS 1, cleansession
// false; testdata/bridge.conf) to an "HQ" Mosquitto, where a subscriber
// (QoS 1, persistent session) receives them. A PUBACK from the edge is all
// the publisher ever learns. Both brokers run with one of two settings:
//
//   - durable.conf: the bridge at its most durable: persistence true,
//     autosave_interval 1, max_queued_messages 0 (no limit).
//   - defaults.conf: Debian's packaged mosquitto.conf, persistence true
//     and everything else at its default: autosave_interval 1800 (the
//     store is written every 30 minutes, and at a clean shutdown) and
//     max_queued_messages 1000 (a client's queue beyond 1,000 messages is
//     dropped without a word to the publisher, which has its PUBACK).
//
// The two do not do the same work: ours ends when HQ has stored every
// event durably and said so, signed; the bridge ends when a subscriber has
// received the messages, which HQ would still have to store. With one
// gateway, ours is bounded by the Ingester, which stores a gateway's events
// one JetStream round trip at a time (hq/ingest BenchmarkStore).
//
// # Benchmark and test
//
// BenchmarkDrainVsBridge reports events/s of each path, their ratio, and
// what the bridge lost without any crash (-events sets N, default 20,000;
// -drain=default measures the gateway's default rate limit instead of the
// configuration's maximum). TestLossUnderSIGKILL counts the events each
// path loses when the process that holds the queue is killed with SIGKILL
// in the middle of the stream: ours (this test binary run again as a
// gateway process that commits taps and drains them, killed, restarted,
// drained to the end) must lose none that it had acknowledged at the desk;
// the bridge's losses (the edge killed while its HQ link is stalled, then
// restarted; and, for comparison, the same without the kill) are logged.
//
//	go test -race -count=1 -run TestLossUnderSIGKILL -v ./hq/bridgebench
//	go test -run '^$' -bench DrainVsBridge -benchtime 3x ./hq/bridgebench
//	go test -run '^$' -bench DrainVsBridge -benchtime 1x ./hq/bridgebench -args -events 50000 -drain default
//
// Mosquitto is required (Debian package mosquitto; ./test.sh installs it):
// without it the tests fail, in CI and everywhere else, never skip.
package bridgebench

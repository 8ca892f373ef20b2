// Package fleetbench measures HQ with a fleet of simulated gateways in one
// process: thousands of real MQTT clients (TLS, a client certificate each)
// against the parts of seathq (hq/service) that gateways keep busy — the
// broker (one node with fsync on every write, seathq's default, or a
// 3-node cluster), ingest, the ledger and the fleet tracker.
//
// A simulated Gateway is the gateway's own code where it matters: its
// MQTT link (sync/link, paho), its outbox drainer (sync/outbox: signed,
// hash-chained batches, window, rate limit, resends), its device key, and
// an in-memory event log that chains events with wire.EventHash, so HQ
// verifies signatures and chains for real. It connects as the real
// gateway does (last will, three QoS 1 subscriptions, signed birth,
// status), sends a Health message every heartbeat and logs a check-in or
// check-out when Tap is called. A Fleet starts gateways (at once, or spread
// over a ramp) and taps at random gateways at a steady fleet-wide rate.
//
// # What is measured
//
//   - ingest lag: from the publication of a batch at the gateway to the
//     signed acknowledgement that covers it, received and verified at the
//     gateway. HQ acknowledges only what JetStream has stored. Also tap →
//     ack, which adds the drainer's own pacing.
//   - events stored per second, and the process's CPU use over the window
//     (getrusage user + system time over wall time, in cores). The process
//     holds HQ and every gateway, so this is an upper bound for HQ.
//   - connect time for the whole fleet, the number of attempts it took,
//     and why attempts failed (the gateways' log, counted by LogCounter).
//   - how long enrolling one more gateway (broker.SetGateways) takes with
//     the fleet connected, and the ingest lag meanwhile.
//
// The run checks that every event was stored once, verified and
// acknowledged: EVENTS holds exactly the events logged, every gateway's
// chain head at HQ is its last event, with no anomaly; the ingester
// rejected nothing; the ledger folded everything; the fleet tracker took
// every birth, status and Health message and sees every gateway online; no
// Health message was lost; no gateway reconnected.
//
// # Running it
//
// `go test ./hq/...` runs a small fleet (50 gateways, 3 s of taps) on one
// node and on a 3-node cluster, with every check. The full run is one
// command per HQ size (the package comes before the -fleet flags, which
// go test passes to the test binary):
//
//	go test -run=TestFleet/single -v -timeout=60m ./hq/fleetbench \
//	    -fleet.gateways=5000 -fleet.tap=10s -fleet.heartbeat=6s -fleet.window=30s -fleet.wait=10m
//
// and -run=TestFleet/cluster for the 3-node cluster. Flags:
//
//	-fleet.gateways  gateways (50)
//	-fleet.nodes     HQ sizes to run: "1,3" (1 = broker.Start, 3 = StartCluster(3))
//	-fleet.window    measured window (3 s)
//	-fleet.tap       mean interval between taps at one gateway (1 s)
//	-fleet.heartbeat interval between Health messages (1 s; 60 s in the field)
//	-fleet.ramp      spread first connections over this long (0: all at once,
//	                 as after an HQ restart)
//	-fleet.wait      bound on each wait: connecting, draining, folding (3 min)
//	-fleet.maxrss    stop and fail above this many MiB resident (8192)
//
// The report is logged (-v); results are kept in BENCHMARKS.md.
//
// In the field a centre of 100 seats makes a few hundred taps a day: 5,000
// centres make about 35 events a second over a 12-hour day, and 83 Health
// messages a second. -fleet.tap=10s -fleet.heartbeat=6s is 500 events
// and 833 Health messages a second for 5,000 gateways, ten to fifteen times
// that.
//
// Each gateway's TLS connection takes two file descriptors in the
// process (the client's and the broker's end), and a cluster's Raft groups
// more: the test raises RLIMIT_NOFILE (the soft limit to the hard one, and
// the hard one too where the process may) and fails if it stays below two
// per gateway. Do not run the full fleet with -race: the race detector
// allows 8,128 goroutines and a gateway has about 28 (paho's, the link's,
// the drainer's, the broker's side of its connection).
package fleetbench

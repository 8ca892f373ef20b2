//go:build race

package fleetbench_test

// raceEnabled: under the race detector the run skips enrolling a gateway
// under load. nats-server 2.15.3 reloads its options without the lock its
// JetStream direct-get handler reads them under (server.go setOpts against
// stream.go getDirectRequest), a race of nats-server's own that -race
// reports; the full runs (without -race) measure that phase.
const raceEnabled = true

package fleetbench

import (
	"fmt"
	"strings"
	"time"
)

// Report is the outcome of one fleet run.
type Report struct {
	Nodes    int // HQ broker nodes
	Gateways int

	Enrol           time.Duration // issuing every gateway's certificate and device key
	BrokerStart     time.Duration // Start or StartCluster with every gateway enrolled
	Connect         time.Duration // from the first gateway's start until every one was connected and subscribed
	ConnectCPU      float64       // cores used meanwhile
	Attempts        uint64        // connection attempts, the first ones included
	Window          time.Duration // the measured window: gateways tapping
	Taps            int           // events logged in the window
	Stored          uint64        // events HQ stored in the window
	CPU             float64       // cores used in the window (user + system time / wall time)
	Drain           time.Duration // after the window, until every event was acknowledged
	IngestLag       Latency       // batch published → its acknowledgement received, for batches of the window
	TapToAck        Latency       // event logged → its acknowledgement received
	Batches         uint64        // batches HQ handled in the window
	HealthSent      uint64        // in the window
	HealthHQ        uint64        // Health messages HQ received and decoded in the window
	Reconnects      uint64        // in the window and the drain
	LedgerBehind    time.Duration // after the drain, until the ledger had folded every event
	SetGateways     time.Duration // enrolling one more gateway with the fleet connected, on every node
	EnrolTaps       int           // events logged while enrolling
	EnrolLag        Latency       // ingest lag of the batches published while enrolling
	EnrolReconnects uint64        // reconnects while enrolling
	HeapMiB         uint64        // heap in use at the end of the window
	PeakRSSMiB      uint64        // the process's peak resident memory
	Goroutines      int           // at the end of the window
}

// Offered is the taps a second in the window.
func (r Report) Offered() float64 { return float64(r.Taps) / r.Window.Seconds() }

// Ingested is the events a second HQ stored in the window.
func (r Report) Ingested() float64 { return float64(r.Stored) / r.Window.Seconds() }

func (r Report) String() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("fleet: %d gateways, %d HQ node(s)", r.Gateways, r.Nodes)
	w("  enrol (certificates, keys)   %v", r.Enrol.Round(time.Millisecond))
	w("  broker start                 %v", r.BrokerStart.Round(time.Millisecond))
	w("  connect all                  %v  (%d attempts, %.2f cores)", r.Connect.Round(time.Millisecond), r.Attempts, r.ConnectCPU)
	w("  window                       %v: %d taps (%.0f/s offered), %d batches", r.Window.Round(time.Millisecond), r.Taps, r.Offered(), r.Batches)
	w("  ingested                     %.0f events/s", r.Ingested())
	w("  ingest lag (publish → ack)   %v", r.IngestLag)
	w("  tap → ack                    %v", r.TapToAck)
	w("  CPU                          %.2f cores (whole process: HQ and every gateway)", r.CPU)
	w("  drain after the window       %v", r.Drain.Round(time.Millisecond))
	w("  health                       %d sent, %d received at HQ", r.HealthSent, r.HealthHQ)
	w("  reconnects                   %d in the window, %d while enrolling", r.Reconnects, r.EnrolReconnects)
	w("  ledger folded all            %v after the drain", r.LedgerBehind.Round(time.Millisecond))
	w("  SetGateways (+1, connected)  %v", r.SetGateways.Round(time.Millisecond))
	w("  ingest lag meanwhile         %v", r.EnrolLag)
	w("  memory                       heap %d MiB at the end of the window, peak RSS %d MiB; %d goroutines", r.HeapMiB, r.PeakRSSMiB, r.Goroutines)
	return b.String()
}

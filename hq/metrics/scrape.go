package metrics

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/firmware/state"
	"github.com/pkfreelance/seatgate/hq/fleet"
	"github.com/pkfreelance/seatgate/hq/ingest"
	"github.com/pkfreelance/seatgate/hq/rollout"
)

// The label values exported even at 0, so that a rate or a panel sees
// every series from the start. A value a source reports beyond these (a
// reason added later) is exported too.
var (
	ingestReasons = []ingest.Reason{ingest.ReasonTooLarge, ingest.ReasonMalformed, ingest.ReasonVersion,
		ingest.ReasonInvalid, ingest.ReasonTopic, ingest.ReasonUnknownGateway, ingest.ReasonBadSignature,
		ingest.ReasonBrokenChain}
	fleetReasons = []fleet.Reason{fleet.ReasonTopic, fleet.ReasonDecode, fleet.ReasonUnknownGateway,
		fleet.ReasonBadSignature, fleet.ReasonMismatch, fleet.ReasonStale}
	gatewayStates = []string{fleet.StateOnline, fleet.StateSilent, fleet.StateOffline, fleet.StateUnknown}
	rolloutStates = []rollout.State{rollout.StateRunning, rollout.StatePaused, rollout.StateCompleted,
		rollout.StateAborted}
)

// scrape is the collector of everything Sources feed.
type scrape struct {
	s Sources

	build, batches, events, rejected, acks, ackErrors                   *prometheus.Desc
	fleetReceived, fleetRejected, fleetDropped, fleetErrors             *prometheus.Desc
	gateways, seats, occupied, depth, oldest, readers, readersOK, phase *prometheus.Desc
	rollouts                                                            *prometheus.Desc
}

func newScrape(s Sources) *scrape {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &scrape{s: s,
		build:         d("seathq_build_info", "Always 1; the version is the label.", "version"),
		batches:       d("seathq_ingest_batches_total", "Event batches handled, by result.", "result"),
		events:        d("seathq_ingest_events_stored_total", "Events stored."),
		rejected:      d("seathq_ingest_rejected_total", "Event batches refused before the chain was looked at, by reason.", "reason"),
		acks:          d("seathq_ingest_acks_total", "Acknowledgements published."),
		ackErrors:     d("seathq_ingest_ack_errors_total", "Acknowledgements that could not be published."),
		fleetReceived: d("seathq_fleet_messages_received_total", "Gateway birth, status, health and occupancy messages received."),
		fleetRejected: d("seathq_fleet_messages_rejected_total", "Gateway messages refused, by reason.", "reason"),
		fleetDropped:  d("seathq_fleet_messages_dropped_total", "Gateway messages not handled: this instance's queue was full."),
		fleetErrors:   d("seathq_fleet_errors_total", "Gateway messages whose state could not be written."),
		gateways:      d("seathq_gateways", "Gateways by state.", "state"),
		seats:         d("seathq_seats", "Seats in every centre's last occupancy report."),
		occupied:      d("seathq_seats_occupied", "Seats occupied in every centre's last occupancy report."),
		depth:         d("seathq_gateway_outbox_depth", "Events the gateways have not had acknowledged, by their last health reports."),
		oldest:        d("seathq_gateway_outbox_oldest_age_seconds", "Age now of the oldest event a gateway has not had acknowledged."),
		readers:       d("seathq_gateway_readers", "Readers configured, by the gateways' last health reports."),
		readersOK:     d("seathq_gateway_readers_ok", "Readers working, by the gateways' last health reports."),
		phase:         d("seathq_gateway_update_phase", "Gateways whose last health report is in this firmware update phase.", "phase"),
		rollouts:      d("seathq_rollouts", "Rollouts by state.", "state"),
	}
}

// Describe implements prometheus.Collector.
func (c *scrape) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.build, c.batches, c.events, c.rejected, c.acks, c.ackErrors,
		c.fleetReceived, c.fleetRejected, c.fleetDropped, c.fleetErrors, c.gateways, c.seats, c.occupied,
		c.depth, c.oldest, c.readers, c.readersOK, c.phase, c.rollouts} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *scrape) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.build, prometheus.GaugeValue, 1, c.s.Version)
	if c.s.Ingest != nil {
		c.collectIngest(ch, c.s.Ingest())
	}
	if c.s.Fleet != nil {
		c.collectFleet(ch, c.s.Fleet())
	}
	if c.s.Gateways != nil {
		c.collectGateways(ch, c.s.Gateways(""))
	}
	if c.s.Rollouts != nil {
		c.collectRollouts(ch)
	}
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v uint64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func (c *scrape) collectIngest(ch chan<- prometheus.Metric, st ingest.Stats) {
	var rejected uint64
	for _, n := range st.Rejected {
		rejected += n
	}
	for _, r := range []struct {
		result string
		n      uint64
	}{
		{"stored", st.Stored}, {"duplicate", st.Duplicates}, {"gap", st.Gaps}, {"fork", st.Forks},
		{"reset", st.Resets}, {"rejected", rejected}, {"error", st.Errors},
	} {
		counter(ch, c.batches, r.n, r.result)
	}
	counter(ch, c.events, st.Events)
	counter(ch, c.acks, st.Acks)
	counter(ch, c.ackErrors, st.AckErrors)
	for _, r := range withExtra(ingestReasons, st.Rejected) {
		counter(ch, c.rejected, st.Rejected[r], string(r))
	}
}

func (c *scrape) collectFleet(ch chan<- prometheus.Metric, st fleet.Stats) {
	counter(ch, c.fleetReceived, st.Received)
	counter(ch, c.fleetDropped, st.Dropped)
	counter(ch, c.fleetErrors, st.Errors)
	for _, r := range withExtra(fleetReasons, st.Rejected) {
		counter(ch, c.fleetRejected, st.Rejected[r], string(r))
	}
}

// withExtra is known followed by the keys of m it lacks, sorted.
func withExtra[K ~string](known []K, m map[K]uint64) []K {
	out := slices.Clone(known)
	var extra []K
	for k := range m {
		if !slices.Contains(known, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	return append(out, extra...)
}

func (c *scrape) collectGateways(ch chan<- prometheus.Metric, gws []fleet.Gateway) {
	now := c.s.Now()
	byState := map[string]int{}
	byPhase := map[string]int{}
	var seats, occupied, readers, readersOK int
	var depth, oldest float64
	for _, g := range gws {
		byState[g.State]++
		if o := g.Occupancy; o != nil {
			for _, s := range o.Seats {
				seats++
				if s.State == store.SeatOccupied {
					occupied++
				}
			}
		}
		h := g.Health
		if h == nil {
			continue
		}
		depth += float64(h.OutboxDepth)
		if h.OutboxDepth > 0 {
			// The report's age, then as much again since HQ received it:
			// the events are still waiting unless a later report says not.
			age := time.Duration(h.OutboxOldest)*time.Second + max(0, now.Sub(h.Received))
			oldest = max(oldest, age.Seconds())
		}
		readers += h.ReadersTotal
		readersOK += h.ReadersOK
		phase := string(state.Idle)
		if h.Update != nil && h.Update.Phase != "" {
			phase = h.Update.Phase
		}
		byPhase[phase]++
	}
	for _, s := range gatewayStates {
		gauge(ch, c.gateways, float64(byState[s]), s)
	}
	gauge(ch, c.seats, float64(seats))
	gauge(ch, c.occupied, float64(occupied))
	gauge(ch, c.depth, depth)
	gauge(ch, c.oldest, oldest)
	gauge(ch, c.readers, float64(readers))
	gauge(ch, c.readersOK, float64(readersOK))
	// Only the state machine's phases: a report naming another one (it
	// was checked by the gateway, but HQ keeps what it got) is not a label.
	for _, p := range state.Phases() {
		gauge(ch, c.phase, float64(byPhase[string(p)]), string(p))
	}
}

func (c *scrape) collectRollouts(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.s.RolloutsTimeout)
	defer cancel()
	list, err := c.s.Rollouts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.rollouts, fmt.Errorf("list rollouts: %w", err))
		return
	}
	by := map[rollout.State]int{}
	for _, st := range list {
		by[st.State]++
	}
	for _, s := range rolloutStates {
		gauge(ch, c.rollouts, float64(by[s]), string(s))
	}
}

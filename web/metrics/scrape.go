package metrics

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pkfreelance/seatgate/firmware/state"
)

// scrape is the collector of the gauges that Sources feed: it reads them
// at every Collect.
type scrape struct {
	s Sources

	build, readers, readersOK, depth, oldest, connected, revision, lag, phase, progress, clock *prometheus.Desc
}

func newScrape(s Sources) *scrape {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &scrape{s: s,
		build:     d("seatgate_build_info", "Always 1; the version is the label.", "version"),
		readers:   d("seatgate_readers", "Readers configured."),
		readersOK: d("seatgate_readers_ok", "Readers working now."),
		depth:     d("seatgate_outbox_depth", "Events not yet acknowledged by HQ."),
		oldest:    d("seatgate_outbox_oldest_age_seconds", "Age of the oldest event not yet acknowledged by HQ; 0 when there is none."),
		connected: d("seatgate_hq_connected", "1 while the MQTT link to HQ is up, else 0."),
		revision:  d("seatgate_membership_revision", "Revision of the membership in force."),
		lag:       d("seatgate_journal_lag_revisions", "Journal revisions known to exist but not yet applied."),
		phase:     d("seatgate_update_phase", "1 for the firmware update's current phase, 0 for the others.", "phase"),
		progress:  d("seatgate_update_progress_ratio", "Chunks done of total of the current firmware download."),
		clock:     d("seatgate_clock_trusted", "1 when the wall clock is not behind the time floor, else 0."),
	}
}

// Describe implements prometheus.Collector.
func (c *scrape) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.build, c.readers, c.readersOK, c.depth, c.oldest, c.connected,
		c.revision, c.lag, c.phase, c.progress, c.clock} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *scrape) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	s := c.s
	gauge(c.build, 1, s.Version)
	if s.Readers != nil {
		ok, total := s.Readers()
		gauge(c.readers, float64(total))
		gauge(c.readersOK, float64(ok))
	}
	if s.Outbox != nil {
		depth, oldest, err := s.Outbox()
		if err != nil {
			err = fmt.Errorf("read outbox: %w", err)
			ch <- prometheus.NewInvalidMetric(c.depth, err)
			ch <- prometheus.NewInvalidMetric(c.oldest, err)
		} else {
			age := 0.0
			if depth > 0 && !oldest.IsZero() {
				age = max(0, s.Now().Sub(oldest).Seconds())
			}
			gauge(c.depth, float64(depth))
			gauge(c.oldest, age)
		}
	}
	if s.HQConnected != nil {
		gauge(c.connected, bool01(s.HQConnected()))
	}
	if s.Membership != nil {
		if rev, err := s.Membership(); err != nil {
			ch <- prometheus.NewInvalidMetric(c.revision, fmt.Errorf("read membership revision: %w", err))
		} else {
			gauge(c.revision, float64(rev))
		}
	}
	if s.JournalLag != nil {
		gauge(c.lag, float64(max(0, s.JournalLag())))
	}
	if s.Update != nil {
		phase, done, total := s.Update()
		if phase == "" {
			phase = string(state.Idle)
		}
		for _, p := range state.Phases() {
			gauge(c.phase, bool01(string(p) == phase), string(p))
		}
		ratio := 0.0
		if total > 0 {
			ratio = min(1, max(0, float64(done)/float64(total)))
		}
		gauge(c.progress, ratio)
	}
	if s.ClockTrusted != nil {
		gauge(c.clock, bool01(s.ClockTrusted()))
	}
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Package metrics exports the gateway's Prometheus metrics on /metrics: the
// tap path (taps by outcome and reason, their latency), the readers, the
// outbox, the HQ link and the membership journal, the firmware update, and
// the build.
//
// Events are counted as they happen (Gateway.ObserveTap, ReaderError,
// ObserveAutoCheckout); everything else is read from Sources at each
// scrape, so the package runs no goroutine and a value is never staler
// than the scrape. A nil source leaves its metrics out rather than export
// a made-up value: a gateway without an HQ link has no seatgate_hq_connected.
//
// Labels are bounded: outcomes and reasons are access's constants, readers
// and phases are fixed by the configuration and the firmware's state
// machine. No label ever carries a member id or a card UID.
//
// # Metrics
//
//	seatgate_taps_total{outcome,reason}          counter   taps decided, by access.Outcome and access.Reason ("" for admitted
//	                                                       taps); outcome "error" with reason "store" when the store
//	                                                       could not record the tap (the desk showed red)
//	seatgate_auto_checkouts_total{reason}        counter   sessions ended by the sweep, by access.Reason
//	seatgate_tap_decision_seconds                histogram from the card's read to the decision being committed:
//	                                                       what the freelancer waits for (queueing behind other taps included)
//	seatgate_tap_commit_seconds                  histogram the store's write transaction of one tap (decision, occupancy,
//	                                                       event, fsync)
//	seatgate_reader_errors_total{reader}         counter   reader faults (scan.Fault), by reader id
//	seatgate_readers                             gauge     readers configured
//	seatgate_readers_ok                          gauge     readers working now
//	seatgate_outbox_depth                        gauge     events not yet acknowledged by HQ
//	seatgate_outbox_oldest_age_seconds           gauge     age of the oldest of them; 0 when there is none
//	seatgate_hq_connected                        gauge     1 while the MQTT link to HQ is up, else 0
//	seatgate_membership_revision                 gauge     revision of the membership in force
//	seatgate_journal_lag_revisions               gauge     journal revisions known to exist but not yet applied
//	seatgate_update_phase{phase}                 gauge     1 for the firmware update's current phase, 0 for every other
//	seatgate_update_progress_ratio               gauge     chunks done of total of the current download (0 to 1)
//	seatgate_clock_trusted                       gauge     1 when the wall clock is not behind the time floor
//	seatgate_build_info{version}                 gauge     always 1
//
// The latency histograms have buckets from 100 µs to 1 s (LatencyBuckets).
// The registry also carries the Go runtime's go_* and the process's
// process_* metrics, and promhttp_metric_handler_errors_total, which counts
// scrapes during which a source failed (the other metrics were still
// served). Gauges are not named …_total: that suffix is for counters.
//
// deploy/grafana/seatgate.json charts these and HQ's (package
// hq/metrics); a test holds the dashboard to the names exported here.
package metrics

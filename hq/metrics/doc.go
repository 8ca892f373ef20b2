// Package metrics exports seathq's Prometheus metrics on /metrics: event
// ingest, the fleet of gateways, national occupancy, rollouts and the HTTP
// API.
//
// Everything but the API's requests is read from Sources at each scrape —
// the Ingester's and the Tracker's counters, the Tracker's live gateways,
// the rollouts bucket — so the package runs no goroutine. A nil source
// leaves its metrics out. API requests are counted by the middleware
// Instrument as they finish.
//
// Two kinds of value: counters (…_total) count what this instance did, so
// a dashboard sums them over instances; gauges of the fleet, occupancy and
// rollouts are read from JetStream's shared state, so every instance
// reports the same and a dashboard takes their max, never their sum.
//
// Labels are bounded: reasons, states and phases are the constants of
// ingest, fleet, rollout and firmware/state; routes are the API's
// patterns. No label carries a centre, gateway, member or card.
//
// # Metrics
//
//	seathq_ingest_batches_total{result}           counter   event batches handled, by result: stored, duplicate, gap,
//	                                                        fork, reset, rejected, error (they sum to every batch received)
//	seathq_ingest_events_stored_total             counter   events stored by those batches
//	seathq_ingest_rejected_total{reason}          counter   batches refused before the chain was looked at, by ingest.Reason
//	seathq_ingest_acks_total                      counter   acknowledgements published
//	seathq_ingest_ack_errors_total                counter   acknowledgements that could not be published
//	seathq_fleet_messages_received_total          counter   gateway birth, status, health and occupancy messages received
//	seathq_fleet_messages_rejected_total{reason}  counter   those refused, by fleet.Reason
//	seathq_fleet_messages_dropped_total           counter   those not handled because this instance's queue was full
//	seathq_fleet_errors_total                     counter   those whose state could not be written
//	seathq_gateways{state}                        gauge     gateways by fleet state: online, silent, offline, unknown
//	seathq_seats                                  gauge     seats in every centre's last occupancy report
//	seathq_seats_occupied                         gauge     of those, occupied
//	seathq_gateway_outbox_depth                   gauge     events the gateways have not had acknowledged, summed over
//	                                                        their last health reports
//	seathq_gateway_outbox_oldest_age_seconds      gauge     the oldest of those events' age now: its age in its gateway's
//	                                                        report plus the time since HQ received that report
//	seathq_gateway_readers                        gauge     readers configured, summed over the last health reports
//	seathq_gateway_readers_ok                     gauge     of those, working
//	seathq_gateway_update_phase{phase}            gauge     gateways whose last health report is in that firmware update
//	                                                        phase (idle when it names no update)
//	seathq_rollouts{state}                        gauge     rollouts by state: running, paused, completed, aborted
//	seathq_api_requests_total{route,code}         counter   API requests finished, by route pattern and HTTP status code
//	seathq_api_request_duration_seconds{route}    histogram their duration (a stream's is its whole life)
//	seathq_build_info{version}                    gauge     always 1
//
// The registry also carries go_*, process_* and
// promhttp_metric_handler_errors_total, which counts scrapes during which
// a source failed (the rest was still served).
//
// deploy/grafana/seatgate.json charts these with the gateway's (package
// web/metrics); a test there holds the dashboard to the names exported.
package metrics

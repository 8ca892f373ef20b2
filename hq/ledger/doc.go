// Package ledger derives seat-hours, the basis of subsidy payments, from
// the verified events that package hq/ingest stores in stream EVENTS.
//
// # Folding
//
// A Ledger reads EVENTS through a durable pull consumer (default name
// "ledger"): it survives restarts, and every HQ instance running a Ledger
// shares it. The consumer pins one instance (JetStream's pinned-client
// priority policy), which gets every event in stream order; the others
// stand by and one takes over when the pinned instance stops (at once when
// it stops cleanly, after Options.PinnedTTL when it dies; what it held
// comes again after Options.AckWait). One folder at a time keeps each
// gateway's events in order without instances waiting on each other, and
// the fleet's event rate (tens a second) is far below what one folds.
//
// Each gateway's events are folded strictly in seq order into sessions:
//
//	checkin        opens a session on Seat at Time
//	move           ends the session on PrevSeat (from Since to Time) and
//	               opens one on Seat at Time
//	checkout,      end the session on Seat, from Since to Time
//	auto_checkout
//	deny, others   change nothing
//
// An ended session is split at local midnight (Options.Location,
// Asia/Karachi) into pieces, and each piece adds its whole seconds to its
// seat and to its centre's day. A piece is untrusted when the event that
// ended the session, or the one that opened it, had clock_trusted false; a
// session end that cannot be measured (no Since, or Since after Time) adds
// nothing and counts as invalid. Sessions still open count when they end.
//
// Events are checked once more on the way in: each must carry the hash
// that chains it to the one folded before (wire.EventHash); one that does
// not is never counted (and its message is terminated).
//
// # None counted twice
//
// Events are folded in memory a fetch at a time (at most 256); the records
// they change are then written back, each with a compare-and-set on its KV
// revision, and only then are the events acknowledged.
//
// The ledger keeps, per gateway, a cursor: the seq and hash of the last
// event folded and the sessions open. An event at or below the cursor is a
// redelivery and is acknowledged without effect; one beyond cursor+1 (its
// predecessor is being folded by another instance) is redelivered later.
// Every day records, per gateway, the last seq it took in, and is
// written (days before cursors) with a compare-and-set on the revision it
// was read at: an instance that dies between writing a day and its
// cursor leaves the day marked, so the redelivered events are not counted
// there again, and two instances that fold the same event (one unpinned
// meanwhile) cannot both add it.
//
// # Layout in JetStream
//
//	consumer ledger on EVENTS   durable pull, explicit acks, filter events.>,
//	                            pinned-client priority group "fold"
//	KV LEDGER
//	  {centre}.{YYYY-MM-DD}     the centre's day: seconds, sessions, per-seat
//	                            seconds, untrusted and invalid counts, and the
//	                            last seq taken in from each gateway (JSON).
//	                            Seat totals live in the day's record, so a day
//	                            and its seats always agree (one CAS updates both).
//	  cursor.{centre}.{gateway} the gateway's cursor (JSON)
//
// # Verification
//
// Query returns one Day per date, Verified unless a piece that day was
// untrusted or invalid, or a gateway that contributed to it has had a fork
// or reset (ingest.Head.SuspectSince) on or before that day. Anomalies are
// looked up when the query runs, so a fork found later still marks the days
// from then on. Gaps do not: nothing HQ holds is missing because of one.
package ledger

// Package ingest is HQ's receiving end of the gateways' event outboxes: it
// takes the signed, hash-chained EventBatches that gateways publish on
// seats/v1/{centre}/{gateway}/events (NATS subject seats.v1.{c}.{g}.events),
// checks them, stores their events durably in JetStream, and only then sends
// the gateway a signed wire.Ack so that it may mark them delivered.
//
// # What happens to a batch
//
// An Ingester subscribes to seats.v1.*.*.events in a queue group, so that
// each batch is handled by one of the running instances. For each batch:
//
//  1. Decode strictly (wire.DecodeEventBatch), check that it names the
//     centre and gateway of its subject, that the gateway is enrolled
//     (Registry) and that its device key signed it (wire.Verify), and that
//     its events chain from its prev_hash (wire.VerifyChain). A failure is
//     a rejection: counted by Reason, logged at most once per
//     Options.LogEvery per reason, nothing stored, nothing acknowledged.
//  2. Compare it with the gateway's chain head (bucket CHAINS): the last
//     seq and hash HQ stored, the hash of event 1, and recent batch ends.
//     A batch that continues the chain (first <= head+1 <= last, agreeing
//     with every hash HQ knows in its range) is stored; one that is wholly
//     at or below the head is a duplicate and is acknowledged again; one
//     whose first event is beyond head+1 is a gap.
//  3. Store the new events, one message per event, on events.{c}.{g} in
//     stream EVENTS, then advance the head with a compare-and-set on its KV
//     revision, then publish Ack{upto: head} on seats.v1.{c}.{g}.ack.
//
// # One message per event, appended strictly in order
//
// Each event is published with Nats-Msg-Id {centre}.{gateway}.{seq} and with
// Nats-Expected-Last-Subject-Sequence set to the stream sequence of the event
// before it. The stream therefore appends event n of a gateway only directly
// after event n-1: whatever several instances do at once, and whatever the
// de-duplication window, each gateway's subject holds its chain exactly once,
// in seq order, without holes. This is what makes the ledger's folding and
// the recovery below simple. The cost is one round trip per event:
// BenchmarkStore measures about 65 µs per event on one server and 220 µs on
// a 3-node cluster in one process (2 CPUs): 4,000 to 15,000 events a second
// for one gateway, and gateways are stored in parallel; 5,000 centres make
// some tens of events a second on average.
//
// A publish answered "duplicate" (the message ID was stored within the
// de-duplication window, say by an instance that died before advancing the
// head) is compared with what the stream holds; the same hash means already
// stored, another hash is a fork. A publish refused for a wrong last
// sequence means the stream is ahead of the head in CHAINS (an instance died
// between storing and advancing the head): the head is repaired from the
// stream's last message for the gateway, which by the rule above is always a
// sound chain head, and the batch is looked at again.
//
// # Gaps, forks and resets
//
//   - Gap (first > head+1): usually an earlier batch is being stored by another
//     instance at this moment, so the batch first waits up to Options.GapWait
//     for the head to reach first-1. If it does not, nothing is stored, the
//     current head is acknowledged (when there is one) so that the gateway
//     resends from there, and a gap anomaly is recorded. Gaps lose nothing and
//     do not make the ledger doubt a day.
//   - Fork (a hash HQ holds for a seq in the batch's range differs, or a
//     signed batch that does not chain internally) and reset (the batch starts
//     at seq 1 with an event 1 other than the one HQ stored): the batch is
//     refused — not stored, not acknowledged — and the anomaly is recorded
//     on the gateway's head, which gets SuspectSince. Refusing keeps EVENTS a
//     single verified chain per gateway, the basis of subsidy payments; the
//     gateway keeps the refused events in its outbox (it never prunes what HQ
//     has not acknowledged) until an operator has looked at the device. The
//     ledger marks the gateway's days from SuspectSince on as not verified.
//   - A resent batch that lies wholly below the head is compared with the
//     hashes the head keeps (event 1, the ends of the last MaxCheckpoints
//     batches, the head); a resend starts right after an acknowledged batch
//     end, so this catches a changed history in practice. A batch with no
//     known hash in its range is taken for a duplicate: nothing is stored,
//     HQ keeps its own copy, and the gateway's next new batch is checked
//     against the head.
//
// # Layout in JetStream
//
//	stream EVENTS      subjects events.*.* (events.{centre}.{gateway}), file
//	                   storage, Options.Replicas, limits retention without
//	                   limits, delete and purge denied: the evidence is kept.
//	                   One message per event: payload the store.Event JSON
//	                   with its hash, headers Nats-Msg-Id, Seatgate-Seq,
//	                   Seatgate-Hash, Seatgate-Boot.
//	KV CHAINS          key {centre}.{gateway}: Head (JSON): seq, hash and
//	                   stream sequence of the last event stored, hash of
//	                   event 1, boot, recent batch ends, anomalies.
//
// The bucket is not called GATEWAYS so that it cannot collide with the
// enrolment registry's bucket, which keeps the gateways' keys.
//
// # Several instances
//
// Any number of Ingesters may run against the same NATS. Within an instance,
// the batches of one gateway are handled one at a time in arrival order
// (Options.Workers lanes, chosen by gateway); across instances the stream's
// expected-sequence rule and the CAS on the head keep them from stepping on
// each other. An instance can die at any point: the batches it held were not
// acknowledged, so the gateway resends them, and storage is idempotent.
package ingest

// Package store keeps a gateway's local state in one bbolt file and
// applies access decisions to it durably. It is the only package that
// opens bbolt: it creates its buckets at Open, works only inside
// db.Update/db.View closures, copies every value out before returning and
// never hands out a transaction.
//
// # Taps
//
// Store.Tap ends any session that is due, decides the tap with
// access.Decide, changes occupancy and appends an event, all in one write
// transaction, and returns only after that transaction has committed and
// been fsynced: a desk shows green only for a tap that survives a power
// cut. Every outcome, deny included, is logged; sequence numbers are
// gap-free from 1 (the next one is kept in the meta bucket), and the event
// log is what the sync layer's outbox sends to HQ. Store.AutoCheckout ends
// due sessions (window_end, daily_cutoff, max_session, member_removed,
// seat_removed), one auto_checkout event each.
//
// # Hash chain and outbox
//
// Each event carries Hash = SHA-256(previous hash || the event's JSON
// without Hash) (ChainHash), computed in the transaction that appends it,
// so HQ can prove that no event was invented, changed or removed
// (VerifyChain). The log is the outbox: MarkDelivered moves the watermark
// HQ acknowledged (forward only), Prune deletes delivered events older
// than the retention age (never an undelivered one), keeping the hash of
// the last pruned event so the chain still verifies from there.
//
// # Clock floor
//
// Many Pis have no real-time clock and boot with a clock in the past until
// NTP answers, which may be never in an offline centre. The store keeps a
// floor in the meta bucket: the latest time it has used, raised by every
// Tap and AutoCheckout and at Open to Options.BuildTime. When the wall
// clock is behind the floor, the store decides with the floor and marks
// the events clock_trusted=false.
//
// # Layout, schema version 3
//
//	meta                schema_version (uint64 BE), next_seq (uint64 BE),
//	                    clock_floor (Unix ns, int64 BE), membership (JSON: centre, revision, counts),
//	                    chain_head (hex), delivered_upto, pruned_upto (uint64 BE), pruned_hash (hex) (v3)
//	members             member id   → JSON {name, status, plan, valid_from, valid_until, seats}
//	cards               card uid    → JSON {member, revoked}
//	plans               plan id     → JSON {name, days, windows, grace_days, price_pkr}
//	seats               seat id     → JSON {zone, reader}
//	sessions            seat id     → JSON {member, since}
//	events              seq (uint64 BE) → JSON Event
//	seats_by_reader     reader      → seat id    (v2)
//	sessions_by_member  member id   → seat id    (v2)
//
// and, only while they are in use, two transient buckets that no schema
// version counts (an older build ignores them; Open drops them):
//
//	membership_staging  members, cards, plans: a membership being written (ReplaceMembership)
//	snapshot_parts      snapshot → the snapshot's name; part index (uint64 BE) → bytes
//
// Open migrates an older file in the same transaction that opens it, along
// a table of steps (v1 → v2 built the two indexes, v2 → v3 hash-chained the
// log), and refuses a newer one with ErrSchemaTooNew, leaving it untouched.
// Store.Check runs bbolt's consistency check and verifies the indexes, the
// event numbering, the hash chain and the outbox watermarks.
//
// # Replacing the membership
//
// ReplaceMembership (a Membership in memory) and ReplaceMembershipFrom (a
// snapshot read as a stream) write the new membership into
// membership_staging in write transactions of a bounded number of records,
// so that the snapshot is never in memory whole and bbolt holds the dirty
// pages of one such transaction at a time, and taps are decided on the old
// membership meanwhile, waiting at most one such transaction for the write
// lock. One
// last small transaction drops members, cards and plans and moves the
// staged buckets into their place (bbolt moves a bucket by reference, it
// does not copy it), with the membership info. A reader sees the old
// membership or the new one, never a mixture; a power cut leaves the old
// one, or the new one once that transaction has committed, and the staging
// that a cut leaves is dropped at Open. An invalid snapshot changes
// nothing. The chunks of a snapshot HQ sends wait in snapshot_parts
// (PutSnapshotParts) until the last has come, rather than in memory.
//
// # Membership snapshot
//
// The membership snapshot is the JSON form of Membership: what HQ sends
// when a gateway is far behind, and what `seatgate members import FILE`
// loads. ParseMembership and ReplaceMembershipFrom read it strictly, as a
// stream of tokens, one plan or member at a time: an unknown field, a
// top-level field given twice, a value of the wrong form, trailing data
// or more than MaxMembershipSize bytes is an error naming the member and
// field, with the line (ParseMembership) or byte offset
// (ReplaceMembershipFrom). Field names are matched as encoding/json
// matches them, regardless of case.
//
//	{
//	  "centre": "lhr-01",                      // centre id, required
//	  "revision": 12,                          // HQ's membership revision, >= 0
//	  "generated_at": "2026-11-01T09:00:00+05:00", // RFC 3339, required
//	  "plans": [{
//	    "id": "day",                           // unique
//	    "name": "Day shift",
//	    "days": ["mon","tue","wed","thu","fri"], // sun..sat; absent or [] = every day
//	    "windows": [{"start": "09:00", "end": "18:00"}], // HH:MM; end <= start crosses
//	                                           // midnight; start == end is 24 h;
//	                                           // absent or [] = all day
//	    "grace_days": 3,                       // 0..366
//	    "price_pkr": 3500                      // >= 0
//	  }],
//	  "members": [{
//	    "id": "m-001",                         // unique
//	    "name": "Ayesha Khan",
//	    "status": "active",                    // active | suspended
//	    "plan": "day",                         // a plan id above
//	    "valid_from": "2026-11-01",            // inclusive, Asia/Karachi
//	    "valid_until": "2026-11-30",           // inclusive, not before valid_from
//	    "seats": {"kind": "zones", "zones": ["A"]}, // {"kind":"any"} | {"kind":"fixed","seat":"A1"}
//	    "cards": [{"uid": "04A1B2C3D4E5F6", "revoked": false}]
//	  }]
//	}
//
// Card UIDs are 4, 7 or 10 bytes of hex; lower case and ':', '-' or ' '
// between bytes are accepted and stored canonical (upper case, no
// separators). A UID may belong to one member only. IDs are 1 to 64 bytes
// without spaces; names 1 to 200 bytes. (The comments above are for the
// reader: JSON has none.)
package store

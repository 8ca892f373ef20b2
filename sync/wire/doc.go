// Package wire defines protocol v1 between a gateway and HQ: the MQTT
// topics, the messages and their JSON form, the canonical bytes that
// signatures cover, the event hash chain, and strict decoders for
// everything a side receives. docs/protocol.md is the prose form of the
// same contract; the JSON keys here are the wire and do not change within
// v1.
//
// # Topics
//
// Topics names a gateway's topics under seats/v1/{centre}/{gateway}/, and
// its centre's journal seats/v1/{centre}/journal. IDs are 1 to 32
// characters of a-z, 0-9 and '-' (ValidID), so a topic maps one to one to
// a NATS subject (NATSSubject, MQTTTopic). HQ splits the topics it
// receives with ParseTopic.
//
// # Messages
//
// Uplink, from the gateway: EventBatch, Birth, Status, Health, Occupancy,
// JournalWant. Downlink, from HQ: Ack, JournalEntry, SnapshotChunk. Every
// message has "v": 1 (Version). Each type has a Validate method stating
// its rules; Encode validates and marshals.
//
// # Signatures
//
// Evidence is signed with ed25519: the gateway's device key signs
// EventBatch, Birth and (optionally) Occupancy; HQ's key signs Ack,
// JournalEntry and SnapshotChunk. A signature covers Canonical(msg): the
// encoding/json bytes of the message without its "sig" key. Sign sets
// Sig; Verify checks it, failing with ErrNoSignature or ErrBadSignature.
// KeyID names a public key.
//
// # Hash chain
//
// Every event of a gateway's log carries Hash = EventHash(hash of the
// event before, event), GenesisHash before event 1, so that HQ can prove
// no event was invented, changed or removed: VerifyChain fails with
// ErrGap or ErrChainBroken at the first event that does not follow. The
// gateway's store computes the same hash (store.ChainHash).
//
// # Decoding
//
// DecodeEventBatch, DecodeAck and the other Decode functions read one
// message strictly: at most MaxPayload bytes, exactly the keys of the
// message (no unknown, duplicate or differently cased key), "v" 1, and
// the message's rules. Errors are *MessageError, whose Kind is one of
// ErrTooLarge, ErrMalformed, ErrVersion and ErrInvalid, so receivers can
// count rejections by kind. Decoders do not check signatures: call Verify
// on what they return.
//
// The package has no state and starts no goroutines.
package wire

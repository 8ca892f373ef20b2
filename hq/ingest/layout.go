package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// Names in NATS and JetStream. See the package documentation for the layout.
const (
	// StreamName is the stream of stored events, one message per event.
	StreamName = "EVENTS"
	// ChainsBucket is the KV bucket of the gateways' chain heads.
	ChainsBucket = "CHAINS"
	// UplinkSubject is what an Ingester subscribes to: every gateway's
	// EventBatch topic.
	UplinkSubject = "seats.v1.*.*.events"
	// DefaultQueue is the queue group Ingesters share by default.
	DefaultQueue = "seathq-ingest"
)

// Headers of every message in EVENTS, besides Nats-Msg-Id.
const (
	HeaderSeq  = "Seatgate-Seq"  // the event's seq, decimal
	HeaderHash = "Seatgate-Hash" // the event's chain hash
	HeaderBoot = "Seatgate-Boot" // boot counter of the batch that brought it
)

// EventSubject is the subject of gateway's events in EVENTS:
// events.{centre}.{gateway}.
func EventSubject(centre, gateway string) string { return "events." + centre + "." + gateway }

// ParseEventSubject splits an EVENTS subject into centre and gateway.
func ParseEventSubject(subject string) (centre, gateway string, err error) {
	parts := strings.Split(subject, ".")
	if len(parts) != 3 || parts[0] != "events" || !wire.ValidID(parts[1]) || !wire.ValidID(parts[2]) {
		return "", "", fmt.Errorf("not an event subject: %q", subject)
	}
	return parts[1], parts[2], nil
}

// MsgID is the Nats-Msg-Id of event seq of gateway: {centre}.{gateway}.{seq}.
func MsgID(centre, gateway string, seq uint64) string {
	return centre + "." + gateway + "." + strconv.FormatUint(seq, 10)
}

// HeadKey is the key of gateway's chain head in ChainsBucket: {centre}.{gateway}.
func HeadKey(centre, gateway string) string { return centre + "." + gateway }

// uplink splits seats.v1.{c}.{g}.events into a gateway's topics.
func uplink(subject string) (wire.Topics, error) {
	parts := strings.Split(subject, ".")
	if len(parts) != 5 || parts[0] != "seats" || parts[1] != "v1" || parts[4] != wire.KindEvents {
		return wire.Topics{}, fmt.Errorf("not an events subject: %q", subject)
	}
	return wire.NewTopics(parts[2], parts[3])
}

// ackSubject is the NATS subject of a gateway's Ack topic.
func ackSubject(t wire.Topics) string {
	return "seats.v1." + t.Centre + "." + t.Gateway + ".ack"
}

// streamConfig is the configuration of EVENTS.
func streamConfig(o Options) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamName,
		Description: "verified gateway events, one message per event, per gateway in seq order (hq/ingest)",
		Subjects:    []string{"events.*.*"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
		Duplicates:  o.DedupeWindow,
		Discard:     jetstream.DiscardNew, // never drop evidence to make room
		DenyDelete:  true,
		DenyPurge:   true,
	}
}

// Provision creates stream EVENTS and bucket CHAINS, or updates them to o
// (replicas, de-duplication window). It is idempotent; Run calls it.
func Provision(ctx context.Context, js jetstream.JetStream, o Options) error {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return err
	}
	if _, err := js.CreateOrUpdateStream(ctx, streamConfig(o)); err != nil {
		return fmt.Errorf("provision stream %s: %w", StreamName, err)
	}
	if _, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      ChainsBucket,
		Description: "gateways' event chain heads and anomalies (hq/ingest)",
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	}); err != nil {
		return fmt.Errorf("provision bucket %s: %w", ChainsBucket, err)
	}
	return nil
}

// eventMsg is the EVENTS message of one event.
func eventMsg(t wire.Topics, boot uint64, e store.Event) (*nats.Msg, error) {
	data, err := json.Marshal(e) // the canonical form, hash included
	if err != nil {
		return nil, fmt.Errorf("encode event %d: %w", e.Seq, err)
	}
	m := nats.NewMsg(EventSubject(t.Centre, t.Gateway))
	m.Data = data
	m.Header.Set(HeaderSeq, strconv.FormatUint(e.Seq, 10))
	m.Header.Set(HeaderHash, e.Hash)
	m.Header.Set(HeaderBoot, strconv.FormatUint(boot, 10))
	return m, nil
}

// storedEvent reads the seq and hash headers of an EVENTS message.
func storedEvent(h nats.Header) (seq uint64, hash string, err error) {
	seq, err = strconv.ParseUint(h.Get(HeaderSeq), 10, 64)
	if err != nil || seq == 0 {
		return 0, "", fmt.Errorf("stored event: bad %s header %q", HeaderSeq, h.Get(HeaderSeq))
	}
	hash = h.Get(HeaderHash)
	if len(hash) != len(wire.GenesisHash) {
		return 0, "", fmt.Errorf("stored event %d: bad %s header %q", seq, HeaderHash, hash)
	}
	return seq, hash, nil
}

// DefaultDedupeWindow is the default de-duplication window of EVENTS.
const DefaultDedupeWindow = 10 * time.Minute

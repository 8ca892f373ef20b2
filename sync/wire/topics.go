package wire

import (
	"fmt"
	"strings"
)

// Prefix is the root of every protocol v1 topic.
const Prefix = "seats/v1"

// Topic kinds, as ParseTopic returns them: the part of the topic after the
// centre and gateway IDs.
const (
	KindEvents      = "events"       // uplink EventBatch
	KindBirth       = "birth"        // uplink Birth
	KindStatus      = "status"       // uplink Status
	KindHealth      = "health"       // uplink Health
	KindOccupancy   = "occupancy"    // uplink Occupancy
	KindJournalWant = "journal/want" // uplink JournalWant
	KindAck         = "ack"          // downlink Ack
	KindFirmware    = "firmware"     // downlink FirmwareAssign
	KindJournal     = "journal"      // downlink JournalEntry: per centre (no gateway), or catch-up (gateway set; entries or SnapshotChunks)
)

// ReservedGatewayID may not be used as a gateway ID: a gateway's ACL
// prefix seats/v1/{c}/{g}/# would then also match the centre's journal
// topic seats/v1/{c}/journal.
const ReservedGatewayID = "journal"

// ValidID reports whether id can be a centre or gateway ID: 1 to 32
// characters from a-z, 0-9 and '-', so that it is a single level of an
// MQTT topic and a single token of a NATS subject. (A gateway ID must
// also not be ReservedGatewayID; see Topics.Validate.)
func ValidID(id string) bool { return idProblem(id) == "" }

// idProblem says what is wrong with id, or "" when it is a valid ID.
func idProblem(id string) string {
	if id == "" {
		return "missing"
	}
	if len(id) > 32 {
		return fmt.Sprintf("%q: longer than 32 characters", id)
	}
	for i := range len(id) {
		if c := id[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return fmt.Sprintf("%q: want only a-z, 0-9 and '-'", id)
		}
	}
	return ""
}

// gatewayProblem is idProblem for a gateway ID.
func gatewayProblem(id string) string {
	if id == ReservedGatewayID {
		return fmt.Sprintf("%q is reserved", id)
	}
	return idProblem(id)
}

// Topics names the topics of one gateway. Build it with NewTopics, or
// check it with Validate: its methods do not check the IDs.
type Topics struct{ Centre, Gateway string }

// NewTopics returns the topics of gateway in centre, or an error wrapping
// ErrTopic when an ID is not valid.
func NewTopics(centre, gateway string) (Topics, error) {
	t := Topics{Centre: centre, Gateway: gateway}
	return t, t.Validate()
}

// Validate checks both IDs (ValidID) and that the gateway's is not
// ReservedGatewayID. Errors wrap ErrTopic.
func (t Topics) Validate() error {
	if p := idProblem(t.Centre); p != "" {
		return fmt.Errorf("centre id %s: %w", p, ErrTopic)
	}
	if p := gatewayProblem(t.Gateway); p != "" {
		return fmt.Errorf("gateway id %s: %w", p, ErrTopic)
	}
	return nil
}

func (t Topics) gateway(kind string) string {
	return Prefix + "/" + t.Centre + "/" + t.Gateway + "/" + kind
}

// Events is seats/v1/{c}/{g}/events (uplink EventBatch, QoS 1).
func (t Topics) Events() string { return t.gateway(KindEvents) }

// Birth is seats/v1/{c}/{g}/birth (uplink Birth, QoS 1, retained).
func (t Topics) Birth() string { return t.gateway(KindBirth) }

// Status is seats/v1/{c}/{g}/status (uplink Status, QoS 1, retained; the
// last will).
func (t Topics) Status() string { return t.gateway(KindStatus) }

// Health is seats/v1/{c}/{g}/health (uplink Health, QoS 0).
func (t Topics) Health() string { return t.gateway(KindHealth) }

// Occupancy is seats/v1/{c}/{g}/occupancy (uplink Occupancy, QoS 1,
// retained).
func (t Topics) Occupancy() string { return t.gateway(KindOccupancy) }

// JournalWant is seats/v1/{c}/{g}/journal/want (uplink JournalWant, QoS 1).
func (t Topics) JournalWant() string { return t.gateway(KindJournalWant) }

// Ack is seats/v1/{c}/{g}/ack (downlink Ack, QoS 1).
func (t Topics) Ack() string { return t.gateway(KindAck) }

// Journal is seats/v1/{c}/journal, the centre's journal (downlink
// JournalEntry, QoS 1), shared by the centre's gateways.
func (t Topics) Journal() string { return Prefix + "/" + t.Centre + "/" + KindJournal }

// JournalCatchUp is seats/v1/{c}/{g}/journal (downlink JournalEntry or
// SnapshotChunk, QoS 1): HQ's answer to this gateway's JournalWant.
func (t Topics) JournalCatchUp() string { return t.gateway(KindJournal) }

// ParseTopic splits a protocol v1 topic into its centre, gateway and kind
// (one of the Kind constants). The centre's journal topic has no gateway:
// seats/v1/lhr-01/journal gives ("lhr-01", "", KindJournal), while the
// catch-up topic seats/v1/lhr-01/gw-1/journal gives ("lhr-01", "gw-1",
// KindJournal). Errors wrap ErrTopic.
func ParseTopic(topic string) (centre, gateway, kind string, err error) {
	bad := func(format string, args ...any) (string, string, string, error) {
		return "", "", "", fmt.Errorf("topic %q: %s: %w", topic, fmt.Sprintf(format, args...), ErrTopic)
	}
	parts := strings.Split(topic, "/")
	if len(parts) < 2 || parts[0] != "seats" {
		return bad("want prefix %s/", Prefix)
	}
	if parts[1] != "v1" {
		return bad("version %q, want v1", parts[1])
	}
	parts = parts[2:]
	switch {
	case len(parts) == 2 && parts[1] == KindJournal:
		centre, kind = parts[0], KindJournal
	case len(parts) == 3:
		centre, gateway, kind = parts[0], parts[1], parts[2]
		switch kind {
		case KindEvents, KindBirth, KindStatus, KindHealth, KindOccupancy, KindAck, KindJournal, KindFirmware:
		default:
			return bad("unknown kind %q", kind)
		}
	case len(parts) == 4 && parts[2]+"/"+parts[3] == KindJournalWant:
		centre, gateway, kind = parts[0], parts[1], KindJournalWant
	default:
		return bad("want %s/{centre}/{gateway}/{kind} or %s/{centre}/journal", Prefix, Prefix)
	}
	if p := idProblem(centre); p != "" {
		return bad("centre id %s", p)
	}
	if gateway != "" || len(parts) > 2 {
		if p := gatewayProblem(gateway); p != "" {
			return bad("gateway id %s", p)
		}
	}
	return centre, gateway, kind, nil
}

// NATSSubject maps an MQTT topic or topic filter to the NATS subject that
// NATS's MQTT listener uses for it: levels become tokens ('/' → '.'), '+'
// becomes '*' and a final '#' becomes '>'. Only topics whose levels are
// non-empty and free of '.', '*', '>' and white space map (every protocol
// v1 topic does); others are an error wrapping ErrTopic. Note that the
// MQTT filter a/# also matches a itself, while the NATS subject a.> does
// not.
func NATSSubject(topic string) (string, error) {
	levels := strings.Split(topic, "/")
	for i, l := range levels {
		switch {
		case l == "+":
			levels[i] = "*"
		case l == "#" && i == len(levels)-1:
			levels[i] = ">"
		case l == "" || strings.ContainsAny(l, ".*>+# \t\r\n"):
			return "", fmt.Errorf("topic %q: level %d (%q) has no NATS form: %w", topic, i+1, l, ErrTopic)
		}
	}
	return strings.Join(levels, "."), nil
}

// MQTTTopic is the inverse of NATSSubject: it maps a NATS subject (or
// subscription with '*' and a final '>') back to the MQTT topic (or
// filter). Subjects with empty tokens or tokens holding '/', '+', '#' or
// white space are an error wrapping ErrTopic.
func MQTTTopic(subject string) (string, error) {
	tokens := strings.Split(subject, ".")
	for i, tok := range tokens {
		switch {
		case tok == "*":
			tokens[i] = "+"
		case tok == ">" && i == len(tokens)-1:
			tokens[i] = "#"
		case tok == "" || strings.ContainsAny(tok, "/*>+# \t\r\n"):
			return "", fmt.Errorf("subject %q: token %d (%q) has no MQTT form: %w", subject, i+1, tok, ErrTopic)
		}
	}
	return strings.Join(tokens, "/"), nil
}

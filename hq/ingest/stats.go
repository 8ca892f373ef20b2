package ingest

import (
	"errors"
	"maps"
	"sync"

	"github.com/pkfreelance/seatgate/sync/wire"
)

// Reason says why a batch was rejected.
type Reason string

// Rejection reasons. A rejected batch changes nothing and is not
// acknowledged.
const (
	ReasonTooLarge       Reason = "too_large"       // over wire.MaxPayload
	ReasonMalformed      Reason = "malformed"       // not one strict JSON EventBatch (truncated, unknown key, …)
	ReasonVersion        Reason = "version"         // "v" is not 1
	ReasonInvalid        Reason = "invalid"         // breaks the batch rules (wire.EventBatch.Validate)
	ReasonTopic          Reason = "topic"           // bad IDs in the subject, or the batch names another gateway
	ReasonUnknownGateway Reason = "unknown_gateway" // not in the Registry
	ReasonBadSignature   Reason = "bad_signature"   // unsigned, or not signed by the gateway's key
	ReasonBrokenChain    Reason = "broken_chain"    // signed, but its events do not chain from prev_hash (recorded as a fork)
)

// reasonOf maps a decoding error to its Reason.
func reasonOf(err error) Reason {
	switch {
	case errors.Is(err, wire.ErrTooLarge):
		return ReasonTooLarge
	case errors.Is(err, wire.ErrVersion):
		return ReasonVersion
	case errors.Is(err, wire.ErrInvalid):
		return ReasonInvalid
	}
	return ReasonMalformed
}

// Stats counts what an Ingester did with the batches it received. Every
// batch counts once in Batches and once in exactly one of Stored,
// Duplicates, Gaps, Forks, Resets, Rejected or Errors.
type Stats struct {
	Batches    uint64            `json:"batches"`
	Stored     uint64            `json:"stored"`     // extended the chain, acknowledged
	Events     uint64            `json:"events"`     // events stored by those batches
	Duplicates uint64            `json:"duplicates"` // wholly stored already, acknowledged again
	Gaps       uint64            `json:"gaps"`       // began beyond the head: not stored, head acknowledged
	Forks      uint64            `json:"forks"`      // refused: another history than HQ's
	Resets     uint64            `json:"resets"`     // refused: the chain restarted at 1
	Rejected   map[Reason]uint64 `json:"rejected"`   // refused before the chain was looked at, by reason
	Errors     uint64            `json:"errors"`     // NATS or JetStream failed until Options.BatchTimeout: not acknowledged
	Acks       uint64            `json:"acks"`       // acknowledgements published
	AckErrors  uint64            `json:"ack_errors"` // acknowledgements that could not be published
}

// counters is the mutable Stats behind a mutex.
type counters struct {
	mu sync.Mutex
	s  Stats
}

func (c *counters) add(f func(*Stats)) {
	c.mu.Lock()
	f(&c.s)
	c.mu.Unlock()
}

func (c *counters) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.s
	s.Rejected = maps.Clone(c.s.Rejected)
	if s.Rejected == nil {
		s.Rejected = map[Reason]uint64{}
	}
	return s
}

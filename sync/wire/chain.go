package wire

import (
	"errors"
	"fmt"

	"github.com/pkfreelance/seatgate/access/store"
)

// GenesisHash is the prev hash of event 1: 32 zero bytes, in hex.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Chain failures, wrapped by *ChainError.
var (
	// ErrGap: an event's seq does not follow the one before it.
	ErrGap = errors.New("sequence gap")
	// ErrChainBroken: an event's hash is not the hash of its content and
	// the hash before it (a changed, inserted, removed or forked event).
	ErrChainBroken = errors.New("hash chain broken")
)

// ChainError says at which event a chain fails.
type ChainError struct {
	Seq    uint64 // the event that does not follow
	Err    error  // ErrGap or ErrChainBroken
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("wire: event %d: %v: %s", e.Seq, e.Err, e.Reason)
}

// Unwrap returns Err.
func (e *ChainError) Unwrap() error { return e.Err }

// EventHash returns the hash of event e following prev (the hash of the
// event before it, GenesisHash for event 1):
//
//	hex(SHA-256(prev as 32 raw bytes || Canonical(e with Hash set to "")))
//
// in lower-case hex. Canonical(e) is json.Marshal of the store.Event, as
// the store writes it. e.Hash is ignored; prev must be 64 lower-case hex
// digits.
func EventHash(prev string, e store.Event) (string, error) {
	if err := hash("Event", "prev hash", prev); err != nil {
		return "", err
	}
	return store.ChainHash(prev, e) // the one definition, used by the gateway's store too
}

// VerifyChain checks that events continue the chain whose last hash is
// prev: seqs consecutive (else ErrGap) and every Hash equal to EventHash of
// the event and the hash before it (else ErrChainBroken), both as a
// *ChainError carrying the seq of the first event that fails. An empty
// list verifies. The hash of the last event is the new prev.
func VerifyChain(prev string, events []store.Event) error {
	if err := hash("Event", "prev hash", prev); err != nil {
		return fmt.Errorf("wire: verify chain: %w", err)
	}
	for i, e := range events {
		switch {
		case e.Seq == 0:
			return &ChainError{Seq: 0, Err: ErrGap, Reason: "seq 0: seqs start at 1"}
		case i > 0 && e.Seq != events[i-1].Seq+1:
			return &ChainError{Seq: e.Seq, Err: ErrGap, Reason: fmt.Sprintf("follows %d", events[i-1].Seq)}
		}
		want, err := EventHash(prev, e)
		if err != nil {
			return fmt.Errorf("wire: verify chain at event %d: %w", e.Seq, err)
		}
		if e.Hash != want {
			return &ChainError{Seq: e.Seq, Err: ErrChainBroken, Reason: fmt.Sprintf("hash %.64q, want %s", e.Hash, want)}
		}
		prev = e.Hash
	}
	return nil
}

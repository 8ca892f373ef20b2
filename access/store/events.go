package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/pkfreelance/seatgate/access"
)

// Event is one entry of the event log: every tap outcome, deny included,
// and every auto check-out. Seq numbers are gap-free from 1 and each event
// commits in the same transaction as the occupancy change it records.
//
// Time is when the event took effect, in the centre's time zone: the tap
// time, or for an auto_checkout the instant the session should have ended
// (a window end or the cut-off), which may be earlier than the event before
// it. ClockTrusted is false when the wall clock was behind the clock floor
// and the floor was used instead. Since is the start of the session the
// event ended (checkout, move, auto_checkout), so that seat time can be
// counted from one event.
type Event struct {
	Seq          uint64         `json:"seq"`
	Time         time.Time      `json:"time"`
	Kind         access.Outcome `json:"kind"`
	Seat         string         `json:"seat"`
	PrevSeat     string         `json:"prev_seat"`
	Member       string         `json:"member"`
	Card         string         `json:"card"`
	Reader       string         `json:"reader"`
	Reason       access.Reason  `json:"reason"`
	Warning      access.Warning `json:"warning"`
	ClockTrusted bool           `json:"clock_trusted"`
	Since        time.Time      `json:"since,omitzero"`
	// Firmware is set on events of KindFirmware only.
	Firmware *FirmwareReport `json:"firmware,omitempty"`
	// Hash chains the log: see ChainHash. Set when the event is appended.
	Hash string `json:"hash,omitempty"`
}

// GenesisHash is the chain value before the first event: 32 zero bytes.
var GenesisHash = hex.EncodeToString(make([]byte, sha256.Size))

// ChainHash is the hash of ev in the event log's chain: lower-case hex of
// SHA-256(prev || canonical(ev)), where prev is the previous event's hash
// (GenesisHash before event 1) decoded to its 32 bytes and canonical(ev)
// is the JSON encoding of ev with Hash empty (encoding/json of this struct:
// fields in declaration order, no white space; fields added later must be
// omitempty/omitzero so old events keep their hashes). Any change to an
// event, or a missing or reordered one, breaks the chain from there on,
// which HQ checks: an owner cannot invent or delete occupancy unseen.
func ChainHash(prev string, ev Event) (string, error) {
	p, err := hex.DecodeString(prev)
	if err != nil || len(p) != sha256.Size {
		return "", fmt.Errorf("chain hash of event %d: previous hash %q is not 32 bytes of hex", ev.Seq, prev)
	}
	ev.Hash = ""
	b, err := json.Marshal(ev)
	if err != nil {
		return "", fmt.Errorf("chain hash of event %d: %w", ev.Seq, err)
	}
	h := sha256.New()
	h.Write(p)
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// MaxEventsPage is the most events one call to Events returns.
const MaxEventsPage = 10000

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// appendEvent gives ev the next sequence number and stores it.
func (t *txState) appendEvent(ev *Event) error {
	meta := t.tx.Bucket(bucketMeta)
	seq, ok := getU64(meta, keyNextSeq)
	if !ok {
		return fmt.Errorf("meta bucket has no next_seq")
	}
	ev.Seq = seq
	hash, err := ChainHash(string(meta.Get(keyChainHead)), *ev)
	if err != nil {
		return err
	}
	ev.Hash = hash
	b, err := encode(ev)
	if err != nil {
		return fmt.Errorf("encode event %d: %w", seq, err)
	}
	if err := t.tx.Bucket(bucketEvents).Put(seqKey(seq), b); err != nil {
		return err
	}
	if err := meta.Put(keyChainHead, []byte(hash)); err != nil {
		return err
	}
	return meta.Put(keyNextSeq, u64(seq+1))
}

// Events returns up to limit events with Seq > after, oldest first. A limit
// of zero or less, or above MaxEventsPage, means MaxEventsPage.
func (s *Store) Events(after uint64, limit int) ([]Event, error) {
	if limit <= 0 || limit > MaxEventsPage {
		limit = MaxEventsPage
	}
	var out []Event
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			var ev Event
			if err := decode(v, &ev); err != nil {
				return fmt.Errorf("decode event %x: %w", k, err)
			}
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read events after %d: %w", after, err)
	}
	return out, nil
}

// LastSeq returns the sequence number of the newest event, 0 when there is none.
func (s *Store) LastSeq() (uint64, error) {
	var last uint64
	err := s.db.View(func(tx *bbolt.Tx) error {
		next, ok := getU64(tx.Bucket(bucketMeta), keyNextSeq)
		if !ok {
			return fmt.Errorf("meta bucket has no next_seq")
		}
		last = next - 1
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read last sequence number: %w", err)
	}
	return last, nil
}

package store

import (
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/pkfreelance/seatgate/access"
)

// KindFirmware is the kind of an event that reports a step of a firmware
// update: it changes no seat, and HQ's ledger ignores it. It goes to HQ
// through the outbox like every event, so HQ learns of each step of an
// update even when it happened while HQ was unreachable.
const KindFirmware access.Outcome = "firmware"

// FirmwareReport is what a KindFirmware event says: one entry of the
// update state's history (firmware/state.Entry), and the download's
// progress when it is a downloading step.
type FirmwareReport struct {
	Seq     uint64    `json:"seq"` // the history entry's sequence number
	Phase   string    `json:"phase"`
	Version string    `json:"version,omitempty"`
	Rollout string    `json:"rollout,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Done    int       `json:"done,omitempty"`
	Total   int       `json:"total,omitempty"`
	At      time.Time `json:"at"` // when the step happened (the event's Time is when it was logged)
}

var keyFirmwareReported = []byte("firmware_reported") // uint64: Seq of the last FirmwareReport logged

// FirmwareReported returns the Seq of the last firmware report logged (0:
// none), so that the agent logs each history entry exactly once.
func (s *Store) FirmwareReported() (uint64, error) {
	var seq uint64
	err := s.db.View(func(tx *bbolt.Tx) error {
		seq, _ = getU64(tx.Bucket(bucketMeta), keyFirmwareReported)
		return nil
	})
	return seq, err
}

// ErrReported is returned by LogFirmware for a report at or below the
// last one logged.
var ErrReported = errors.New("firmware report already logged")

// LogFirmware appends a KindFirmware event for r and records r.Seq as
// reported, in one transaction. A report whose Seq is not above the last
// one logged is refused with ErrReported, so a crash between reading the
// history and logging it cannot log an entry twice.
func (s *Store) LogFirmware(r FirmwareReport, wall time.Time) (Event, error) {
	var ev Event
	err := s.db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if last, _ := getU64(meta, keyFirmwareReported); r.Seq <= last {
			return fmt.Errorf("%w: seq %d, last %d", ErrReported, r.Seq, last)
		}
		now, trusted, err := s.clock(meta, wall)
		if err != nil {
			return err
		}
		st := &txState{tx: tx}
		r.At = r.At.UTC()
		ev = Event{Time: now, Kind: KindFirmware, ClockTrusted: trusted, Firmware: &r}
		if err := st.appendEvent(&ev); err != nil {
			return err
		}
		if st.err != nil {
			return st.err
		}
		return meta.Put(keyFirmwareReported, u64(r.Seq))
	})
	if err != nil {
		return Event{}, fmt.Errorf("log firmware step %d: %w", r.Seq, err)
	}
	return ev, nil
}

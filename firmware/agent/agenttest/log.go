// Package agenttest holds what tests of the update agent share: the
// gateway's event log reduced to its firmware reports. Imported by tests
// only.
package agenttest

import (
	"sync"
	"time"

	"github.com/pkfreelance/seatgate/access/store"
)

// Log is an agent.Log that keeps the firmware reports in memory, with
// the store's rule that a report at or below the last one logged is
// refused (store.ErrReported).
type Log struct {
	mu      sync.Mutex
	reports []store.FirmwareReport
}

// FirmwareReported returns the Seq of the last report logged.
func (l *Log) FirmwareReported() (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.reports); n > 0 {
		return l.reports[n-1].Seq, nil
	}
	return 0, nil
}

// LogFirmware keeps r unless it was logged already.
func (l *Log) LogFirmware(r store.FirmwareReport, _ time.Time) (store.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.reports); n > 0 && r.Seq <= l.reports[n-1].Seq {
		return store.Event{}, store.ErrReported
	}
	l.reports = append(l.reports, r)
	return store.Event{Kind: store.KindFirmware, Firmware: &r}, nil
}

// Phases lists the phases reported, in order.
func (l *Log) Phases() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.reports {
		out = append(out, r.Phase)
	}
	return out
}

package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/access/store"
)

// FirmwareReport is the last firmware step a gateway logged, and when HQ
// stored it.
type FirmwareReport struct {
	store.FirmwareReport
	Received time.Time `json:"received"`
}

// RecordFirmware keeps the newest of reports (by their Seq) as the
// gateway's firmware state, unless a newer one is recorded already. Ingest
// calls it with the firmware events of every batch it stores; a report
// handled twice, or late, changes nothing.
func (t *Tracker) RecordFirmware(ctx context.Context, centre, gateway string, reports []store.FirmwareReport) error {
	if len(reports) == 0 {
		return nil
	}
	newest := reports[0]
	for _, r := range reports[1:] {
		if r.Seq > newest.Seq {
			newest = r
		}
	}
	key := centre + "." + gateway + ".firmware"
	for range 10 {
		var rev uint64
		e, err := t.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return err
		default:
			var old FirmwareReport
			if err := json.Unmarshal(e.Value(), &old); err == nil && old.Seq >= newest.Seq {
				return nil
			}
			rev = e.Revision()
		}
		data, err := json.Marshal(FirmwareReport{FirmwareReport: newest, Received: t.o.Now()})
		if err != nil {
			return err
		}
		if rev == 0 {
			_, err = t.kv.Create(ctx, key, data)
		} else {
			_, err = t.kv.Update(ctx, key, data, rev)
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
			return err
		}
	}
	return fmt.Errorf("fleet: firmware report of %s.%s kept changing under us", centre, gateway)
}

package owner

import (
	"encoding/json"
	"time"

	"github.com/pkfreelance/seatgate/web/i18n"
)

// The health report carries the outbox, the HQ link and the readers as
// `any` (each package's own status type); the page reads back the few
// fields it shows through their JSON form, so it depends on their JSON
// names only.

type outboxJSON struct {
	Depth             uint64    `json:"depth"`
	OldestUndelivered time.Time `json:"oldest_undelivered"`
}

type hqJSON struct {
	Link struct {
		Connected bool      `json:"connected"`
		Since     time.Time `json:"since"`
		LastError string    `json:"last_error"`
	} `json:"link"`
	DiskAlarm string `json:"disk_alarm"`
}

type healthReader struct {
	ID, Seat, Error string
	OK              bool
}

type healthView struct {
	Available    bool // false without Options.Health
	Status       string
	StatusClass  string // ok, degraded, failing
	Centre       string
	Gateway      string
	Version      string
	Now          string
	ClockTrusted bool
	Database     string

	HQ          bool // the gateway has an HQ link configured
	HQConnected bool
	HQSince     string
	HQError     string
	DiskAlarm   string

	Outbox      bool
	Undelivered uint64
	OldestAge   string // age of the oldest undelivered event

	Firmware *FirmwareState
	Progress int // percent of the download, when downloading

	Readers  []healthReader
	ReaderOK int
}

// remarshal decodes v's JSON form into out; a mismatch leaves out zero.
func remarshal(v, out any) bool {
	if v == nil {
		return false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	return json.Unmarshal(b, out) == nil
}

func (d *Dashboard) health(l *i18n.Language) healthView {
	var v healthView
	if fw := d.o.Firmware; fw != nil {
		st := fw()
		v.Firmware = &st
		if st.Total > 0 {
			v.Progress = percent(float64(st.Done) / float64(st.Total))
		}
	}
	if d.o.Health == nil {
		return v
	}
	rep := d.o.Health.Health()
	now := d.now()
	v.Available = true
	v.StatusClass = rep.Status
	v.Status = l.T("health.status." + rep.Status)
	v.Centre, v.Gateway, v.Version, v.Database = rep.Centre, rep.Gateway, rep.Version, rep.Database
	v.Now = rep.Now.In(d.loc).Format("2006-01-02 15:04:05")
	v.ClockTrusted = rep.ClockTrusted
	var hq hqJSON
	if v.HQ = remarshal(rep.HQ, &hq); v.HQ {
		v.HQConnected, v.HQError, v.DiskAlarm = hq.Link.Connected, hq.Link.LastError, hq.DiskAlarm
		if !hq.Link.Since.IsZero() {
			v.HQSince = clock(l, hq.Link.Since, now)
		}
	}
	var ob outboxJSON
	if v.Outbox = remarshal(rep.Outbox, &ob); v.Outbox {
		v.Undelivered = ob.Depth
		if !ob.OldestUndelivered.IsZero() {
			v.OldestAge = l.Age(max(now.Sub(ob.OldestUndelivered), 0))
		}
	}
	seatOf := map[string]string{}
	if seats, err := d.o.Store.Seats(); err == nil {
		readerOf, err := d.readersOfSeats(seats)
		if err == nil {
			for seat, reader := range readerOf {
				seatOf[reader] = seat
			}
		}
	}
	for _, r := range readersOf(rep) {
		v.Readers = append(v.Readers, healthReader{ID: r.ID, Seat: seatOf[r.ID], OK: r.OK, Error: r.Error})
		if r.OK {
			v.ReaderOK++
		}
	}
	return v
}

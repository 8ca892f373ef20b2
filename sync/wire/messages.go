package wire

import (
	"time"

	"github.com/pkfreelance/seatgate/access/store"
)

// Version is the protocol version every message carries in "v".
const Version = 1

// Limits.
const (
	// MaxPayload is the largest message, in bytes, that a decoder reads
	// and Encode or Sign produce.
	MaxPayload = 256 << 10
	// MaxBatchEvents is the most events one EventBatch carries.
	MaxBatchEvents = 1000
)

// Status states.
const (
	StateOnline  = "online"
	StateOffline = "offline" // published by the broker as the gateway's last will
)

// EventBatch carries consecutive events of a gateway's log to HQ (topic
// Events, signed with the device key). Events[i].Seq is First+i and
// Last is the Seq of the last event; PrevHash is the hash of event
// First-1 (GenesisHash when First is 1), so that HQ can check that the
// batch continues the chain it holds (VerifyChain).
type EventBatch struct {
	V        int           `json:"v"`
	Centre   string        `json:"centre"`
	Gateway  string        `json:"gateway"`
	Boot     uint64        `json:"boot"` // the gateway's boot counter: 1 at its first start, +1 at each start
	First    uint64        `json:"first"`
	Last     uint64        `json:"last"`
	PrevHash string        `json:"prev_hash"`
	Events   []store.Event `json:"events"`
	Sig      string        `json:"sig,omitempty"`
}

// Birth announces a start of the gateway (topic Birth, retained, signed
// with the device key). KeyID is KeyID of the device's public key, so HQ
// can tell a re-keyed device from a forgery.
type Birth struct {
	V         int       `json:"v"`
	Centre    string    `json:"centre"`
	Gateway   string    `json:"gateway"`
	Boot      uint64    `json:"boot"`
	Firmware  string    `json:"firmware"`   // the running firmware version
	StartedAt time.Time `json:"started_at"` // the gateway's clock at start (it may not be trusted)
	KeyID     string    `json:"key_id"`
	// Channel, Arch and Hardware say which releases the gateway takes
	// (firmware.channel, its build, firmware.hardware); absent when it
	// takes none. HQ's rollouts count only the gateways they apply to.
	Channel  string `json:"channel,omitempty"`
	Arch     string `json:"arch,omitempty"`
	Hardware string `json:"hardware,omitempty"`
	Sig      string `json:"sig,omitempty"`
}

// Status is the gateway's presence (topic Status, retained): "online"
// once connected, "offline" as its last will. It is not signed: the broker
// publishes the will, and presence is not evidence.
type Status struct {
	V     int    `json:"v"`
	State string `json:"state"` // StateOnline or StateOffline
	Boot  uint64 `json:"boot"`
}

// Health is the gateway's periodic report (topic Health, QoS 0, every
// 60 s). It is not signed.
type Health struct {
	V             int       `json:"v"`
	Time          time.Time `json:"time"` // the gateway's clock when measured
	Boot          uint64    `json:"boot"`
	UptimeSec     int64     `json:"uptime_s"` // seconds since the gateway process started
	Firmware      string    `json:"firmware"`
	OutboxDepth   uint64    `json:"outbox_depth"`    // events not yet acknowledged by HQ
	OutboxOldest  int64     `json:"outbox_oldest_s"` // age in seconds of the oldest of them; 0 when none
	DiskFree      uint64    `json:"disk_free_bytes"` // free space on the data directory's file system
	ReadersOK     int       `json:"readers_ok"`
	ReadersTotal  int       `json:"readers_total"`
	ClockTrusted  bool      `json:"clock_trusted"`  // the wall clock is not behind the time floor
	MembershipRev int64     `json:"membership_rev"` // revision of the membership in force; 0 when none
	// Update is the firmware update in progress or last finished; absent
	// when the gateway was never assigned one.
	Update *UpdateHealth `json:"update,omitempty"`
}

// UpdateHealth is the update part of Health: the phase of the state
// machine (docs/firmware.md) and, while downloading, chunks done of total.
type UpdateHealth struct {
	Phase   string `json:"phase"`
	Version string `json:"version,omitempty"`
	Rollout string `json:"rollout,omitempty"`
	Done    int    `json:"done,omitempty"`
	Total   int    `json:"total,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// Occupancy is the live state of every seat (topic Occupancy, retained,
// at most one a second). It is evidence of nothing (the events are), so
// Sig is optional; when present it is the device key's.
type Occupancy struct {
	V     int             `json:"v"`
	Time  time.Time       `json:"time"`
	Seats []SeatOccupancy `json:"seats"`
	Sig   string          `json:"sig,omitempty"`
}

// SeatOccupancy is one seat of an Occupancy. A free seat has no Member and
// no Since; an occupied one has both.
type SeatOccupancy struct {
	Seat   string    `json:"seat"`
	Zone   string    `json:"zone"`
	State  string    `json:"state"` // store.SeatFree or store.SeatOccupied
	Member string    `json:"member,omitempty"`
	Since  time.Time `json:"since,omitzero"`
}

// JournalWant asks HQ for the journal from revision From on (topic
// JournalWant): the gateway's revision + 1. HQ answers on the gateway's
// JournalCatchUp topic with entries, or snapshot chunks when From is too
// old.
type JournalWant struct {
	V    int   `json:"v"`
	From int64 `json:"from"`
}

// Ack tells a gateway that HQ has stored its events up to and including
// Upto durably (topic Ack, signed with the HQ key). Centre and Gateway
// name the gateway it is for: HQ's key signs the acks of every gateway, so
// a gateway must reject an ack naming another (gateway IDs repeat across
// centres). Boot is the boot of the batch acknowledged.
type Ack struct {
	V       int    `json:"v"`
	Centre  string `json:"centre"`
	Gateway string `json:"gateway"`
	Boot    uint64 `json:"boot"`
	Upto    uint64 `json:"upto"`
	Sig     string `json:"sig,omitempty"`
}

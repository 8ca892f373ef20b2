package fleetbench

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// TestBatchLast: the seq of a batch's last event is read from the bytes
// wire.Encode writes, as the drainer publishes them.
func TestBatchLast(t *testing.T) {
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	log := &ingesttest.Log{}
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	for i := range 12 {
		// Members and seats named "last" must not confuse it.
		log.Append(store.Event{Time: at.Add(time.Duration(i) * time.Minute), Kind: access.OutcomeCheckin, Seat: "last",
			Member: `"last":1`, Reader: "r-1", ClockTrusted: true})
	}
	all := log.All()
	topics := wire.Topics{Centre: "c-1", Gateway: "gw-1"}
	tests := []struct {
		name        string
		first, last int
	}{
		{"one event", 1, 1},
		{"from the start", 1, 9},
		{"two digits", 10, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev := wire.GenesisHash
			if tt.first > 1 {
				prev = all[tt.first-2].Hash
			}
			payload := ingesttest.Batch(t, key, topics, 1, prev, all[tt.first-1:tt.last])
			got, err := batchLast(payload)
			if err != nil || got != uint64(tt.last) {
				t.Errorf("got %d, %v; want %d", got, err, tt.last)
			}
		})
	}
	for _, bad := range []string{`{"v":1}`, `{"last":}`, ``} {
		if got, err := batchLast([]byte(bad)); err == nil {
			t.Errorf("batchLast(%q) = %d, want an error", bad, got)
		}
	}
}

// TestPendingTimes: an acknowledgement completes every send at or below
// its watermark, once, measured from the first send of each seq.
func TestPendingTimes(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	p := newPendingTimes()
	p.sent(3, t0) // not recorded yet: no sample, but it is completed
	p.acked(3, t0.Add(time.Second))
	p.setRecording(true)
	p.sent(5, t0)
	p.sent(5, t0.Add(time.Second)) // a resend keeps the first time
	p.sent(8, t0.Add(2*time.Second))
	p.acked(4, t0.Add(3*time.Second)) // covers nothing
	if got := p.waiting(); got != 2 {
		t.Fatalf("waiting: got %d, want 2", got)
	}
	p.acked(6, t0.Add(3*time.Second))
	p.acked(9, t0.Add(4*time.Second))
	p.acked(9, t0.Add(5*time.Second)) // again: nothing left
	got := p.take()
	want := []time.Duration{3 * time.Second, 2 * time.Second}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("samples: got %v, want %v", got, want)
	}
	if p.waiting() != 0 || len(p.take()) != 0 {
		t.Error("take did not empty the samples, or sends are left")
	}
}

func TestBlur(t *testing.T) {
	tests := []struct{ in, want string }{
		{"connect to tls://127.0.0.1:41023: EOF", "connect to tls://N.N.N.N:N: EOF"},
		{"subscribe seats/v1/c-00042/gw-1/ack: refused", "subscribe seats/vN/c-N/gw-N/ack: refused"},
		{"no digits", "no digits"},
	}
	for _, tt := range tests {
		if got := blur(tt.in); got != tt.want {
			t.Errorf("blur(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

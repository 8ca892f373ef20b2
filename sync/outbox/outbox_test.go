package outbox_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/sync/outbox"
	"github.com/pkfreelance/seatgate/sync/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	devPub, devKey, _ = ed25519.GenerateKey(nil)
	hqPub, hqKey, _   = ed25519.GenerateKey(nil)
	topics            = wire.Topics{Centre: "lhr-01", Gateway: "gw-1"}
	t0                = time.Date(2026, 11, 26, 10, 0, 0, 0, time.FixedZone("PKT", 5*3600))
)

// openLog is a store with one seat and n logged taps.
func openLog(t *testing.T, n int) *store.Store {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), "seatgate.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("store check: %v", err)
		}
		s.Close()
	})
	if err := s.SetSeats([]access.Seat{{ID: "A-01", Zone: "A", Reader: "desk-1"}}); err != nil {
		t.Fatal(err)
	}
	appendTaps(t, s, n)
	return s
}

func appendTaps(t *testing.T, s *store.Store, n int) {
	t.Helper()
	for i := range n {
		when := t0.Add(time.Duration(i) * time.Second)
		if _, _, err := s.Tap(access.Tap{Reader: "desk-1", UID: "FFEE0001", At: when}, when); err != nil {
			t.Fatal(err)
		}
	}
}

// hq records what it is sent and verifies it like the real HQ would.
type hq struct {
	t       *testing.T
	mu      sync.Mutex
	batches []wire.EventBatch
	fail    error
	chain   string
	upto    uint64
}

func (h *hq) Publish(_ context.Context, topic string, qos byte, retained bool, payload []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail != nil {
		return h.fail
	}
	if topic != topics.Events() || qos != 1 || retained {
		h.t.Errorf("published to %s qos %d retained %v", topic, qos, retained)
	}
	b, err := wire.DecodeEventBatch(payload)
	if err != nil {
		h.t.Fatalf("HQ cannot decode a batch: %v", err)
	}
	if err := wire.Verify(devPub, &b); err != nil {
		h.t.Fatalf("batch signature: %v", err)
	}
	h.batches = append(h.batches, b)
	// Store in order: a batch that continues what HQ holds extends it.
	if b.First == h.upto+1 {
		if b.PrevHash != h.chain && h.upto > 0 {
			h.t.Fatalf("batch %d..%d does not continue the chain", b.First, b.Last)
		}
		if err := store.VerifyChain(b.PrevHash, b.Events); err != nil {
			h.t.Fatalf("chain: %v", err)
		}
		h.upto, h.chain = b.Last, b.Events[len(b.Events)-1].Hash
	}
	return nil
}

func (h *hq) ack(t *testing.T, upto uint64, key ed25519.PrivateKey, gateway string) []byte {
	t.Helper()
	a := wire.Ack{V: wire.Version, Centre: topics.Centre, Gateway: gateway, Boot: 1, Upto: upto}
	if err := wire.Sign(key, &a); err != nil {
		t.Fatal(err)
	}
	b, err := wire.Encode(&a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func run(t *testing.T, d *outbox.Drainer) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func delivered(s *store.Store) uint64 { o, _ := s.Outbox(); return o.Delivered }

func TestDrainsInOrderWithinTheWindow(t *testing.T) {
	s := openLog(t, 250)
	h := &hq{t: t, chain: store.GenesisHash}
	d := outbox.New(s, h, outbox.Options{Topics: topics, Boot: 1, Key: devKey, HQKey: hqPub,
		BatchSize: 40, Window: 100, Rate: 1000})
	run(t, d)
	waitFor(t, "the window to fill", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.upto == 100 })
	time.Sleep(50 * time.Millisecond)
	h.mu.Lock()
	if h.upto != 100 || len(h.batches) != 3 {
		t.Errorf("without acks HQ got up to %d in %d batches, want 100 in 3 (40+40+20)", h.upto, len(h.batches))
	}
	h.mu.Unlock()
	for _, up := range []uint64{100, 200, 250} {
		if err := d.HandleAck(h.ack(t, up, hqKey, topics.Gateway)); err != nil {
			t.Fatalf("ack %d: %v", up, err)
		}
		waitFor(t, "more batches", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.upto >= min(up+100, 250) })
	}
	if delivered(s) != 250 {
		t.Errorf("delivered = %d, want 250", delivered(s))
	}
	// New events are sent when they appear.
	appendTaps(t, s, 5)
	d.Notify()
	waitFor(t, "the new events", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.upto == 255 })
}

func TestBadAcksChangeNothing(t *testing.T) {
	s := openLog(t, 10)
	h := &hq{t: t, chain: store.GenesisHash}
	d := outbox.New(s, h, outbox.Options{Topics: topics, Boot: 1, Key: devKey, HQKey: hqPub, Rate: 1000})
	run(t, d)
	waitFor(t, "the batch", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.upto == 10 })
	_, otherKey, _ := ed25519.GenerateKey(nil)
	good := h.ack(t, 5, hqKey, topics.Gateway)
	tests := []struct {
		name    string
		payload []byte
		wantIs  error
	}{
		{"signed by another key (a malicious broker)", h.ack(t, 10, otherKey, topics.Gateway), wire.ErrBadSignature},
		{"for another gateway", h.ack(t, 10, hqKey, "gw-2"), outbox.ErrAckForeign},
		{"beyond the log", h.ack(t, 11, hqKey, topics.Gateway), store.ErrAckBeyondLog},
		{"garbage", []byte("{\"v\":1,"), wire.ErrMalformed},
		{"tampered after signing", []byte(string(good[:len(good)-1]) + " "), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.HandleAck(tt.payload)
			if tt.name == "tampered after signing" {
				// Trailing space is still the same JSON; change the watermark instead.
				tampered := []byte(string(good))
				for i := range tampered {
					if string(tampered[i:i+8]) == `"upto":5` {
						tampered[i+7] = '9'
						break
					}
				}
				err = d.HandleAck(tampered)
				tt.wantIs = wire.ErrBadSignature
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("HandleAck = %v, want %v", err, tt.wantIs)
			}
			if got := delivered(s); got != 0 {
				t.Errorf("delivered = %d after a bad ack, want 0", got)
			}
		})
	}
	if err := d.HandleAck(good); err != nil || delivered(s) != 5 {
		t.Errorf("good ack: %v, delivered %d", err, delivered(s))
	}
	if st := d.Stats(); st.AcksRejected < 5 || st.Acks != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestResendsAfterReconnectAndAckTimeout(t *testing.T) {
	s := openLog(t, 30)
	h := &hq{t: t, chain: store.GenesisHash}
	d := outbox.New(s, h, outbox.Options{Topics: topics, Boot: 1, Key: devKey, HQKey: hqPub, Rate: 1000,
		BatchSize: 10, AckTimeout: 300 * time.Millisecond, Retry: 20 * time.Millisecond})
	run(t, d)
	waitFor(t, "everything sent", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.upto == 30 })
	d.HandleAck(h.ack(t, 10, hqKey, topics.Gateway))
	// The link drops and comes back: what was in flight is sent again.
	h.mu.Lock()
	n := len(h.batches)
	h.mu.Unlock()
	d.Connected()
	waitFor(t, "a resend from the watermark", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, b := range h.batches[n:] { // (on a slow machine AckTimeout may resend first)
			if b.First == 11 {
				return true
			}
		}
		return false
	})
	// No ack at all: after AckTimeout it sends again.
	waitFor(t, "the reconnect resend to finish", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.batches[len(h.batches)-1].Last == 30
	})
	h.mu.Lock()
	n = len(h.batches)
	h.mu.Unlock()
	waitFor(t, "a resend after the ack timeout", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, b := range h.batches[n:] {
			if b.First == 11 {
				return true
			}
		}
		return false
	})
	if d.Stats().Resends < 2 {
		t.Errorf("resends = %d, want ≥ 2", d.Stats().Resends)
	}
	// The broker refuses: the drainer retries and gets through.
	h.mu.Lock()
	h.fail = errors.New("mqtt link is not connected")
	h.mu.Unlock()
	appendTaps(t, s, 1)
	d.Notify()
	time.Sleep(50 * time.Millisecond)
	h.mu.Lock()
	h.fail = nil
	h.mu.Unlock()
	d.HandleAck(h.ack(t, 30, hqKey, topics.Gateway))
	waitFor(t, "event 31", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.upto == 31 })
}

// An acknowledgement that does not move the watermark while events are in
// flight means a batch before them was lost (HQ answers a batch that comes
// before its predecessor with its head): the drainer resends at once, not
// after AckTimeout.
func TestResendsAtOnceOnAnAckThatDoesNotMove(t *testing.T) {
	s := openLog(t, 30)
	h := &hq{t: t, chain: store.GenesisHash}
	d := outbox.New(s, h, outbox.Options{Topics: topics, Boot: 1, Key: devKey, HQKey: hqPub, Rate: 1000,
		BatchSize: 10, AckTimeout: time.Second, Retry: 20 * time.Millisecond})
	run(t, d)
	waitFor(t, "everything sent", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.upto == 30 })
	d.HandleAck(h.ack(t, 10, hqKey, topics.Gateway)) // batch 1 stored; batch 2 lost
	h.mu.Lock()
	n := len(h.batches)
	h.mu.Unlock()
	// A late ack right after a moving one is not a loss: nothing is resent.
	d.HandleAck(h.ack(t, 5, hqKey, topics.Gateway))
	if st := d.Stats(); st.Resends != 0 {
		t.Fatalf("resent on a late ack: %+v", st)
	}
	time.Sleep(150 * time.Millisecond)               // AckTimeout/10 without progress
	d.HandleAck(h.ack(t, 10, hqKey, topics.Gateway)) // HQ's answer to batch 3: its head is still 10
	waitFor(t, "a resend from the watermark", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.batches) > n && h.batches[n].First == 11
	})
	if st := d.Stats(); st.Resends != 1 || st.Acks != 3 {
		t.Errorf("stats %+v, want 1 resend and 3 acks", st)
	}
}

// After a quiet spell longer than AckTimeout (a centre at night), the first
// new batch is not sent twice: the wait for its ack starts when it goes out.
func TestNoResendAfterAQuietSpell(t *testing.T) {
	s := openLog(t, 10)
	h := &hq{t: t, chain: store.GenesisHash}
	d := outbox.New(s, h, outbox.Options{Topics: topics, Boot: 1, Key: devKey, HQKey: hqPub, Rate: 1000,
		BatchSize: 10, AckTimeout: time.Second, Retry: 20 * time.Millisecond})
	run(t, d)
	waitFor(t, "the first batch", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.upto == 10 })
	d.HandleAck(h.ack(t, 10, hqKey, topics.Gateway))
	time.Sleep(1200 * time.Millisecond) // quiet for longer than AckTimeout
	appendTaps(t, s, 5)
	d.Notify()
	waitFor(t, "the new batch", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.upto == 15 })
	time.Sleep(300 * time.Millisecond) // less than AckTimeout: no resend due
	h.mu.Lock()
	n := len(h.batches)
	h.mu.Unlock()
	if n != 2 {
		t.Fatalf("%d batches sent, want 2 (the first new batch was resent at once)", n)
	}
}

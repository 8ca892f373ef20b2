package registry_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
	"github.com/pkfreelance/seatgate/hq/registry"
)

func TestEnrolReplaceRemoveSeenByEveryInstance(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := ingesttest.NewPKI(t)
	b := ingesttest.StartBroker(t, p.BrokerOptions(t))
	_, js := ingesttest.Connect(t, b.ClientURL())
	a, err := registry.Open(ctx, js, 1, ingesttest.TestLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	_, js2 := ingesttest.Connect(t, b.ClientURL())
	other, err := registry.Open(ctx, js2, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	var changes atomic.Int32
	other.OnChange(func() { changes.Add(1) })

	pub1, _ := ingesttest.Key(t)
	pub2, _ := ingesttest.Key(t)
	g, err := a.Enrol(ctx, registry.Gateway{Centre: "lhr-01", Gateway: "gw-1", DeviceKey: pub1}, false)
	if err != nil {
		t.Fatal(err)
	}
	if g.KeyID == "" || g.EnrolledAt.IsZero() {
		t.Fatalf("enrolment not filled in: %+v", g)
	}
	ingesttest.WaitFor(t, "the other instance sees the enrolment", 10*time.Second, func() bool {
		k, ok := other.GatewayKey("lhr-01", "gw-1")
		return ok && k.Equal(pub1)
	})
	// Same key again: nothing changes. Another key: refused, unless replacing.
	if _, err := a.Enrol(ctx, registry.Gateway{Centre: "lhr-01", Gateway: "gw-1", DeviceKey: pub1}, false); err != nil {
		t.Fatalf("re-enrolling the same key: %v", err)
	}
	if _, err := a.Enrol(ctx, registry.Gateway{Centre: "lhr-01", Gateway: "gw-1", DeviceKey: pub2}, false); !errors.Is(err, registry.ErrExists) {
		t.Fatalf("another key without replace: %v, want ErrExists", err)
	}
	if k, _ := a.GatewayKey("lhr-01", "gw-1"); !k.Equal(pub1) {
		t.Fatal("a refused enrolment changed the key")
	}
	if _, err := a.Enrol(ctx, registry.Gateway{Centre: "lhr-01", Gateway: "gw-1", DeviceKey: pub2}, true); err != nil {
		t.Fatal(err)
	}
	ingesttest.WaitFor(t, "the other instance sees the new key", 10*time.Second, func() bool {
		k, ok := other.GatewayKey("lhr-01", "gw-1")
		return ok && k.Equal(pub2)
	})
	if err := a.Remove(ctx, "lhr-01", "gw-1"); err != nil {
		t.Fatal(err)
	}
	ingesttest.WaitFor(t, "the other instance sees the removal", 10*time.Second, func() bool {
		_, ok := other.GatewayKey("lhr-01", "gw-1")
		return !ok
	})
	if changes.Load() < 3 {
		t.Fatalf("OnChange called %d times, want 3", changes.Load())
	}
	if err := a.Remove(ctx, "lhr-01", "gw-1"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("removing twice: %v", err)
	}

	// A third instance opened later loads what is there.
	if _, err := a.Enrol(ctx, registry.Gateway{Centre: "khi-02", Gateway: "gw-9", DeviceKey: pub1, Note: "Clifton, floor 2"}, false); err != nil {
		t.Fatal(err)
	}
	late, err := registry.Open(ctx, js2, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := late.List(""); len(got) != 1 || got[0].Centre != "khi-02" || got[0].Note != "Clifton, floor 2" {
		t.Fatalf("late instance lists %+v", got)
	}
}

func TestEnrolRefusesBadInput(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := ingesttest.NewPKI(t)
	b := ingesttest.StartBroker(t, p.BrokerOptions(t))
	_, js := ingesttest.Connect(t, b.ClientURL())
	r, err := registry.Open(ctx, js, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := ingesttest.Key(t)
	for name, g := range map[string]registry.Gateway{
		"upper-case centre": {Centre: "LHR", Gateway: "gw-1", DeviceKey: pub},
		"dot in gateway":    {Centre: "lhr", Gateway: "gw.1", DeviceKey: pub},
		"reserved gateway":  {Centre: "lhr", Gateway: "journal", DeviceKey: pub},
		"short key":         {Centre: "lhr", Gateway: "gw-1", DeviceKey: pub[:31]},
		"no key":            {Centre: "lhr", Gateway: "gw-1"},
		"long note":         {Centre: "lhr", Gateway: "gw-1", DeviceKey: pub, Note: string(make([]byte, 201))},
	} {
		if _, err := r.Enrol(ctx, g, false); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if n := len(r.List("")); n != 0 {
		t.Fatalf("%d gateways enrolled from bad input", n)
	}
}

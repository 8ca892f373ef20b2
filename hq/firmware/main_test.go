package firmware_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/releasetest"
	"github.com/pkfreelance/seatgate/hq/firmware"
	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Fixed keys: root keys r1…r3, release keys k1 and k2, and a stranger no
// root lists.
var (
	r1, r2, r3 = releasetest.SeedKey(0x11), releasetest.SeedKey(0x12), releasetest.SeedKey(0x13)
	k1, k2     = releasetest.SeedKey(0x21), releasetest.SeedKey(0x22)
	stranger   = releasetest.SeedKey(0x99)
)

// now is when the fixtures are made: the store verifies at the real time.
var now = time.Now().UTC().Truncate(time.Second)

// root returns root version v with one root key and the given release
// keys, valid for a year.
func root(v uint64, rk ed25519.PrivateKey, rel ...ed25519.PrivateKey) release.Root {
	return releasetest.Root(v, now.AddDate(1, 0, 0), rk, rel...)
}

// root1 is root version 1: root key r1, release key k1.
func root1(t testing.TB) []byte { return releasetest.SignRoot(t, root(1, r1, k1), r1) }

// manifest builds the manifest of version for data.
func manifest(t testing.TB, version string, data []byte) release.Manifest {
	t.Helper()
	return releasetest.Build(t, data, release.Manifest{
		Product: release.ProductBinary, Version: version, Channel: "stable", Arch: "linux/arm64",
		Created: now.Add(-time.Minute), Notes: "test release",
	})
}

// env is an embedded HQ broker with a store, its public handler on a test
// server and its API on another.
type env struct {
	ctx   context.Context
	js    jetstream.JetStream
	store *firmware.Store
	srv   *httptest.Server // Handler
	api   *httptest.Server // APIHandler
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	p := ingesttest.NewPKI(t)
	b := ingesttest.StartBroker(t, p.BrokerOptions(t))
	_, js := ingesttest.Connect(t, b.ClientURL())
	s, err := firmware.NewStore(ctx, js, 1, firmware.WithLogger(ingesttest.TestLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ctx: ctx, js: js, store: s, srv: httptest.NewServer(s.Handler()), api: httptest.NewServer(firmware.APIHandler(s))}
	t.Cleanup(e.api.Close)
	t.Cleanup(e.srv.Close)
	return e
}

// withRoot1 stores root1.
func (e *env) withRoot1(t testing.TB) *env {
	t.Helper()
	if _, err := e.store.PutRoot(e.ctx, root1(t)); err != nil {
		t.Fatalf("PutRoot: %v", err)
	}
	return e
}

// objectMsgs is the number of messages in the object store's stream: chunks
// and object metadata.
func (e *env) objectMsgs(t testing.TB) uint64 {
	t.Helper()
	st, err := e.js.Stream(e.ctx, "OBJ_"+firmware.ObjectBucket)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// wantErr fails t unless err wraps every one of want (none: err is nil).
func wantErr(t testing.TB, what string, err error, want ...error) {
	t.Helper()
	if len(want) == 0 && err != nil {
		t.Fatalf("%s: got error %v, want none", what, err)
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Fatalf("%s: got error %v, want %v", what, err, w)
		}
	}
}

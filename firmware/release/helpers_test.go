package release_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/releasetest"
)

// Fixed keys, so that failures and the example are reproducible: root
// keys r1…r4, release keys k1…k3, and a stranger the roots never list.
var (
	r1, r2, r3, r4 = releasetest.SeedKey(0x11), releasetest.SeedKey(0x12), releasetest.SeedKey(0x13), releasetest.SeedKey(0x14)
	k1, k2, k3     = releasetest.SeedKey(0x21), releasetest.SeedKey(0x22), releasetest.SeedKey(0x23)
	stranger       = releasetest.SeedKey(0x99)
)

// now is the time the tests verify at; roots and keys of the fixtures are
// valid from before it until a year after.
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// testRoot is root version 1: root keys r1, r2, r3 with threshold 2,
// release keys k1 and k2, all valid for a year from now.
func testRoot() release.Root {
	return release.Root{
		Version:       1,
		Expires:       now.AddDate(1, 0, 0),
		RootKeys:      []release.Key{releasetest.RootKey(r1), releasetest.RootKey(r2), releasetest.RootKey(r3)},
		RootThreshold: 2,
		ReleaseKeys:   []release.Key{releasetest.ReleaseKey(k1, now.AddDate(1, 0, 0)), releasetest.ReleaseKey(k2, now.AddDate(1, 0, 0))},
	}
}

func newTrust(t testing.TB) *release.Trust {
	t.Helper()
	tr, err := release.NewTrust(releasetest.SignRoot(t, testRoot(), r1, r2))
	if err != nil {
		t.Fatalf("NewTrust: %v", err)
	}
	return tr
}

// testManifest is version 1.4.2 of the binary for linux/arm64 on stable,
// built from a 10 KiB artifact in 4 KiB chunks (3 chunks, the last 2 KiB).
func testManifest(t testing.TB) release.Manifest {
	t.Helper()
	return releasetest.Build(t, releasetest.Bytes(10<<10, 0), release.Manifest{
		Product: release.ProductBinary, Version: "1.4.2", Channel: "stable", Arch: "linux/arm64",
		Hardware: []string{"rpi4", "cm4"}, MinFrom: "1.2", ChunkSize: 4 << 10,
		Created: now.Add(-time.Hour), Notes: "fixes the desk LED <blink> & friends",
	})
}

// wantErr fails t unless err wraps want (want nil: err is nil).
func wantErr(t testing.TB, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("got error %v, want none", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("got error %v, want %v", err, want)
	}
}

// replace returns b with the first old replaced by new, failing t if b
// has no old.
func replace(t testing.TB, b []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s has no %q", b, old)
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

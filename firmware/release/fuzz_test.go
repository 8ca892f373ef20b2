package release_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/releasetest"
)

// manifestSeeds are signed manifests and near misses: by a release key,
// by a stranger, re-indented, unsigned, tampered, with an expiry, a
// single chunk, no hardware.
func manifestSeeds(t testing.TB) [][]byte {
	m := testManifest(t)
	small, err := release.Build(bytes.NewReader([]byte("x")), release.Manifest{Product: release.ProductImage,
		Version: "0.0.0.1", Channel: "beta", Arch: "linux/amd64", Created: now, Expires: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	good := releasetest.SignManifest(t, m, k1)
	return [][]byte{
		good,
		releasetest.SignManifest(t, small, k2),
		releasetest.SignManifest(t, m, stranger),
		indent(t, good),
		unsignedEnvelope(t, m),
		flipChunkDigit(t, good),
		replace(t, good, `"version"`, `"Version"`),
		good[:len(good)/2],
	}
}

// FuzzParseManifest: ParseManifest never panics, fails only with
// ErrMalformed, and what it accepts is a valid manifest whose chunks cover
// its size and that SignManifest signs and ParseManifest reads back the
// same.
func FuzzParseManifest(f *testing.F) {
	for _, s := range manifestSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := release.ParseManifest(in)
		if err != nil {
			if !errors.Is(err, release.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		var total int64
		for i := range m.NumChunks() {
			off, n := m.ChunkRange(i)
			if off != total || n <= 0 || n > m.ChunkSize {
				t.Fatalf("chunk %d at %d+%d, want at %d", i, off, n, total)
			}
			total += n
		}
		if total != m.Size || len(m.Chunks) != m.NumChunks() {
			t.Fatalf("%d chunk hashes covering %d bytes, want %d covering %d", len(m.Chunks), total, m.NumChunks(), m.Size)
		}
		signed, err := release.SignManifest(m, k1)
		if err != nil {
			t.Fatalf("accepted %q, but SignManifest refuses it: %v", in, err)
		}
		again, err := release.ParseManifest(signed)
		if err != nil {
			t.Fatalf("accepted %q, but not its signed form %s: %v", in, signed, err)
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("read %q as %+v, its signed form as %+v", in, m, again)
		}
	})
}

// FuzzParseRoot: ParseRoot never panics, fails only with ErrMalformed, and
// what it accepts SignRoot signs and ParseRoot reads back the same, and
// NewTrust either accepts or refuses as ErrThreshold.
func FuzzParseRoot(f *testing.F) {
	good := releasetest.SignRoot(f, testRoot(), r1, r2)
	for _, s := range [][]byte{
		good,
		releasetest.SignRoot(f, nextRoot(), r1, r2, r4),
		releasetest.SignRoot(f, testRoot(), r1),
		indent(f, good),
		unsignedEnvelope(f, testRoot()),
		replace(f, good, `"root_threshold":2`, `"root_threshold":1`),
		replace(f, good, `"root_threshold":2`, `"root_threshold":1,"root_threshold":2`),
		good[:len(good)-3],
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := release.ParseRoot(in)
		if err != nil {
			if !errors.Is(err, release.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if _, err := release.NewTrust(in); err != nil && !errors.Is(err, release.ErrThreshold) {
			t.Fatalf("ParseRoot accepts %q, NewTrust fails with %v", in, err)
		}
		signed, err := release.SignRoot(r, r1)
		if err != nil {
			t.Fatalf("accepted %q, but SignRoot refuses it: %v", in, err)
		}
		again, err := release.ParseRoot(signed)
		if err != nil {
			t.Fatalf("accepted %q, but not its signed form %s: %v", in, signed, err)
		}
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("read %q as %+v, its signed form as %+v", in, r, again)
		}
	})
}

// FuzzVerifyManifest: Trust.VerifyManifest never panics, fails only with
// its errors, and accepts nothing a release key did not sign: whatever it
// accepts encodes to the signed bytes of one of the seeds signed by k1 or
// k2.
func FuzzVerifyManifest(f *testing.F) {
	tr := newTrust(f)
	signed := map[string]bool{}
	for _, s := range manifestSeeds(f) {
		f.Add(s)
		if m, err := tr.VerifyManifest(s, now); err == nil {
			b, err := json.Marshal(m)
			if err != nil {
				f.Fatal(err)
			}
			signed[string(b)] = true
		}
	}
	if len(signed) != 2 {
		f.Fatalf("%d seeds verify, want 2", len(signed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := tr.VerifyManifest(in, now)
		if err != nil {
			for _, want := range []error{release.ErrMalformed, release.ErrSignature, release.ErrUnknownKey, release.ErrExpired} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("error %v is none of VerifyManifest's", err)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if !signed[string(b)] {
			t.Fatalf("accepted %q as %s, which no release key signed", in, b)
		}
	})
}

// FuzzCompareVersions: the order is total: antisymmetric, reflexive,
// transitive, with invalid versions below valid ones.
func FuzzCompareVersions(f *testing.F) {
	for _, s := range [][3]string{
		{"1.4.2", "1.4.10", "1.5"},
		{"1.2", "1.2.0", "1.2.0.0"},
		{"dev", "0", "1.04"},
		{"", "999999.999999.999999.999999", "1.2.3.4.5"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		ab, ba := release.CompareVersions(a, b), release.CompareVersions(b, a)
		if ab != -ba || ab < -1 || ab > 1 {
			t.Fatalf("CompareVersions(%q, %q) = %d, reversed %d", a, b, ab, ba)
		}
		if release.CompareVersions(a, a) != 0 {
			t.Fatalf("CompareVersions(%q, itself) != 0", a)
		}
		if va, vb := release.ValidVersion(a) == nil, release.ValidVersion(b) == nil; va != vb && (ab > 0) != va {
			t.Fatalf("CompareVersions(%q valid %v, %q valid %v) = %d", a, va, b, vb, ab)
		}
		bc, ac := release.CompareVersions(b, c), release.CompareVersions(a, c)
		if ab <= 0 && bc <= 0 && ac > 0 {
			t.Fatalf("%q <= %q <= %q but %q > %q", a, b, c, a, c)
		}
		if ab == 0 && bc == 0 && ac != 0 {
			t.Fatalf("%q == %q == %q but %q != %q", a, b, c, a, c)
		}
	})
}

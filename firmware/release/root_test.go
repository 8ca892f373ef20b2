package release_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/releasetest"
)

func TestRootRoundTrip(t *testing.T) {
	r := testRoot()
	b := releasetest.SignRoot(t, r, r1, r2)
	got, err := release.ParseRoot(b)
	if err != nil {
		t.Fatal(err)
	}
	r.Type = release.TypeRoot
	if !reflect.DeepEqual(got, r) {
		t.Errorf("got %+v\nwant %+v", got, r)
	}
	if _, err := release.ParseRoot(indent(t, b)); err != nil {
		t.Errorf("re-indented: %v", err)
	}
}

// A root without release keys (all revoked) is a valid root, written with
// an empty list.
func TestRootWithoutReleaseKeys(t *testing.T) {
	r := testRoot()
	r.ReleaseKeys = nil
	b := releasetest.SignRoot(t, r, r1, r2)
	if !strings.Contains(string(b), `"release_keys":[]`) {
		t.Fatalf("%s: want release_keys written as []", b)
	}
	if _, err := release.ParseRoot(b); err != nil {
		t.Fatal(err)
	}
	_, err := release.ParseRoot(replace(t, b, `"release_keys":[]`, `"release_keys":null`))
	wantErr(t, err, release.ErrMalformed)
}

// Every rule of a root, broken once: SignRoot and ParseRoot refuse it as
// ErrMalformed, naming the field.
func TestRootRules(t *testing.T) {
	otherPub := base64.StdEncoding.EncodeToString(releasetest.Public(stranger))
	for _, tt := range []struct {
		name   string
		change func(*release.Root)
		field  string
	}{
		{"type", func(r *release.Root) { r.Type = release.TypeManifest }, "type"},
		{"version 0", func(r *release.Root) { r.Version = 0 }, "version"},
		{"no expiry", func(r *release.Root) { r.Expires = time.Time{} }, "expires"},
		{"no root keys", func(r *release.Root) { r.RootKeys = nil }, "root_keys"},
		{"threshold 0", func(r *release.Root) { r.RootThreshold = 0 }, "root_threshold"},
		{"threshold above keys", func(r *release.Root) { r.RootThreshold = 4 }, "root_threshold"},
		{"root key listed twice", func(r *release.Root) { r.RootKeys[2] = r.RootKeys[0] }, "root_keys[2]"},
		{"root key ID of another key", func(r *release.Root) { r.RootKeys[1].Public = otherPub }, "root_keys[1]"},
		{"root key ID upper case", func(r *release.Root) { r.RootKeys[0].ID = strings.ToUpper(r.RootKeys[0].ID) }, "root_keys[0]"},
		{"root key not base64", func(r *release.Root) { r.RootKeys[0].Public = "%%" }, "root_keys[0]"},
		{"root key 31 bytes", func(r *release.Root) {
			r.RootKeys[0].Public = base64.StdEncoding.EncodeToString(releasetest.Public(r1)[:31])
		}, "root_keys[0]"},
		{"root key with expiry", func(r *release.Root) { r.RootKeys[0].Expires = now }, "root_keys[0].expires"},
		{"release key without expiry", func(r *release.Root) { r.ReleaseKeys[1].Expires = time.Time{} }, "release_keys[1].expires"},
		{"release key listed twice", func(r *release.Root) { r.ReleaseKeys[1] = r.ReleaseKeys[0] }, "release_keys[1]"},
		{"release key is a root key", func(r *release.Root) { r.ReleaseKeys[1] = releasetest.ReleaseKey(r2, now) }, "release_keys[1]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := testRoot()
			r.Type = release.TypeRoot
			tt.change(&r)
			_, err := release.SignRoot(r, r1, r2)
			wantErr(t, err, release.ErrMalformed)
			_, err = release.ParseRoot(unsignedEnvelope(t, r))
			wantErr(t, err, release.ErrMalformed)
			if !strings.Contains(err.Error(), " "+tt.field+": ") {
				t.Errorf("error %q does not name field %s", err, tt.field)
			}
		})
	}
}

func TestParseRootStrict(t *testing.T) {
	good := releasetest.SignRoot(t, testRoot(), r1, r2)
	for _, tt := range []struct {
		name string
		in   []byte
	}{
		{"manifest type", replace(t, good, release.TypeRoot, release.TypeManifest)},
		{"unknown key field", replace(t, good, `"public"`, `"kind":"ed25519","public"`)},
		{"version negative", replace(t, good, `"version":1`, `"version":-1`)},
		{"version as float", replace(t, good, `"version":1`, `"version":1.0`)},
		{"threshold given twice", replace(t, good, `"root_threshold":2`, `"root_threshold":1,"root_threshold":2`)},
		{"too large", append(good, make([]byte, release.MaxRootSize)...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := release.ParseRoot(tt.in)
			wantErr(t, err, release.ErrMalformed)
		})
	}
}

func TestSignRootRefusesBadKeys(t *testing.T) {
	if _, err := release.SignRoot(testRoot()); err == nil {
		t.Error("signed with no key")
	}
	if _, err := release.SignRoot(testRoot(), r1[:10]); err == nil {
		t.Error("signed with a 10-byte key")
	}
	var many []ed25519.PrivateKey
	for i := range 33 {
		many = append(many, releasetest.SeedKey(byte(0x40+i)))
	}
	if _, err := release.SignRoot(testRoot(), many...); err == nil {
		t.Error("signed with 33 keys; a reader refuses more than 32 signatures")
	}
}

func TestKeyID(t *testing.T) {
	// SHA-256 of 32 zero bytes is 66687aadf862bd77…
	if got, want := release.KeyID(make([]byte, 32)), "66687aadf862bd77"; got != want {
		t.Errorf("KeyID(zeros) = %s, want %s", got, want)
	}
	k := release.NewKey(releasetest.Public(k1), time.Date(2027, 1, 1, 5, 0, 0, 0, time.FixedZone("PKT", 5*3600)))
	if k.Expires.Location() != time.UTC || k.ID != release.KeyID(releasetest.Public(k1)) {
		t.Errorf("NewKey = %+v, want ID %s and expiry in UTC", k, release.KeyID(releasetest.Public(k1)))
	}
	got, err := k.PublicKey()
	if err != nil || !got.Equal(releasetest.Public(k1)) {
		t.Errorf("PublicKey() = %x, %v, want %x", got, err, releasetest.Public(k1))
	}
}

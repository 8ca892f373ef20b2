package release_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/releasetest"
)

func TestNewTrust(t *testing.T) {
	for _, tt := range []struct {
		name string
		keys []ed25519.PrivateKey
		want error
	}{
		{"threshold", []ed25519.PrivateKey{r1, r2}, nil},
		{"all root keys", []ed25519.PrivateKey{r3, r2, r1}, nil},
		{"with a stranger", []ed25519.PrivateKey{stranger, r1, r3}, nil},
		{"one of two", []ed25519.PrivateKey{r1}, release.ErrThreshold},
		{"one key twice", []ed25519.PrivateKey{r1, r1}, release.ErrThreshold},
		{"release keys", []ed25519.PrivateKey{k1, k2}, release.ErrThreshold},
		{"strangers", []ed25519.PrivateKey{stranger, r4}, release.ErrThreshold},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := releasetest.SignRoot(t, testRoot(), tt.keys...)
			tr, err := release.NewTrust(b)
			wantErr(t, err, tt.want)
			if err == nil && (tr.Root().Version != 1 || !bytes.Equal(tr.RootJSON(), b)) {
				t.Errorf("trusts version %d %s, want 1 %s", tr.Root().Version, tr.RootJSON(), b)
			}
		})
	}
}

// A root's expiry does not stop NewTrust: a gateway that was shelved for
// years still starts from its shipped root and catches up.
func TestNewTrustExpiredRoot(t *testing.T) {
	r := testRoot()
	r.Expires = now.AddDate(-2, 0, 0)
	if _, err := release.NewTrust(releasetest.SignRoot(t, r, r1, r2)); err != nil {
		t.Fatal(err)
	}
}

// A signature duplicated in the envelope counts once toward a threshold.
func TestNewTrustDuplicateSignature(t *testing.T) {
	b := releasetest.SignRoot(t, testRoot(), r1)
	_, err := release.NewTrust(manySignatures(t, b, 2))
	wantErr(t, err, release.ErrThreshold)
}

// A root whose signatures do not cover what it says, because a field was
// changed after signing.
func TestNewTrustTampered(t *testing.T) {
	b := releasetest.SignRoot(t, testRoot(), r1, r2)
	_, err := release.NewTrust(replace(t, b, `"root_threshold":2`, `"root_threshold":1`))
	wantErr(t, err, release.ErrThreshold)
}

func TestVerifyManifest(t *testing.T) {
	tr := newTrust(t)
	m := testManifest(t)
	b := releasetest.SignManifest(t, m, k1)
	got, err := tr.VerifyManifest(b, now)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("got %+v\nwant %+v", got, m)
	}
}

func TestVerifyManifestRefuses(t *testing.T) {
	m := testManifest(t)
	good := releasetest.SignManifest(t, m, k1)
	expiring := m
	expiring.Expires = now.Add(time.Minute)

	expiredRoot := testRoot()
	expiredRoot.Expires = now
	shortKey := testRoot()
	shortKey.ReleaseKeys[0].Expires = now.Add(-time.Second)

	for _, tt := range []struct {
		name string
		root release.Root // zero: testRoot
		in   []byte
		at   time.Time // zero: now
		want error
		say  string // in the error message
	}{
		{"as signed", release.Root{}, good, time.Time{}, nil, ""},
		{"re-indented", release.Root{}, indent(t, good), time.Time{}, nil, ""},
		{"by the other release key", release.Root{}, releasetest.SignManifest(t, m, k2), time.Time{}, nil, ""},
		{"version changed", release.Root{}, replace(t, good, `"version":"1.4.2"`, `"version":"1.4.3"`), time.Time{},
			release.ErrSignature, release.KeyID(releasetest.Public(k1))},
		{"chunk hash changed", release.Root{}, flipChunkDigit(t, good), time.Time{}, release.ErrSignature, ""},
		{"arch changed", release.Root{}, replace(t, good, "linux/arm64", "linux/amd64"), time.Time{}, release.ErrSignature, ""},
		{"hardware dropped", release.Root{}, replace(t, good, `"hardware":["rpi4","cm4"],`, ``), time.Time{}, release.ErrSignature, ""},
		{"signature of another manifest", release.Root{}, swapSignatures(t, good, releasetest.SignManifest(t, expiring, k1)), time.Time{},
			release.ErrSignature, ""},
		{"unsigned", release.Root{}, unsignedEnvelope(t, m), time.Time{}, release.ErrSignature, "not signed"},
		{"signed by a stranger", release.Root{}, releasetest.SignManifest(t, m, stranger), time.Time{},
			release.ErrUnknownKey, release.KeyID(releasetest.Public(stranger))},
		{"signed by a root key", release.Root{}, releasetest.SignManifest(t, m, r1), time.Time{}, release.ErrUnknownKey, ""},
		{"release key expired", shortKey, good, time.Time{}, release.ErrExpired, release.KeyID(releasetest.Public(k1))},
		{"release key just before its expiry", release.Root{}, good, now.AddDate(1, 0, 0).Add(-time.Nanosecond), nil, ""},
		{"root expired", expiredRoot, good, time.Time{}, release.ErrExpired, "root version 1"},
		{"manifest expired", release.Root{}, releasetest.SignManifest(t, expiring, k1), now.Add(time.Minute), release.ErrExpired, "1.4.2"},
		{"manifest not yet expired", release.Root{}, releasetest.SignManifest(t, expiring, k1), now.Add(time.Minute - 1), nil, ""},
		{"malformed", release.Root{}, []byte("{}"), time.Time{}, release.ErrMalformed, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.root
			if r.Version == 0 {
				r = testRoot()
			}
			tr, err := release.NewTrust(releasetest.SignRoot(t, r, r1, r2))
			if err != nil {
				t.Fatal(err)
			}
			at := tt.at
			if at.IsZero() {
				at = now
			}
			_, err = tr.VerifyManifest(tt.in, at)
			wantErr(t, err, tt.want)
			if err != nil && !strings.Contains(err.Error(), tt.say) {
				t.Errorf("error %q does not say %q", err, tt.say)
			}
		})
	}
}

// flipChunkDigit changes the first digit of the first chunk hash.
func flipChunkDigit(t testing.TB, b []byte) []byte {
	t.Helper()
	i := bytes.Index(b, []byte(`"chunks":["`)) + len(`"chunks":["`)
	out := bytes.Clone(b)
	if out[i] == '0' {
		out[i] = '1'
	} else {
		out[i] = '0'
	}
	return out
}

// swapSignatures returns doc's envelope with the signatures of other's.
func swapSignatures(t testing.TB, doc, other []byte) []byte {
	t.Helper()
	var a, b map[string]json.RawMessage
	if err := json.Unmarshal(doc, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(other, &b); err != nil {
		t.Fatal(err)
	}
	return []byte(`{"signed":` + string(a["signed"]) + `,"signatures":` + string(b["signatures"]) + `}`)
}

// A manifest signed by a key the root does not know and by one it does
// verifies: unknown signatures are ignored. One signed by an expired key
// and a valid one verifies too.
func TestVerifyManifestExtraSignatures(t *testing.T) {
	m := testManifest(t)
	both := addSignature(t, releasetest.SignManifest(t, m, stranger), releasetest.SignManifest(t, m, k2))
	r := testRoot()
	r.ReleaseKeys[0].Expires = now.Add(-time.Hour) // k1 expired
	tr, err := release.NewTrust(releasetest.SignRoot(t, r, r1, r2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.VerifyManifest(both, now); err != nil {
		t.Errorf("stranger and k2: %v", err)
	}
	expiredAndValid := addSignature(t, releasetest.SignManifest(t, m, k1), releasetest.SignManifest(t, m, k2))
	if _, err := tr.VerifyManifest(expiredAndValid, now); err != nil {
		t.Errorf("expired k1 and k2: %v", err)
	}
	// A bad signature by a listed key does not spoil a good one.
	other := m
	other.Notes = "another release"
	bad := swapSignatures(t, releasetest.SignManifest(t, m, k1), releasetest.SignManifest(t, other, k1))
	if _, err := tr.VerifyManifest(addSignature(t, bad, releasetest.SignManifest(t, m, k2)), now); err != nil {
		t.Errorf("bad k1 and good k2: %v", err)
	}
}

// addSignature returns doc's envelope with the signatures of other
// appended.
func addSignature(t testing.TB, doc, other []byte) []byte {
	t.Helper()
	var a, b struct {
		Signed     json.RawMessage   `json:"signed"`
		Signatures []json.RawMessage `json:"signatures"`
	}
	if err := json.Unmarshal(doc, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(other, &b); err != nil {
		t.Fatal(err)
	}
	a.Signatures = append(a.Signatures, b.Signatures...)
	out, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// nextRoot is version 2 of testRoot: r3 and r4 replace r1 as root keys,
// and k3 replaces k1 as a release key.
func nextRoot() release.Root {
	r := testRoot()
	r.Version = 2
	r.RootKeys = []release.Key{releasetest.RootKey(r2), releasetest.RootKey(r3), releasetest.RootKey(r4)}
	r.ReleaseKeys = []release.Key{releasetest.ReleaseKey(k2, now.AddDate(1, 0, 0)), releasetest.ReleaseKey(k3, now.AddDate(1, 0, 0))}
	return r
}

func TestUpdate(t *testing.T) {
	v3 := nextRoot()
	v3.Version = 3
	v1again := testRoot()
	v1again.Expires = v1again.Expires.Add(time.Hour)

	for _, tt := range []struct {
		name    string
		next    []byte
		want    error
		version uint64 // trusted after
	}{
		{"old and new thresholds", releasetest.SignRoot(t, nextRoot(), r1, r2, r4), nil, 2},
		{"old and new, disjoint", releasetest.SignRoot(t, nextRoot(), r1, r2, r3, r4), nil, 2},
		{"only old keys", releasetest.SignRoot(t, nextRoot(), r1, r2), release.ErrThreshold, 1},
		{"only new keys", releasetest.SignRoot(t, nextRoot(), r3, r4), release.ErrThreshold, 1},
		{"one old, two new", releasetest.SignRoot(t, nextRoot(), r1, r4), release.ErrThreshold, 1},
		{"new key signing twice", manySignatures(t, releasetest.SignRoot(t, nextRoot(), r4), 2), release.ErrThreshold, 1},
		{"skips a version", releasetest.SignRoot(t, v3, r1, r2, r3, r4), release.ErrRootVersion, 1},
		{"same version, same bytes", releasetest.SignRoot(t, testRoot(), r1, r2), nil, 1},
		{"same version, re-indented, other signers", indent(t, releasetest.SignRoot(t, testRoot(), r2, r3)), nil, 1},
		{"same version, other content", releasetest.SignRoot(t, v1again, r1, r2), release.ErrRootVersion, 1},
		{"tampered after signing", replace(t, releasetest.SignRoot(t, nextRoot(), r1, r2, r4), `"root_threshold":2`, `"root_threshold":1`),
			release.ErrThreshold, 1},
		{"malformed", []byte(`{"signed":{}}`), release.ErrMalformed, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTrust(t)
			before := tr.RootJSON()
			err := tr.Update(tt.next)
			wantErr(t, err, tt.want)
			if got := tr.Root().Version; got != tt.version {
				t.Errorf("trusts version %d, want %d", got, tt.version)
			}
			if err != nil && !bytes.Equal(tr.RootJSON(), before) {
				t.Errorf("failed update changed the trusted root to %s", tr.RootJSON())
			}
			if err == nil && tt.version == 2 && !bytes.Equal(tr.RootJSON(), tt.next) {
				t.Errorf("RootJSON() = %s, want %s", tr.RootJSON(), tt.next)
			}
		})
	}
}

// An older root is refused once a newer one is trusted.
func TestUpdateRefusesOlder(t *testing.T) {
	tr := newTrust(t)
	v1 := tr.RootJSON()
	if err := tr.Update(releasetest.SignRoot(t, nextRoot(), r1, r2, r4)); err != nil {
		t.Fatal(err)
	}
	err := tr.Update(v1)
	wantErr(t, err, release.ErrRootVersion)
}

// After a rotation the new root decides: k1, dropped, no longer signs
// manifests; k3, added, does. The next rotation needs the new root keys,
// no longer r1.
func TestRotationChangesKeys(t *testing.T) {
	tr := newTrust(t)
	m := testManifest(t)
	if err := tr.Update(releasetest.SignRoot(t, nextRoot(), r1, r2, r4)); err != nil {
		t.Fatal(err)
	}
	_, err := tr.VerifyManifest(releasetest.SignManifest(t, m, k1), now)
	wantErr(t, err, release.ErrUnknownKey)
	if _, err := tr.VerifyManifest(releasetest.SignManifest(t, m, k3), now); err != nil {
		t.Errorf("k3 after rotation: %v", err)
	}
	v3 := nextRoot()
	v3.Version = 3
	wantErr(t, tr.Update(releasetest.SignRoot(t, v3, r1, r3)), release.ErrThreshold)
	wantErr(t, tr.Update(releasetest.SignRoot(t, v3, r3, r4)), nil)
}

// An expired root no longer verifies manifests, but still verifies the
// next root; that one, signed with a later expiry, verifies them again.
func TestExpiredRootRotates(t *testing.T) {
	old := testRoot()
	old.Expires = now.AddDate(-1, 0, 0)
	tr, err := release.NewTrust(releasetest.SignRoot(t, old, r1, r2))
	if err != nil {
		t.Fatal(err)
	}
	b := releasetest.SignManifest(t, testManifest(t), k2)
	_, err = tr.VerifyManifest(b, now)
	wantErr(t, err, release.ErrExpired)

	if err := tr.Update(releasetest.SignRoot(t, nextRoot(), r1, r2, r4)); err != nil {
		t.Fatalf("rotation from an expired root: %v", err)
	}
	if _, err := tr.VerifyManifest(b, now); err != nil {
		t.Errorf("after rotation: %v", err)
	}
}

// Readers verify while a writer rotates; run with -race.
func TestTrustConcurrent(t *testing.T) {
	tr := newTrust(t)
	b := releasetest.SignManifest(t, testManifest(t), k2) // k2 is in both versions
	next := releasetest.SignRoot(t, nextRoot(), r1, r2, r4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				if _, err := tr.VerifyManifest(b, now); err != nil {
					t.Error(err)
					return
				}
				if v := tr.Root().Version; v != 1 && v != 2 {
					t.Errorf("version %d", v)
				}
				_ = tr.RootJSON()
			}
		})
	}
	wg.Go(func() {
		if err := tr.Update(next); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	if v := tr.Root().Version; v != 2 {
		t.Errorf("trusts version %d, want 2", v)
	}
}

// Root and RootJSON return copies: changing them does not change the
// trust.
func TestTrustCopies(t *testing.T) {
	tr := newTrust(t)
	r := tr.Root()
	r.ReleaseKeys[0] = releasetest.ReleaseKey(stranger, now.AddDate(1, 0, 0))
	j := tr.RootJSON()
	j[0] = 'x'
	_, err := tr.VerifyManifest(releasetest.SignManifest(t, testManifest(t), stranger), now)
	wantErr(t, err, release.ErrUnknownKey)
	if tr.RootJSON()[0] != '{' {
		t.Error("RootJSON shares its bytes")
	}
}

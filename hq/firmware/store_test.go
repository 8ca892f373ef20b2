package firmware_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/releasetest"
	"github.com/pkfreelance/seatgate/hq/firmware"
)

// TestRootChain: version 1 is taken as it is; each later version must be
// signed by the keys of the version before and its own; a version is
// stored once.
func TestRootChain(t *testing.T) {
	e := newEnv(t)
	v1 := root1(t)
	v2 := releasetest.SignRoot(t, root(2, r2, k1, k2), r1, r2) // rotation r1 → r2, adds k2
	v2other := releasetest.SignRoot(t, root(2, r2, k2), r1, r2)
	v3orphan := releasetest.SignRoot(t, root(3, r3, k2), r3) // without r2's signature
	v4 := releasetest.SignRoot(t, root(4, r2, k2), r2)

	_, err := e.store.PutRoot(e.ctx, v2)
	wantErr(t, "version 2 before version 1", err, firmware.ErrInvalid)
	_, err = e.store.PutRoot(e.ctx, releasetest.SignRoot(t, root(1, r1, k1), r2))
	wantErr(t, "version 1 not signed by its own root key", err, firmware.ErrInvalid, release.ErrThreshold)
	_, err = e.store.PutRoot(e.ctx, []byte(`{"signed":{}}`))
	wantErr(t, "garbage", err, firmware.ErrInvalid, release.ErrMalformed)

	for _, b := range [][]byte{v1, v2, v2} { // v2 twice: unchanged
		if _, err := e.store.PutRoot(e.ctx, b); err != nil {
			t.Fatalf("PutRoot: %v", err)
		}
	}
	_, err = e.store.PutRoot(e.ctx, v2other)
	wantErr(t, "another document for version 2", err, firmware.ErrConflict)
	_, err = e.store.PutRoot(e.ctx, v3orphan)
	wantErr(t, "version 3 without the old root key", err, firmware.ErrInvalid, release.ErrThreshold)
	_, err = e.store.PutRoot(e.ctx, v4)
	wantErr(t, "version 4 after version 2", err, firmware.ErrInvalid)

	roots, err := e.store.Roots(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(roots) != 2 || !bytes.Equal(roots[0], v1) || !bytes.Equal(roots[1], v2) {
		t.Fatalf("Roots = %d documents, want v1 and v2 as uploaded", len(roots))
	}
	// A gateway shipped with v1 walks the chain HQ serves.
	tr, err := release.NewTrust(roots[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roots[1:] {
		if err := tr.Update(r); err != nil {
			t.Fatalf("a gateway refuses the chain: %v", err)
		}
	}

	// Manifests verify against the newest root: k2 is trusted from v2 on.
	data := releasetest.Bytes(100<<10, 2)
	if _, err := e.store.Publish(e.ctx, releasetest.SignManifest(t, manifest(t, "2.0.0", data), k2), bytes.NewReader(data)); err != nil {
		t.Fatalf("a manifest signed by a release key of root v2: %v", err)
	}
}

func TestPublishRefusesUntrustedManifests(t *testing.T) {
	e := newEnv(t)
	data := releasetest.Bytes(50<<10, 1)
	m := manifest(t, "1.4.2", data)

	_, err := e.store.Publish(e.ctx, releasetest.SignManifest(t, m, k1), bytes.NewReader(data))
	wantErr(t, "no root at HQ", err, firmware.ErrInvalid)

	e.withRoot1(t)
	expired := m
	expired.Created, expired.Expires = now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	for _, tt := range []struct {
		name   string
		signed []byte
		want   error
	}{
		{"signed by a stranger", releasetest.SignManifest(t, m, stranger), release.ErrUnknownKey},
		{"signed by a key only a later root lists", releasetest.SignManifest(t, m, k2), release.ErrUnknownKey},
		{"expired", releasetest.SignManifest(t, expired, k1), release.ErrExpired},
		{"signature broken", bytes.Replace(releasetest.SignManifest(t, m, k1), []byte(`"test release"`), []byte(`"test releasf"`), 1), release.ErrSignature},
		{"not a manifest", []byte("seatgate"), release.ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.store.Publish(e.ctx, tt.signed, bytes.NewReader(data))
			wantErr(t, "Publish", err, firmware.ErrInvalid, tt.want)
		})
	}
	if n := e.objectMsgs(t); n != 0 {
		t.Fatalf("refused manifests left %d messages in the object store", n)
	}
	if _, err := e.store.Release(e.ctx, "1.4.2"); !errors.Is(err, firmware.ErrNotFound) {
		t.Fatalf("Release after refusals: %v, want ErrNotFound", err)
	}
}

// TestPublishRefusesMismatchedArtifacts: an artifact that differs from its
// manifest in any way is refused and leaves no object.
func TestPublishRefusesMismatchedArtifacts(t *testing.T) {
	e := newEnv(t).withRoot1(t)
	data := releasetest.Bytes(1<<20+777, 3)
	signed := releasetest.SignManifest(t, manifest(t, "1.4.2", data), k1)

	flip := func(i int) []byte {
		b := bytes.Clone(data)
		b[i] ^= 0x01
		return b
	}
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"one byte changed in a middle chunk", flip(len(data) / 2)},
		{"one byte changed in the last chunk", flip(len(data) - 1)},
		{"one byte changed in the first chunk", flip(0)},
		{"truncated by a byte", data[:len(data)-1]},
		{"truncated at a chunk boundary", data[:release.DefaultChunkSize]},
		{"one byte too many", append(bytes.Clone(data), 0)},
		{"empty", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.store.Publish(e.ctx, signed, bytes.NewReader(tt.data))
			wantErr(t, "Publish", err, firmware.ErrMismatch)
			if n := e.objectMsgs(t); n != 0 {
				t.Fatalf("a refused artifact left %d messages in the object store", n)
			}
			if _, err := e.store.BySHA256(e.ctx, manifest(t, "1.4.2", data).SHA256); !errors.Is(err, firmware.ErrNotFound) {
				t.Fatalf("BySHA256 after a refusal: %v, want ErrNotFound", err)
			}
		})
	}
	// The right artifact is accepted afterwards.
	if _, err := e.store.Publish(e.ctx, signed, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

// failingReader fails the test if it is read.
type failingReader struct{ t *testing.T }

func (r failingReader) Read([]byte) (int, error) {
	r.t.Error("the artifact was read")
	return 0, io.ErrUnexpectedEOF
}

func TestRepublishAndWithdraw(t *testing.T) {
	e := newEnv(t).withRoot1(t)
	data := releasetest.Bytes(300<<10, 4)
	m := manifest(t, "1.4.2", data)
	signed := releasetest.SignManifest(t, m, k1)
	first, err := e.store.Publish(e.ctx, signed, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if first.Manifest.SHA256 != m.SHA256 || !bytes.Equal(first.Signed, signed) || first.Published.IsZero() {
		t.Fatalf("Publish = %+v", first)
	}

	again, err := e.store.Publish(e.ctx, signed, failingReader{t})
	if err != nil || !again.Published.Equal(first.Published) {
		t.Fatalf("the same release again = %v, %v; want the first publication unchanged", again.Published, err)
	}
	other := m
	other.Notes = "another build"
	_, err = e.store.Publish(e.ctx, releasetest.SignManifest(t, other, k1), failingReader{t})
	wantErr(t, "another manifest for 1.4.2", err, firmware.ErrConflict)
	sameArtifact := m
	sameArtifact.Version = "1.4.3"
	_, err = e.store.Publish(e.ctx, releasetest.SignManifest(t, sameArtifact, k1), bytes.NewReader(data))
	wantErr(t, "the artifact of 1.4.2 as 1.4.3", err, firmware.ErrConflict)

	data2 := releasetest.Bytes(10<<10, 5)
	if _, err := e.store.Publish(e.ctx, releasetest.SignManifest(t, manifest(t, "1.10.0", data2), k1), bytes.NewReader(data2)); err != nil {
		t.Fatal(err)
	}
	rels, err := e.store.Releases(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 2 || rels[0].Manifest.Version != "1.4.2" || rels[1].Manifest.Version != "1.10.0" {
		t.Fatalf("Releases = %v, want 1.4.2 then 1.10.0", versions(rels))
	}
	if got, err := e.store.BySHA256(e.ctx, m.SHA256); err != nil || got.Manifest.Version != "1.4.2" {
		t.Fatalf("BySHA256 = %v, %v", got.Manifest.Version, err)
	}
	for _, v := range []string{"1.4.4", "release.>", "*", ""} {
		if _, err := e.store.Release(e.ctx, v); !errors.Is(err, firmware.ErrNotFound) {
			t.Errorf("Release(%q) = %v, want ErrNotFound", v, err)
		}
	}

	w, err := e.store.Withdraw(e.ctx, "1.4.2")
	if err != nil || w.Withdrawn.IsZero() {
		t.Fatalf("Withdraw = %+v, %v", w.Withdrawn, err)
	}
	if _, err := e.store.Withdraw(e.ctx, "1.4.2"); err != nil {
		t.Fatalf("withdrawing twice: %v", err)
	}
	_, err = e.store.Publish(e.ctx, signed, bytes.NewReader(data))
	wantErr(t, "publishing a withdrawn release again", err, firmware.ErrConflict)
	if got, err := e.store.Release(e.ctx, "1.4.2"); err != nil || got.Withdrawn.IsZero() {
		t.Fatalf("Release of a withdrawn version = %+v, %v", got.Withdrawn, err)
	}
	if resp, _ := e.get(t, "HEAD", firmware.ArtifactPath(m.SHA256)); resp.StatusCode != 410 {
		t.Fatalf("the artifact of a withdrawn release: %s, want 410", resp.Status)
	}

	// The same bytes published again under a higher version are that
	// release's: withdrawing the old version again leaves them.
	if _, err := e.store.Publish(e.ctx, releasetest.SignManifest(t, sameArtifact, k1), bytes.NewReader(data)); err != nil {
		t.Fatalf("the withdrawn artifact as 1.4.3: %v", err)
	}
	if _, err := e.store.Withdraw(e.ctx, "1.4.2"); err != nil {
		t.Fatal(err)
	}
	if got, err := e.store.BySHA256(e.ctx, m.SHA256); err != nil || got.Manifest.Version != "1.4.3" || !got.Withdrawn.IsZero() {
		t.Fatalf("BySHA256 = %s (withdrawn %v), %v; want 1.4.3", got.Manifest.Version, got.Withdrawn, err)
	}
	if resp, _ := e.get(t, "HEAD", firmware.ArtifactPath(m.SHA256)); resp.StatusCode != 200 {
		t.Fatalf("the artifact of 1.4.3 after withdrawing 1.4.2 again: %s, want 200", resp.Status)
	}
}

func versions(rels []firmware.Release) []string {
	var v []string
	for _, r := range rels {
		v = append(v, r.Manifest.Version)
	}
	return v
}

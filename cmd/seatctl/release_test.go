package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/releasetest"
	"github.com/pkfreelance/seatgate/hq/firmware"
	"github.com/pkfreelance/seatgate/hq/ingest/ingesttest"
)

// mustCtl runs seatctl and fails the test if it fails.
func mustCtl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := ctl(t, args...)
	if err != nil {
		t.Fatalf("seatctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keyIDOf(t *testing.T, pubPath string) string {
	t.Helper()
	pub, err := release.ParsePublicKeyPEM(readFile(t, pubPath))
	if err != nil {
		t.Fatal(err)
	}
	return release.KeyID(pub)
}

// writeArtifact writes n random bytes to a file and returns its path.
func writeArtifact(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "seatgate")
	if err := os.WriteFile(path, releasetest.RandomBytes(n), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// releaseKeys runs the release manager's first day in dir: a root key and
// root-1.json, a release key and root-2.json.
func releaseKeys(t *testing.T, dir string) {
	t.Helper()
	mustCtl(t, "release", "keys", "root", "--out", dir)
	mustCtl(t, "release", "keys", "release", "--root-key", filepath.Join(dir, "root.key"),
		"--root", filepath.Join(dir, "root-1.json"), "--out", dir)
}

// TestReleaseKeysSignVerify walks the release manager's flow — root key,
// release key, signed manifest, root rotation — and checks each document
// the way a gateway does.
func TestReleaseKeysSignVerify(t *testing.T) {
	dir := t.TempDir()
	out := mustCtl(t, "release", "keys", "root", "--out", dir)
	rootID := keyIDOf(t, filepath.Join(dir, "root.pub"))
	if !strings.Contains(out, rootID) || !strings.Contains(out, "root version 1") {
		t.Errorf("keys root output lacks the key id %s or the version:\n%s", rootID, out)
	}
	if st, err := os.Stat(filepath.Join(dir, "root.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("root.key: %v, mode %v; want 0600", err, st.Mode())
	}
	if _, err := ctl(t, "release", "keys", "root", "--out", dir); err == nil {
		t.Fatal("a second keys root in the same directory must refuse: it would replace the root key")
	}

	out = mustCtl(t, "release", "keys", "release", "--root-key", filepath.Join(dir, "root.key"),
		"--root", filepath.Join(dir, "root-1.json"), "--out", dir, "--expires", "2160h")
	relID := keyIDOf(t, filepath.Join(dir, "release.pub"))
	wantExpiry := time.Now().Add(2160 * time.Hour).UTC().Format(time.DateOnly)
	if !strings.Contains(out, relID) || !strings.Contains(out, wantExpiry) {
		t.Errorf("keys release output lacks the key id %s or its expiry %s:\n%s", relID, wantExpiry, out)
	}
	if st, _ := os.Stat(filepath.Join(dir, "release.key")); st == nil || st.Mode().Perm() != 0o600 {
		t.Fatal("release.key missing or not 0600")
	}

	artifact := writeArtifact(t, 1<<20+5)
	data := readFile(t, artifact)
	sum := sha256.Sum256(data)
	manifest := filepath.Join(t.TempDir(), "seatgate-1.4.2.manifest")
	out = mustCtl(t, "release", "sign", "--key", filepath.Join(dir, "release.key"), "--version", "1.4.2",
		"--channel", "stable", "--arch", "linux/arm64", "--hardware", "rpi4,rpi5", "--min-from", "1.0.0",
		"--expires", "720h", "--notes", "faster unlock", "--chunk-size", "64KiB",
		"--root", filepath.Join(dir, "root-2.json"), "--out", manifest, artifact)
	for _, want := range []string{"1.4.2", hex.EncodeToString(sum[:]), "1048581 bytes", "17 of 65536", relID} {
		if !strings.Contains(out, want) {
			t.Errorf("sign output lacks %q:\n%s", want, out)
		}
	}

	// A gateway shipped with root-1.json learns root-2.json and accepts
	// the manifest.
	tr, err := release.NewTrust(readFile(t, filepath.Join(dir, "root-1.json")))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Update(readFile(t, filepath.Join(dir, "root-2.json"))); err != nil {
		t.Fatalf("root-2.json does not chain from root-1.json: %v", err)
	}
	m, err := tr.VerifyManifest(readFile(t, manifest), time.Now())
	if err != nil {
		t.Fatalf("the manifest does not verify: %v", err)
	}
	if m.Version != "1.4.2" || m.Arch != "linux/arm64" || strings.Join(m.Hardware, ",") != "rpi4,rpi5" || m.MinFrom != "1.0.0" ||
		m.ChunkSize != 64<<10 || m.Notes != "faster unlock" || m.Expires.Sub(m.Created) != 720*time.Hour {
		t.Errorf("manifest = %+v", m)
	}
	if err := m.VerifyArtifact(bytes.NewReader(data)); err != nil {
		t.Errorf("the artifact does not match its manifest: %v", err)
	}

	// Rotation: root-3.json names a new root key, signed by both; the
	// release key carries over.
	newKey := filepath.Join(t.TempDir(), "new-root.key")
	out = mustCtl(t, "release", "keys", "rotate-root", "--root-key", filepath.Join(dir, "root.key"),
		"--new-root-key", newKey, "--root", filepath.Join(dir, "root-2.json"), "--out", dir)
	newID := keyIDOf(t, strings.TrimSuffix(newKey, ".key")+".pub")
	if !strings.Contains(out, newID) || !strings.Contains(out, rootID) {
		t.Errorf("rotate-root output lacks the old or new key id:\n%s", out)
	}
	if err := tr.Update(readFile(t, filepath.Join(dir, "root-3.json"))); err != nil {
		t.Fatalf("root-3.json does not chain from root-2.json: %v", err)
	}
	if r := tr.Root(); len(r.RootKeys) != 1 || r.RootKeys[0].ID != newID || len(r.ReleaseKeys) != 1 || r.ReleaseKeys[0].ID != relID {
		t.Fatalf("root 3 = %+v; want root key %s and release key %s", r, newID, relID)
	}
	if _, err := tr.VerifyManifest(readFile(t, manifest), time.Now()); err != nil {
		t.Errorf("the manifest no longer verifies after the rotation: %v", err)
	}

	// The old root key signs nothing after version 3; the new one does.
	dir4 := t.TempDir()
	_, err = ctl(t, "release", "keys", "release", "--root-key", filepath.Join(dir, "root.key"),
		"--root", filepath.Join(dir, "root-3.json"), "--out", dir4)
	if err == nil || !strings.Contains(err.Error(), "is not a root key") {
		t.Fatalf("signing root 4 with the retired root key: %v, want 'is not a root key'", err)
	}
	mustCtl(t, "release", "keys", "release", "--root-key", newKey, "--root", filepath.Join(dir, "root-3.json"), "--out", dir4)
	if err := tr.Update(readFile(t, filepath.Join(dir4, "root-4.json"))); err != nil {
		t.Fatalf("root-4.json does not chain from root-3.json: %v", err)
	}
	if n := len(tr.Root().ReleaseKeys); n != 2 {
		t.Errorf("root 4 lists %d release keys, want the old one and the new one", n)
	}
}

func TestReleaseErrors(t *testing.T) {
	dir := t.TempDir()
	releaseKeys(t, dir)
	artifact := writeArtifact(t, 10<<10)
	rootKey, rootPub, relKey := filepath.Join(dir, "root.key"), filepath.Join(dir, "root.pub"), filepath.Join(dir, "release.key")
	root2 := filepath.Join(dir, "root-2.json")
	out := filepath.Join(t.TempDir(), "m")
	sign := func(extra ...string) []string {
		return append([]string{"release", "sign", "--key", relKey, "--arch", "linux/arm64", "--out", out}, extra...)
	}
	for _, tt := range []struct {
		name  string
		args  []string
		usage bool   // a usage error (exit code 2)
		want  string // in the message
	}{
		{"public key as root key", []string{"release", "keys", "release", "--root-key", rootPub, "--root", root2, "--out", t.TempDir()},
			false, "is not a private key file"},
		{"release key as root key", []string{"release", "keys", "release", "--root-key", relKey, "--root", root2, "--out", t.TempDir()},
			false, "is not a root key of"},
		{"root key file missing", []string{"release", "keys", "release", "--root-key", rootKey + ".gone", "--root", root2, "--out", t.TempDir()},
			false, "no such file"},
		{"not a root", []string{"release", "keys", "release", "--root-key", rootKey, "--root", rootPub, "--out", t.TempDir()},
			false, "is not valid root metadata"},
		{"missing --out", []string{"release", "keys", "release", "--root-key", rootKey, "--root", root2}, true, "--out"},
		{"unknown keys subcommand", []string{"release", "keys", "frob"}, true, "rotate-root"},
		{"rotate to the same key", []string{"release", "keys", "rotate-root", "--root-key", rootKey, "--new-root-key", rootKey,
			"--root", root2, "--out", t.TempDir()}, false, "is the current root key"},
		{"bad version", sign("--version", "v1.4", artifact), true, "--version"},
		{"bad min-from", sign("--version", "1.4", "--min-from", "1.x", artifact), true, "--min-from"},
		{"bad chunk size", sign("--version", "1.4", "--chunk-size", "12XB", artifact), true, "--chunk-size"},
		{"chunk size too small", sign("--version", "1.4", "--chunk-size", "1", artifact), false, "chunk_size"},
		{"no artifact", sign("--version", "1.4"), true, "argument"},
		{"missing --arch", []string{"release", "sign", "--key", relKey, "--version", "1.4", "--out", out, artifact}, true, "--arch"},
		{"artifact missing", sign("--version", "1.4", artifact+".gone"), false, "no such file"},
		{"root key as release key", []string{"release", "sign", "--key", rootKey, "--version", "1.4", "--arch", "linux/arm64",
			"--root", root2, "--out", out, artifact}, false, "would not verify"},
		{"public key as release key", []string{"release", "sign", "--key", rootPub, "--version", "1.4", "--arch", "linux/arm64",
			"--out", out, artifact}, false, "is not a private key file"},
		{"publish without --manifest", []string{"release", "publish", "--token-file", rootPub, artifact}, true, "--manifest"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := ctl(t, tt.args...)
			if err == nil {
				t.Fatalf("succeeded:\n%s", msg)
			}
			if errors.Is(err, errUsage) != tt.usage {
				t.Errorf("usage error = %v, want %v: %v", errors.Is(err, errUsage), tt.usage, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused sign wrote the manifest")
	}
}

// TestReleasePublish publishes through the real API handler and store.
func TestReleasePublish(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b := ingesttest.StartBroker(t, ingesttest.NewPKI(t).BrokerOptions(t))
	_, js := ingesttest.Connect(t, b.ClientURL())
	store, err := firmware.NewStore(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(firmware.APIHandler(store))
	defer srv.Close()
	token := filepath.Join(t.TempDir(), "token")
	os.WriteFile(token, []byte("test-token-not-secret\n"), 0o600)
	api := []string{"--hq", srv.URL, "--token-file", token}

	dir := t.TempDir()
	releaseKeys(t, dir)
	artifact := writeArtifact(t, 700<<10)
	manifest := filepath.Join(dir, "seatgate-1.4.2.manifest")
	mustCtl(t, "release", "sign", "--key", filepath.Join(dir, "release.key"), "--version", "1.4.2", "--arch", "linux/arm64",
		"--out", manifest, artifact)
	roots := filepath.Join(dir, "root-1.json") + "," + filepath.Join(dir, "root-2.json")

	out := mustCtl(t, append([]string{"release", "publish", "--manifest", manifest, "--root", roots}, append(api, artifact)...)...)
	for _, want := range []string{"root version 1", "root version 2", "published seatgate 1.4.2", "/firmware/v1/"} {
		if !strings.Contains(out, want) {
			t.Errorf("publish output lacks %q:\n%s", want, out)
		}
	}
	if rs, _ := store.Roots(ctx); len(rs) != 2 {
		t.Errorf("HQ has %d roots, want 2", len(rs))
	}
	out = mustCtl(t, append([]string{"release", "publish", "--manifest", manifest, "--root", roots}, append(api, artifact)...)...)
	if !strings.Contains(out, "already") {
		t.Errorf("publishing again does not say HQ has it already:\n%s", out)
	}
	other := writeArtifact(t, 700<<10+1)
	if _, err := ctl(t, append([]string{"release", "publish", "--manifest", manifest}, append(api, other)...)...); err == nil ||
		!strings.Contains(err.Error(), "not the artifact") {
		t.Errorf("publishing another file: %v, want 'not the artifact'", err)
	}

	out = mustCtl(t, append([]string{"release", "list"}, api...)...)
	if !strings.Contains(out, "1.4.2") || !strings.Contains(out, "published") {
		t.Errorf("list:\n%s", out)
	}
	mustCtl(t, append([]string{"release", "withdraw"}, append(api, "1.4.2")...)...)
	if out = mustCtl(t, append([]string{"release", "list"}, api...)...); !strings.Contains(out, "withdrawn") {
		t.Errorf("list after withdraw:\n%s", out)
	}
	_, err = ctl(t, append([]string{"release", "publish", "--manifest", manifest}, append(api, artifact)...)...)
	if err == nil || !strings.Contains(err.Error(), "withdrawn") || !strings.Contains(err.Error(), "409") {
		t.Errorf("publishing a withdrawn release: %v, want a 409 that says withdrawn", err)
	}
}

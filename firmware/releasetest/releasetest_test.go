package releasetest_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/releasetest"
)

// binary is the manifest of a small binary for linux/arm64 on stable, in
// the smallest chunks (several chunks in a test artifact).
func binary(version string) release.Manifest {
	return release.Manifest{Product: release.ProductBinary, Version: version, Channel: "stable",
		Arch: "linux/arm64", ChunkSize: release.MinChunkSize, Created: time.Now()}
}

// A gateway holding NewKeys' root accepts what the release key signs and
// refuses what the root key signs.
func TestKeysSignWhatAGatewayAccepts(t *testing.T) {
	k := releasetest.NewKeys(t)
	doc, err := os.ReadFile(k.RootFile(t))
	if err != nil || !bytes.Equal(doc, k.RootJSON) {
		t.Fatalf("RootFile holds %q (%v), want RootJSON", doc, err)
	}
	tr, err := release.NewTrust(k.RootJSON)
	if err != nil {
		t.Fatalf("NewTrust(RootJSON): %v", err)
	}
	if r := tr.Root(); r.Version != 1 || len(r.ReleaseKeys) != 1 || r.ReleaseKeys[0].ID != release.KeyID(releasetest.Public(k.Release)) {
		t.Errorf("root = %+v, want version 1 listing the release key", r)
	}
	a := releasetest.NewArtifact(t, binary("1.1.0"), 3*release.MinChunkSize+5, k.Release)
	m, err := tr.VerifyManifest(a.Signed, time.Now())
	if err != nil {
		t.Fatalf("VerifyManifest: %v", err)
	}
	if m.SHA256 != a.Manifest.SHA256 || m.Size != int64(len(a.Data)) || m.NumChunks() != 4 {
		t.Errorf("manifest %s, %d bytes in %d chunks; want %s, %d bytes in 4", m.SHA256, m.Size, m.NumChunks(), a.Manifest.SHA256, len(a.Data))
	}
	if err := m.VerifyArtifact(bytes.NewReader(a.Data)); err != nil {
		t.Errorf("VerifyArtifact: %v", err)
	}
	byRoot := releasetest.SignManifest(t, a.Manifest, k.Root)
	if _, err := tr.VerifyManifest(byRoot, time.Now()); !errors.Is(err, release.ErrUnknownKey) {
		t.Errorf("a manifest signed by the root key: got %v, want %v", err, release.ErrUnknownKey)
	}
}

// Root with fixed keys chains: version 2, signed by the old and the new
// root key, replaces version 1.
func TestRootRotates(t *testing.T) {
	r1, r2, k1, k2 := releasetest.SeedKey(1), releasetest.SeedKey(2), releasetest.SeedKey(3), releasetest.SeedKey(4)
	year := time.Now().AddDate(1, 0, 0)
	tr, err := release.NewTrust(releasetest.SignRoot(t, releasetest.Root(1, year, r1, k1), r1))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Update(releasetest.SignRoot(t, releasetest.Root(2, year, r2, k1, k2), r1, r2)); err != nil {
		t.Fatalf("Update to version 2: %v", err)
	}
	r := tr.Root()
	if r.Version != 2 || len(r.RootKeys) != 1 || r.RootKeys[0].ID != release.KeyID(releasetest.Public(r2)) || len(r.ReleaseKeys) != 2 {
		t.Errorf("root = %+v, want version 2 with root key r2 and two release keys", r)
	}
	if !bytes.Equal(releasetest.SeedKey(1), r1) || bytes.Equal(r1, r2) {
		t.Error("SeedKey is not a function of its seed")
	}
}

func TestBytes(t *testing.T) {
	a, b := releasetest.Bytes(1000, 0), releasetest.Bytes(1000, 0)
	if !bytes.Equal(a, b) {
		t.Error("Bytes(1000, 0) differs between calls")
	}
	if bytes.Equal(a, releasetest.Bytes(1000, 1)) {
		t.Error("Bytes(1000, 1) = Bytes(1000, 0): the seed changes nothing")
	}
	if bytes.Equal(releasetest.RandomBytes(64), releasetest.RandomBytes(64)) {
		t.Error("RandomBytes(64) gave the same bytes twice")
	}
}

// The server serves what was published, whole and by range, over TLS its
// own client trusts, and nothing else.
func TestServerServesPublishedArtifacts(t *testing.T) {
	s := releasetest.NewServer(t)
	a := releasetest.NewArtifact(t, binary("1.1.0"), 10<<10, releasetest.SeedKey(1))
	url := s.Publish(a)
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("URL %s, want https", url)
	}
	for _, tt := range []struct {
		name, rng string
		status    int
		want      []byte
	}{
		{"whole", "", http.StatusOK, a.Data},
		{"range", "bytes=100-199", http.StatusPartialContent, a.Data[100:200]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.rng != "" {
				req.Header.Set("Range", tt.rng)
			}
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != tt.status || !bytes.Equal(body, tt.want) {
				t.Errorf("got %s with %d bytes (%v), want %d with %d bytes", resp.Status, len(body), err, tt.status, len(tt.want))
			}
		})
	}
	resp, err := s.Client().Get(s.URL + "/firmware/v1/0000/artifact")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unpublished path: got %s, want 404", resp.Status)
	}
}

// TestImportedOnlyByTests checks that no package of the module imports
// releasetest outside its tests: fixtures never reach a binary. (-e: a
// package whose dependencies do not resolve still lists its imports.)
func TestImportedOnlyByTests(t *testing.T) {
	const self = "github.com/pkfreelance/seatgate/firmware/releasetest"
	out, err := exec.Command("go", "list", "-e", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "github.com/pkfreelance/seatgate/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	listed := false
	for _, line := range lines {
		pkg, imports, _ := strings.Cut(line, " ")
		listed = listed || pkg == self
		for _, imp := range strings.Fields(imports) {
			if imp == self {
				t.Errorf("%s imports %s outside its tests", pkg, self)
			}
		}
	}
	if !listed {
		t.Fatalf("go list did not list %s among %d packages", self, len(lines))
	}
}

package firmware_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/releasetest"
	"github.com/pkfreelance/seatgate/hq/firmware"
)

// get sends a request to the public handler and returns the answer with
// its body.
func (e *env) get(t testing.TB, method, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(e.ctx, method, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestServeRanges publishes a 5 MiB artifact (and a bit, for a short last
// chunk) and reads it back whole and in many random ranges.
func TestServeRanges(t *testing.T) {
	e := newEnv(t).withRoot1(t)
	data := releasetest.Bytes(5<<20+12345, 6)
	m := manifest(t, "1.4.2", data)
	signed := releasetest.SignManifest(t, m, k1)
	if _, err := e.store.Publish(e.ctx, signed, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	path := firmware.ArtifactPath(m.SHA256)
	size := int64(len(data))

	resp, body := e.get(t, "GET", path)
	if resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Fatalf("GET whole: %s, %d bytes (equal %v)", resp.Status, len(body), bytes.Equal(body, data))
	}
	for k, want := range map[string]string{"ETag": `"` + m.SHA256 + `"`, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}

	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 120 {
		var spec string
		var from, to int64 // wanted bytes [from, to]
		switch i % 6 {
		case 0: // a gateway's request: one manifest chunk
			c := rng.IntN(m.NumChunks())
			off, n := m.ChunkRange(c)
			from, to = off, off+n-1
			spec = fmt.Sprintf("bytes=%d-%d", from, to)
		case 1: // from an offset to the end
			from, to = rng.Int64N(size), size-1
			spec = fmt.Sprintf("bytes=%d-", from)
		case 2: // the last n bytes
			n := 1 + rng.Int64N(1<<20)
			from, to = size-n, size-1
			spec = fmt.Sprintf("bytes=-%d", n)
		case 3: // past the end: cut at the end
			from, to = size-1-rng.Int64N(1000), size-1
			spec = fmt.Sprintf("bytes=%d-%d", from, size+5000)
		default: // anywhere, across chunk boundaries
			from = rng.Int64N(size)
			to = min(size-1, from+rng.Int64N(700<<10))
			spec = fmt.Sprintf("bytes=%d-%d", from, to)
		}
		resp, body := e.get(t, "GET", path, "Range", spec)
		wantRange := fmt.Sprintf("bytes %d-%d/%d", from, to, size)
		if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != wantRange {
			t.Fatalf("%s: %s, Content-Range %q; want 206, %q", spec, resp.Status, resp.Header.Get("Content-Range"), wantRange)
		}
		if !bytes.Equal(body, data[from:to+1]) {
			t.Fatalf("%s: %d bytes that differ from the artifact's bytes %d to %d", spec, len(body), from, to)
		}
	}

	resp, body = e.get(t, "HEAD", path)
	if resp.StatusCode != 200 || resp.ContentLength != size || len(body) != 0 || resp.Header.Get("ETag") == "" {
		t.Fatalf("HEAD: %s, length %d, %d body bytes, ETag %q", resp.Status, resp.ContentLength, len(body), resp.Header.Get("ETag"))
	}
	resp, _ = e.get(t, "HEAD", path, "Range", "bytes=10-19")
	if resp.StatusCode != http.StatusPartialContent || resp.ContentLength != 10 {
		t.Fatalf("HEAD with Range: %s, length %d", resp.Status, resp.ContentLength)
	}
	for _, spec := range []string{fmt.Sprintf("bytes=%d-", size), fmt.Sprintf("bytes=%d-%d", size+10, size+20)} {
		resp, _ = e.get(t, "GET", path, "Range", spec)
		if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes */%d", size) {
			t.Fatalf("%s: %s, Content-Range %q; want 416, bytes */%d", spec, resp.Status, resp.Header.Get("Content-Range"), size)
		}
	}
	resp, body = e.get(t, "GET", path, "Range", "bytes=0-0,1000000-1000000,0-0")
	if resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Fatalf("several ranges: %s, %d bytes; want the whole artifact", resp.Status, len(body))
	}
	resp, _ = e.get(t, "GET", path, "If-None-Match", `"`+m.SHA256+`"`)
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match with the ETag: %s, want 304", resp.Status)
	}

	for _, p := range []string{
		firmware.ArtifactPath(strings.Repeat("0", 64)),
		firmware.ArtifactPath(strings.ToUpper(m.SHA256)),
		firmware.ArtifactPath("../../roots"),
		"/firmware/v1/" + m.SHA256 + "/other",
		firmware.ReleasesPath + "9.9.9",
		firmware.ReleasesPath + "release.>",
	} {
		if resp, _ := e.get(t, "GET", p); resp.StatusCode != 404 {
			t.Errorf("GET %s: %s, want 404", p, resp.Status)
		}
	}

	resp, body = e.get(t, "GET", firmware.ReleasesPath+"1.4.2")
	if resp.StatusCode != 200 || !bytes.Equal(body, signed) {
		t.Fatalf("GET manifest: %s, %q", resp.Status, body)
	}
	resp, body = e.get(t, "GET", firmware.RootsPath)
	var roots []json.RawMessage
	if err := json.Unmarshal(body, &roots); resp.StatusCode != 200 || err != nil || len(roots) != 1 {
		t.Fatalf("GET roots: %s, %v, %d roots", resp.Status, err, len(roots))
	}
	if _, err := release.NewTrust(roots[0]); err != nil {
		t.Fatalf("the served root does not verify: %v", err)
	}

	// Withdrawn: its artifact and manifest are gone for good.
	if _, err := e.store.Withdraw(e.ctx, "1.4.2"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, firmware.ReleasesPath + "1.4.2"} {
		if resp, _ := e.get(t, "GET", p); resp.StatusCode != http.StatusGone {
			t.Errorf("GET %s after withdrawal: %s, want 410", p, resp.Status)
		}
	}
}

// api sends a request to the API handler and decodes its JSON answer into
// out (unless nil); it returns the status and the error message, if any.
func (e *env) apiCall(t testing.TB, method, path, ctype string, body io.Reader, out any) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(e.ctx, method, e.api.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := e.api.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		var e struct{ Error string }
		if err := json.Unmarshal(data, &e); err != nil || e.Error == "" {
			t.Fatalf("%s %s: %s with body %q, want {\"error\": …}", method, path, resp.Status, data)
		}
		return resp.StatusCode, e.Error
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %q", method, path, err, data)
		}
	}
	return 200, ""
}

// upload builds a release upload with the given parts (name, content).
func upload(t testing.TB, parts ...string) (string, io.Reader) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for i := 0; i+1 < len(parts); i += 2 {
		w, err := mw.CreateFormFile(parts[i], parts[i])
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, parts[i+1])
	}
	mw.Close()
	return mw.FormDataContentType(), &b
}

func TestAPI(t *testing.T) {
	e := newEnv(t)
	var ri firmware.RootInfo
	if code, msg := e.apiCall(t, "POST", "/api/v1/firmware/roots", "application/json", bytes.NewReader(root1(t)), &ri); code != 200 {
		t.Fatalf("POST root: %d %s", code, msg)
	}
	if ri.Version != 1 || len(ri.ReleaseKeys) != 1 || ri.ReleaseKeys[0].ID != release.KeyID(releasetest.Public(k1)) || ri.Unchanged {
		t.Fatalf("POST root = %+v", ri)
	}
	e.apiCall(t, "POST", "/api/v1/firmware/roots", "application/json", bytes.NewReader(root1(t)), &ri)
	if !ri.Unchanged {
		t.Error("the same root again is not reported unchanged")
	}
	if code, _ := e.apiCall(t, "POST", "/api/v1/firmware/roots", "", strings.NewReader(`{}`), nil); code != 400 {
		t.Errorf("POST a malformed root: %d, want 400", code)
	}

	data := releasetest.Bytes(600<<10, 7)
	m := manifest(t, "1.4.2", data)
	signed := string(releasetest.SignManifest(t, m, k1))
	var info firmware.ReleaseInfo
	ctype, body := upload(t, firmware.PartManifest, signed, firmware.PartArtifact, string(data))
	if code, msg := e.apiCall(t, "POST", "/api/v1/firmware/releases", ctype, body, &info); code != 200 {
		t.Fatalf("POST release: %d %s", code, msg)
	}
	if info.Version != "1.4.2" || info.SHA256 != m.SHA256 || info.Chunks != m.NumChunks() || info.Artifact != firmware.ArtifactPath(m.SHA256) || info.Unchanged {
		t.Fatalf("POST release = %+v", info)
	}
	ctype, body = upload(t, firmware.PartManifest, signed, firmware.PartArtifact, string(data))
	e.apiCall(t, "POST", "/api/v1/firmware/releases", ctype, body, &info)
	if !info.Unchanged {
		t.Error("the same release again is not reported unchanged")
	}

	data2 := releasetest.Bytes(400<<10, 8)
	m2 := manifest(t, "1.5.0", data2)
	bad := bytes.Clone(data2)
	bad[12345] ^= 0xff
	for _, tt := range []struct {
		name  string
		parts []string
		want  int
	}{
		{"artifact first", []string{firmware.PartArtifact, string(data), firmware.PartManifest, signed}, 400},
		{"no artifact", []string{firmware.PartManifest, signed}, 400},
		{"corrupt artifact", []string{firmware.PartManifest, string(releasetest.SignManifest(t, m2, k1)), firmware.PartArtifact, string(bad)}, 400},
		{"unknown key", []string{firmware.PartManifest, string(releasetest.SignManifest(t, m2, stranger)), firmware.PartArtifact, string(data2)}, 400},
		{"conflict", []string{firmware.PartManifest, string(releasetest.SignManifest(t, manifest(t, "1.4.2", bad), k1)), firmware.PartArtifact, string(bad)}, 409},
	} {
		ctype, body := upload(t, tt.parts...)
		if code, msg := e.apiCall(t, "POST", "/api/v1/firmware/releases", ctype, body, nil); code != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, code, msg, tt.want)
		}
	}
	if code, _ := e.apiCall(t, "POST", "/api/v1/firmware/releases", "application/octet-stream", bytes.NewReader(data), nil); code != 400 {
		t.Errorf("not multipart: %d, want 400", code)
	}

	var list []firmware.ReleaseInfo
	e.apiCall(t, "GET", "/api/v1/firmware/releases", "", nil, &list)
	if len(list) != 1 || list[0].Version != "1.4.2" {
		t.Fatalf("GET releases = %+v", list)
	}
	if code, msg := e.apiCall(t, "DELETE", "/api/v1/firmware/releases/1.4.2", "", nil, &info); code != 200 || info.Withdrawn.IsZero() {
		t.Fatalf("withdraw: %d %s, %+v", code, msg, info)
	}
	if code, _ := e.apiCall(t, "DELETE", "/api/v1/firmware/releases/7.7.7", "", nil, nil); code != 404 {
		t.Errorf("withdrawing an unknown release: %d, want 404", code)
	}
}

package fetch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/pkfreelance/seatgate/firmware/release"
)

// holding writes data to a target whose bitmap marks only the chunks
// listed complete, and returns a lookup for a Server holding it.
func holding(t testing.TB, data []byte, m release.Manifest, complete ...int) (target, bm string, lookup func(string) (release.Manifest, string, string, bool)) {
	t.Helper()
	target, bm = paths(t)
	if err := os.WriteFile(target, data, 0o644); err != nil {
		t.Fatal(err)
	}
	b := newBitmap(m)
	for _, i := range complete {
		b.set(i)
	}
	if err := b.save(bm); err != nil {
		t.Fatal(err)
	}
	return target, bm, func(sha string) (release.Manifest, string, string, bool) {
		if sha != m.SHA256 {
			return release.Manifest{}, "", "", false
		}
		return m, target, bm, true
	}
}

func TestServer(t *testing.T) {
	data, m := artifact(t, 30, 4*chunk+100, chunk) // 5 chunks, the last 100 bytes
	size := int64(len(data))
	_, _, partial := holding(t, data, m, 0, 1, 2)
	_, _, complete := holding(t, data, m, 0, 1, 2, 3, 4)
	damagedTarget, _, damaged := holding(t, data, m, 0, 1, 2, 3, 4)
	f, err := os.OpenFile(damagedTarget, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{^data[chunk]}, chunk) // chunk 1 is not what the bitmap says
	f.Close()

	path := ArtifactPath(m.SHA256)
	tests := []struct {
		name         string
		lookup       func(string) (release.Manifest, string, string, bool)
		method, path string
		rng          string
		status       int
		body         []byte // nil: not checked
		contentRange string
	}{
		{"one complete chunk", partial, "GET", path, "bytes=4096-8191", 206, data[chunk : 2*chunk], "bytes 4096-8191/16484"},
		{"inside complete chunks", partial, "GET", path, "bytes=100-9000", 206, data[100:9001], "bytes 100-9000/16484"},
		{"HEAD of a complete chunk", partial, "HEAD", path, "bytes=0-4095", 206, []byte{}, "bytes 0-4095/16484"},
		{"touches an incomplete chunk", partial, "GET", path, "bytes=8000-12288", 404, nil, ""},
		{"an incomplete chunk", partial, "GET", path, "bytes=12288-16383", 404, nil, ""},
		{"whole artifact, incomplete", partial, "GET", path, "", 404, nil, ""},
		{"whole artifact, complete", complete, "GET", path, "", 200, data, ""},
		{"open range to the end", complete, "GET", path, "bytes=16000-", 206, data[16000:], "bytes 16000-16483/16484"},
		{"suffix range", complete, "GET", path, "bytes=-84", 206, data[size-84:], "bytes 16400-16483/16484"},
		{"last byte past the end is clamped", complete, "GET", path, "bytes=16380-99999", 206, data[16380:], "bytes 16380-16483/16484"},
		{"range past the end", complete, "GET", path, "bytes=16484-16500", 416, nil, "bytes */16484"},
		{"several ranges", complete, "GET", path, "bytes=0-1,5-6", 416, nil, "bytes */16484"},
		{"malformed Range is ignored", complete, "GET", path, "bytes=oops", 200, data, ""},
		{"chunk damaged on disk", damaged, "GET", path, "bytes=4096-8191", 404, nil, ""},
		{"damaged chunk after a good one", damaged, "GET", path, "bytes=0-8191", -1, nil, ""},
		{"unknown artifact", complete, "GET", ArtifactPath(fmt.Sprintf("%064x", 1)), "", 404, nil, ""},
		{"not a hash", complete, "GET", "/firmware/v1/not-a-hash/artifact", "", 404, nil, ""},
		{"POST", complete, "POST", path, "", 405, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(NewServer(tt.lookup))
			defer srv.Close()
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.rng != "" {
				req.Header.Set("Range", tt.rng)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, readErr := io.ReadAll(resp.Body)
			if tt.status == -1 { // headers sent, then the connection cut
				if resp.StatusCode != 206 || readErr == nil {
					t.Fatalf("got %s and a body error %v, want 206 cut short", resp.Status, readErr)
				}
				return
			}
			if readErr != nil {
				t.Fatalf("read body: %v", readErr)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("got %s, want %d", resp.Status, tt.status)
			}
			if got := resp.Header.Get("Content-Range"); got != tt.contentRange {
				t.Errorf("Content-Range %q, want %q", got, tt.contentRange)
			}
			if tt.body != nil && string(body) != string(tt.body) {
				t.Errorf("body of %d bytes, want %d bytes of the artifact", len(body), len(tt.body))
			}
		})
	}
}

// TestPeerDownload: one gateway downloads from HQ; another downloads the
// same artifact from the first one's Server, and from HQ only what the
// first one lacks.
func TestPeerDownload(t *testing.T) {
	data, m := artifact(t, 31, 12*chunk+1, chunk) // 13 chunks
	hq := newMirror(t, data)
	target1, bm1 := paths(t)
	lookup := func(sha string) (release.Manifest, string, string, bool) {
		return m, target1, bm1, sha == m.SHA256
	}
	gw1 := httptest.NewTLSServer(NewServer(lookup))
	defer gw1.Close()
	peerURL := gw1.URL + ArtifactPath(m.SHA256)
	c := client(t, hq.Server, gw1)

	// gw-1 holds the first 5 chunks and a byte of the 6th.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	hq.set(func(hq *mirror) { hq.tripAt, hq.trip = 5*chunk+1, cancel })
	if _, err := Download(ctx, m, target1, bm1, Options{Client: c, Sources: []Source{{"hq", hq.URL}}}); err == nil {
		t.Fatal("gw-1's download finished, want it cut at chunk 5")
	}
	wantCompleted(t, m, bm1, 5)
	fromHQ := hq.served.Load()

	// gw-2: chunks 0-4 from gw-1, 404 for chunk 5, the rest from HQ.
	target2, bm2 := paths(t)
	st, err := Download(t.Context(), m, target2, bm2, Options{
		Client: c, Sources: []Source{{"peer gw-1", peerURL}, {"hq", hq.URL}}, clock: newFakeClock(),
	})
	if err != nil {
		t.Fatalf("gw-2 from a partial peer: %v", err)
	}
	wantFile(t, target2, data)
	if len(st.Rejected) != 0 {
		t.Errorf("rejected %v, want none", st.Rejected)
	}
	if got, want := hq.served.Load()-fromHQ, int64(len(data)-5*chunk); got != want {
		t.Errorf("HQ served gw-2 %d bytes, want %d (chunks 5-12)", got, want)
	}

	// gw-1 finishes; gw-3 gets everything from it, nothing from HQ.
	if _, err := Download(t.Context(), m, target1, bm1, Options{Client: c, Sources: []Source{{"hq", hq.URL}}}); err != nil {
		t.Fatalf("gw-1 resumes: %v", err)
	}
	fromHQ = hq.served.Load()
	target3, bm3 := paths(t)
	if _, err := Download(t.Context(), m, target3, bm3, Options{Client: c, Sources: []Source{{"peer gw-1", peerURL}, {"hq", hq.URL}}}); err != nil {
		t.Fatalf("gw-3 from a complete peer: %v", err)
	}
	wantFile(t, target3, data)
	if got := hq.served.Load() - fromHQ; got != 0 {
		t.Errorf("HQ served gw-3 %d bytes, want 0", got)
	}
}

// TestServerBusy: a gateway sends only serverSlots responses at once;
// beyond that a peer is told to come back.
func TestServerBusy(t *testing.T) {
	data, m := artifact(t, 32, 2*chunk, chunk)
	_, _, lookup := holding(t, data, m, 0, 1)
	s := newServer(lookup)
	for range serverSlots {
		s.slots <- struct{}{} // every slot taken
	}
	r := httptest.NewRequest("GET", ArtifactPath(m.SHA256), nil)
	r.SetPathValue("sha256", m.SHA256)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("got %d, Retry-After %q; want 503 with a Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	<-s.slots
	w = httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusOK || w.Body.Len() != len(data) {
		t.Fatalf("with a slot free: got %d and %d bytes, want 200 and %d", w.Code, w.Body.Len(), len(data))
	}
}

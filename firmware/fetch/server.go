package fetch

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"

	"github.com/pkfreelance/seatgate/firmware/release"
)

// ArtifactPath is the path under which a gateway's Server offers the
// artifact whose SHA-256 is sha256 (lower-case hex):
// "/firmware/v1/{sha256}/artifact".
func ArtifactPath(sha256 string) string {
	return "/firmware/v1/" + sha256 + "/artifact"
}

// NewServer returns the handler of a gateway's centre-local cache: GET and
// HEAD of ArtifactPath(sha256) serve the verified chunks of an artifact
// the gateway holds, to its peers.
//
// lookup returns the manifest, the target and the bitmap path Download
// uses for an artifact hash, or ok false for an artifact the gateway does
// not hold. A request with a single Range inside the chunks the bitmap
// marks complete gets 206; a range that touches a chunk not complete (or
// the whole artifact, without Range, before it is complete) gets 404, so
// a peer asks its next source; a range outside the artifact, or several
// ranges, get 416. Every chunk is read and checked against the manifest
// before it is sent: a chunk overwritten since it was recorded is never
// served (404 if it is the first of the response; a cut connection
// otherwise). At most serverSlots responses are read and sent at a time,
// each with one chunk in memory; a request beyond gets 503 and a
// Retry-After, which a peer takes as a transient failure.
func NewServer(lookup func(sha256 string) (m release.Manifest, target, bitmapPath string, ok bool)) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+ArtifactPath("{sha256}"), newServer(lookup))
	return mux
}

// serverSlots bounds the responses a Server sends at once.
const serverSlots = 4

type server struct {
	lookup func(sha256 string) (m release.Manifest, target, bitmapPath string, ok bool)
	slots  chan struct{}
}

func newServer(lookup func(sha256 string) (m release.Manifest, target, bitmapPath string, ok bool)) *server {
	return &server{lookup: lookup, slots: make(chan struct{}, serverSlots)}
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		w.Header().Set("Retry-After", "5")
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	sha := r.PathValue("sha256")
	m, target, bitmapPath, ok := s.lookup(sha)
	if !ok || m.SHA256 != sha || checkManifest(m) != nil {
		http.Error(w, "artifact not held here", http.StatusNotFound)
		return
	}
	bm, _, err := loadBitmap(bitmapPath, m)
	if err != nil {
		http.Error(w, "chunk bitmap unreadable", http.StatusInternalServerError)
		return
	}
	off, n, status := int64(0), m.Size, http.StatusOK
	if h := r.Header.Get("Range"); h != "" {
		switch o, k, err := parseRange(h, m.Size); {
		case err == nil:
			off, n, status = o, k, http.StatusPartialContent
		case errors.Is(err, errRangeUnsatisfiable):
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", m.Size))
			http.Error(w, "range not satisfiable", http.StatusRequestedRangeNotSatisfiable)
			return
		}
	}
	first, last := 0, bm.n-1
	if n > 0 {
		first, last = int(off/m.ChunkSize), int((off+n-1)/m.ChunkSize)
	}
	if !bm.complete(first, last) {
		http.Error(w, "chunks not complete here", http.StatusNotFound)
		return
	}

	h := w.Header()
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", strconv.Quote(m.SHA256))
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	if status == http.StatusPartialContent {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, m.Size))
	}
	if r.Method == http.MethodHead || n == 0 {
		w.WriteHeader(status)
		return
	}

	f, err := os.Open(target)
	if err != nil {
		http.Error(w, "artifact unreadable", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	buf := make([]byte, m.ChunkSize)
	for i := first; i <= last; i++ {
		cOff, cN := m.ChunkRange(i)
		data := buf[:cN]
		if _, err := f.ReadAt(data, cOff); err != nil || m.VerifyChunk(i, data) != nil {
			if i == first {
				h.Del("Content-Length")
				h.Del("Content-Range")
				http.Error(w, "chunk no longer held here", http.StatusNotFound)
				return
			}
			panic(http.ErrAbortHandler) // headers are out: cut the response short
		}
		if i == first {
			w.WriteHeader(status)
		}
		from, to := max(off, cOff)-cOff, min(off+n, cOff+cN)-cOff
		if _, err := w.Write(data[from:to]); err != nil {
			return // the peer went away
		}
	}
}

package firmware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ArtifactPath is the path, on the server of Handler, of the artifact with
// this SHA-256 (lower-case hex).
func ArtifactPath(sha256 string) string { return "/firmware/v1/" + sha256 + "/artifact" }

// Paths of Handler's other routes.
const (
	RootsPath    = "/firmware/v1/roots"
	ReleasesPath = "/firmware/v1/releases/" // + version: the signed manifest
)

// Handler serves, to anyone (what it serves is signed; gateways fetch it over
// TLS and check it):
//
//	GET, HEAD /firmware/v1/{sha256}/artifact   the artifact: 200 with the whole
//	          body, or 206 for one byte range ("Range: bytes=a-b", a request
//	          naming several ranges is answered as if it named none), 416 for a
//	          range past the end; ETag "sha256", Accept-Ranges: bytes; 404 for an
//	          unknown artifact, 410 for the artifact of a withdrawn release
//	GET /firmware/v1/roots                      every root metadata version, in
//	          order, as a JSON array
//	GET /firmware/v1/releases/{version}         the signed manifest; 404, 410
//
// Errors are plain text. A storage failure is 503 with Retry-After (the
// gateway backs off and retries).
func (s *Store) Handler() http.Handler {
	mux := http.NewServeMux()
	// One pattern: "releases/{version}" and "{sha256}/artifact" would
	// overlap in ServeMux.
	mux.HandleFunc("GET /firmware/v1/{a}/{b}", func(w http.ResponseWriter, r *http.Request) {
		switch a, b := r.PathValue("a"), r.PathValue("b"); {
		case a == "releases":
			s.serveManifest(w, r, b)
		case b == "artifact":
			s.serveArtifact(w, r, a)
		default:
			http.NotFound(w, r)
		}
	})
	mux.HandleFunc("GET "+RootsPath, s.serveRoots)
	return mux
}

func (s *Store) serveArtifact(w http.ResponseWriter, r *http.Request, sha string) {
	ctx := r.Context()
	if !validSHA256(sha) {
		http.Error(w, "no such artifact: want /firmware/v1/{sha256 in lower-case hex}/artifact", http.StatusNotFound)
		return
	}
	info, err := s.obs.GetInfo(ctx, sha, jetstream.GetObjectInfoShowDeleted())
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		http.Error(w, "no such artifact", http.StatusNotFound)
		return
	}
	if err != nil {
		s.failPublic(w, r, err)
		return
	}
	if info.Deleted {
		rel, err := s.Release(ctx, info.Metadata[metaVersion])
		if err == nil && !rel.Withdrawn.IsZero() && rel.Manifest.SHA256 == sha {
			http.Error(w, "release "+rel.Manifest.Version+" was withdrawn", http.StatusGone)
			return
		}
		http.Error(w, "no such artifact", http.StatusNotFound)
		return
	}
	idx, err := s.index(ctx, info)
	if err != nil {
		s.failPublic(w, r, err)
		return
	}
	h := w.Header()
	h.Set("ETag", `"`+sha+`"`)
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Cache-Control", "public, max-age=86400") // named by its hash: it never changes
	if strings.Contains(r.Header.Get("Range"), ",") {
		// Several ranges, each reading whole chunks, could make one request
		// read the object many times over: serve the whole body instead,
		// which RFC 9110 allows.
		r.Header.Del("Range")
	}
	http.ServeContent(w, r, "", info.ModTime, newObjectReader(ctx, idx, s.streamChunk(idx.subject)))
}

func (s *Store) serveRoots(w http.ResponseWriter, r *http.Request) {
	roots, err := s.Roots(r.Context())
	if err != nil {
		s.failPublic(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	fmt.Fprintf(w, "[%s]\n", joinJSON(roots))
}

// joinJSON joins JSON documents with commas.
func joinJSON(docs [][]byte) string {
	var b strings.Builder
	for i, d := range docs {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.Write(d)
	}
	return b.String()
}

func (s *Store) serveManifest(w http.ResponseWriter, r *http.Request, version string) {
	rel, err := s.Release(r.Context(), version)
	switch {
	case errors.Is(err, ErrNotFound):
		http.Error(w, "no such release", http.StatusNotFound)
		return
	case err != nil:
		s.failPublic(w, r, err)
		return
	case !rel.Withdrawn.IsZero():
		http.Error(w, "release "+version+" was withdrawn", http.StatusGone)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(rel.Signed)
}

// failPublic answers a storage failure without its details.
func (s *Store) failPublic(w http.ResponseWriter, r *http.Request, err error) {
	s.lg.Error("firmware: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	if unavailable(err) {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "firmware store unavailable; try again", http.StatusServiceUnavailable)
		return
	}
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// unavailable reports whether err is JetStream between leaders or NATS
// reconnecting: nothing was written, asking again will do.
func unavailable(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrAsyncPublishTimeout) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrDisconnected)
}

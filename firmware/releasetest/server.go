package releasetest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/fetch"
)

// Server is HQ's artifact download reduced to a test server: HTTPS, GET
// and HEAD with Range requests (http.ServeContent), 404 for anything not
// published. Its Client trusts it.
type Server struct {
	*httptest.Server

	mu        sync.Mutex
	artifacts map[string][]byte // path → body
}

// NewServer starts a Server, closed when t ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{artifacts: map[string][]byte{}}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Publish serves a's data under fetch.ArtifactPath, as HQ does, and
// returns its URL.
func (s *Server) Publish(a Artifact) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := fetch.ArtifactPath(a.Manifest.SHA256)
	s.artifacts[path] = a.Data
	return s.URL + path
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	b, ok := s.artifacts[r.URL.Path]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, "artifact", time.Time{}, bytes.NewReader(b))
}

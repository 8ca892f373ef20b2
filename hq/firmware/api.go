package firmware

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
)

// RootInfo is the API's description of a stored root.
type RootInfo struct {
	Version       uint64        `json:"version"`
	Expires       time.Time     `json:"expires"`
	RootKeys      []release.Key `json:"root_keys"`
	RootThreshold int           `json:"root_threshold"`
	ReleaseKeys   []release.Key `json:"release_keys"`
	Unchanged     bool          `json:"unchanged,omitempty"` // HQ had it already
}

// ReleaseInfo is the API's description of a release.
type ReleaseInfo struct {
	Version   string    `json:"version"`
	Product   string    `json:"product"`
	Channel   string    `json:"channel"`
	Arch      string    `json:"arch"`
	Hardware  []string  `json:"hardware,omitempty"`
	MinFrom   string    `json:"min_from,omitempty"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	ChunkSize int64     `json:"chunk_size"`
	Chunks    int       `json:"chunks"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires,omitzero"`
	Notes     string    `json:"notes,omitempty"`
	Published time.Time `json:"published"`
	Withdrawn time.Time `json:"withdrawn,omitzero"`
	Artifact  string    `json:"artifact"`            // ArtifactPath
	Unchanged bool      `json:"unchanged,omitempty"` // Publish: HQ had it already
}

// Info describes r for the API.
func (r Release) Info() ReleaseInfo {
	m := r.Manifest
	return ReleaseInfo{
		Version: m.Version, Product: m.Product, Channel: m.Channel, Arch: m.Arch, Hardware: m.Hardware, MinFrom: m.MinFrom,
		Size: m.Size, SHA256: m.SHA256, ChunkSize: m.ChunkSize, Chunks: len(m.Chunks),
		Created: m.Created, Expires: m.Expires, Notes: m.Notes,
		Published: r.Published, Withdrawn: r.Withdrawn, Artifact: ArtifactPath(m.SHA256),
	}
}

func rootInfo(r release.Root, unchanged bool) RootInfo {
	return RootInfo{Version: r.Version, Expires: r.Expires, RootKeys: r.RootKeys, RootThreshold: r.RootThreshold,
		ReleaseKeys: r.ReleaseKeys, Unchanged: unchanged}
}

// The parts of a release upload, in this order.
const (
	PartManifest = "manifest"
	PartArtifact = "artifact"
)

// APIHandler serves the operators' routes of the store. It does no
// authentication: mount it behind seathq's API token.
//
//	POST   /api/v1/firmware/roots               body: one signed root → RootInfo
//	GET    /api/v1/firmware/releases            → []ReleaseInfo, by version
//	POST   /api/v1/firmware/releases            multipart/form-data, part
//	       "manifest" (the signed manifest) then part "artifact" (its bytes,
//	       streamed into the store as they arrive) → ReleaseInfo
//	DELETE /api/v1/firmware/releases/{version}  withdraw → ReleaseInfo
//
// An upload is, with curl:
//
//	curl -H "Authorization: Bearer $TOKEN" -F manifest=@seatgate-1.4.2.manifest \
//	     -F artifact=@seatgate https://hq:8480/api/v1/firmware/releases
//
// Errors are {"error": "…"} (as the rest of seathq's API): 400 for a refused
// document or an artifact that does not match (ErrInvalid, ErrMismatch), 404,
// 409 (ErrConflict), 503 with Retry-After while the storage is unavailable.
func APIHandler(s *Store) http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h func(w http.ResponseWriter, r *http.Request) (any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			v, err := h(w, r)
			if err != nil {
				s.failAPI(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, v)
		})
	}
	handle("POST /api/v1/firmware/roots", s.apiPutRoot)
	handle("GET /api/v1/firmware/releases", s.apiReleases)
	handle("POST /api/v1/firmware/releases", s.apiPublish)
	handle("DELETE /api/v1/firmware/releases/{version}", s.apiWithdraw)
	return mux
}

// apiError is a refused request with its status.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func (s *Store) apiPutRoot(w http.ResponseWriter, r *http.Request) (any, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, release.MaxRootSize+1))
	if err != nil {
		return nil, badRequest("root: %v", err)
	}
	if len(b) > release.MaxRootSize {
		return nil, &apiError{http.StatusRequestEntityTooLarge, fmt.Sprintf("root: larger than %d bytes", release.MaxRootSize)}
	}
	root, unchanged, err := s.putRoot(r.Context(), b)
	if err != nil {
		return nil, err
	}
	return rootInfo(root, unchanged), nil
}

func (s *Store) apiReleases(w http.ResponseWriter, r *http.Request) (any, error) {
	rels, err := s.Releases(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]ReleaseInfo, len(rels))
	for i, rel := range rels {
		out[i] = rel.Info()
	}
	return out, nil
}

func (s *Store) apiPublish(w http.ResponseWriter, r *http.Request) (any, error) {
	signed, artifact, err := readUpload(r)
	if err != nil {
		return nil, err
	}
	rel, unchanged, err := s.publish(r.Context(), signed, artifact)
	if err != nil {
		return nil, err
	}
	if unchanged {
		// Read the rest so that the client sees the answer rather than a
		// connection closed under its upload.
		io.Copy(io.Discard, io.LimitReader(artifact, rel.Manifest.Size+1))
	}
	info := rel.Info()
	info.Unchanged = unchanged
	return info, nil
}

// readUpload reads a release upload up to its artifact: the signed
// manifest, and the artifact part to read from.
func readUpload(r *http.Request) (signed []byte, artifact io.Reader, err error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, badRequest("release upload: %v: want multipart/form-data with the parts %q and %q", err, PartManifest, PartArtifact)
	}
	p, err := nextPart(mr, PartManifest)
	if err != nil {
		return nil, nil, err
	}
	signed, err = io.ReadAll(io.LimitReader(p, release.MaxManifestSize+1))
	if err != nil {
		return nil, nil, badRequest("release upload: part %q: %v", PartManifest, err)
	}
	if len(signed) > release.MaxManifestSize {
		return nil, nil, &apiError{http.StatusRequestEntityTooLarge, fmt.Sprintf("release upload: part %q larger than %d bytes", PartManifest, release.MaxManifestSize)}
	}
	p, err = nextPart(mr, PartArtifact)
	if err != nil {
		return nil, nil, err
	}
	return signed, uploadReader{p}, nil
}

func nextPart(mr *multipart.Reader, name string) (*multipart.Part, error) {
	p, err := mr.NextRawPart()
	if err != nil {
		return nil, badRequest("release upload: want part %q: %v", name, err)
	}
	if p.FormName() != name {
		return nil, badRequest("release upload: part %q where part %q was expected (parts: %q, then %q)", p.FormName(), name, PartManifest, PartArtifact)
	}
	return p, nil
}

// uploadReader marks the errors of reading an upload as the client's.
type uploadReader struct{ r io.Reader }

func (u uploadReader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	if err != nil && err != io.EOF {
		err = &apiError{http.StatusBadRequest, "release upload: " + err.Error()}
	}
	return n, err
}

func (s *Store) apiWithdraw(w http.ResponseWriter, r *http.Request) (any, error) {
	rel, err := s.Withdraw(r.Context(), r.PathValue("version"))
	if err != nil {
		return nil, err
	}
	return rel.Info(), nil
}

// apiErrorBody is the body of every error answer, as seathq's API writes it.
type apiErrorBody struct {
	Error string `json:"error"`
}

func (s *Store) failAPI(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	status := http.StatusInternalServerError
	switch {
	case errors.As(err, &ae):
		status = ae.status
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrMismatch):
		status = http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, ErrConflict):
		status = http.StatusConflict
	case unavailable(err):
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	}
	if status >= 500 {
		s.lg.Error("firmware: API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	// The API is for authenticated operators: they get the whole message.
	writeJSON(w, status, apiErrorBody{err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

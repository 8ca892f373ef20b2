package release

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// TypeManifest is the "type" of a manifest.
const TypeManifest = "seatgate-manifest"

// Products: the gateway binary (backend A, firmware/slots) and a full
// boot image (backend B, firmware/tryboot).
const (
	ProductBinary = "seatgate"
	ProductImage  = "seatgate-image"
)

// Chunking: an artifact is checked in chunks of ChunkSize bytes (the last
// one short), DefaultChunkSize unless the manifest says otherwise, from
// MinChunkSize to MaxChunkSize.
const (
	DefaultChunkSize = 256 << 10
	MinChunkSize     = 4 << 10
	MaxChunkSize     = 16 << 20
)

// maxNotes bounds Manifest.Notes, in bytes.
const maxNotes = 1024

// Manifest describes one release of one product: what it is for, which
// versions may update to it, and the SHA-256 of the whole artifact and of
// every chunk, so that each chunk can be checked as it arrives. A release
// key signs it (SignManifest); a gateway verifies it (Trust.VerifyManifest)
// and then checks that it applies (Target.Check).
type Manifest struct {
	Type      string    `json:"type"` // TypeManifest
	Product   string    `json:"product"`
	Version   string    `json:"version"`
	Channel   string    `json:"channel"`
	Arch      string    `json:"arch"`               // "linux/arm64", "linux/arm/7", "linux/amd64"
	Hardware  []string  `json:"hardware,omitempty"` // empty = any board
	MinFrom   string    `json:"min_from,omitempty"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	ChunkSize int64     `json:"chunk_size"`
	Chunks    []string  `json:"chunks"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires,omitzero"`
	Notes     string    `json:"notes,omitempty"`
}

// NumChunks is the number of chunks of the artifact: Size divided by
// ChunkSize, rounded up (0 if either is not positive). Of a manifest that
// is not valid, it counts at most one more than a valid one can hold.
func (m Manifest) NumChunks() int {
	return int(min(m.numChunks(), maxChunks+1)) // a valid manifest has at most maxChunks
}

func (m Manifest) numChunks() int64 {
	if m.ChunkSize <= 0 || m.Size <= 0 {
		return 0
	}
	n := m.Size / m.ChunkSize
	if m.Size%m.ChunkSize != 0 {
		n++
	}
	return n
}

// ChunkRange returns where chunk i lies in the artifact: its offset and
// its length, ChunkSize except for the last chunk. It returns 0, 0 when i
// is not from 0 to NumChunks()-1.
func (m Manifest) ChunkRange(i int) (off, n int64) {
	if i < 0 || i >= m.NumChunks() {
		return 0, 0
	}
	off = int64(i) * m.ChunkSize
	return off, min(m.ChunkSize, m.Size-off)
}

// VerifyChunk checks that data is chunk i of the artifact: its length and
// its SHA-256. Errors wrap ErrChunk.
func (m Manifest) VerifyChunk(i int, data []byte) error {
	_, n := m.ChunkRange(i)
	switch {
	case n == 0:
		return fmt.Errorf("release: chunk %d: %w: no such chunk (%d chunks)", i, ErrChunk, m.NumChunks())
	case int64(len(data)) != n:
		return fmt.Errorf("release: chunk %d: %w: %d bytes, want %d", i, ErrChunk, len(data), n)
	case i >= len(m.Chunks):
		return fmt.Errorf("release: chunk %d: %w: the manifest has %d chunk hashes", i, ErrChunk, len(m.Chunks))
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != m.Chunks[i] {
		return fmt.Errorf("release: chunk %d: %w: sha256 %s, want %s", i, ErrChunk, got, m.Chunks[i])
	}
	return nil
}

// VerifyArtifact reads a whole artifact from r and checks it against the
// manifest: every chunk, the size and the SHA-256. It reads at most Size+1
// bytes. Errors wrap ErrChunk, or are r's.
func (m Manifest) VerifyArtifact(r io.Reader) error {
	if m.ChunkSize < MinChunkSize || m.ChunkSize > MaxChunkSize {
		return fmt.Errorf("release: verify artifact: %w: chunk_size %d", ErrMalformed, m.ChunkSize)
	}
	size, sum, chunks, err := digest(io.LimitReader(r, m.Size+1), m.ChunkSize, m.NumChunks()+1)
	switch {
	case err != nil:
		return fmt.Errorf("release: verify artifact: %w", err)
	case size > m.Size:
		return fmt.Errorf("release: verify artifact: %w: longer than %d bytes", ErrChunk, m.Size)
	case size != m.Size:
		return fmt.Errorf("release: verify artifact: %w: %d bytes, want %d", ErrChunk, size, m.Size)
	}
	for i, c := range chunks {
		if i >= len(m.Chunks) {
			return fmt.Errorf("release: verify artifact: chunk %d: %w: the manifest has %d chunk hashes", i, ErrChunk, len(m.Chunks))
		}
		if c != m.Chunks[i] {
			return fmt.Errorf("release: verify artifact: chunk %d: %w: sha256 %s, want %s", i, ErrChunk, c, m.Chunks[i])
		}
	}
	if sum != m.SHA256 {
		return fmt.Errorf("release: verify artifact: %w: sha256 %s, want %s", ErrChunk, sum, m.SHA256)
	}
	return nil
}

var errTooManyChunks = errors.New("too many chunks")

// digest reads r to its end in chunks of chunkSize and returns its size,
// its SHA-256 and the SHA-256 of each chunk, in hex. It stops with
// errTooManyChunks when r has more than maxChunks chunks.
func digest(r io.Reader, chunkSize int64, maxChunks int) (size int64, sum string, chunks []string, err error) {
	whole := sha256.New()
	buf := make([]byte, chunkSize)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if len(chunks) == maxChunks {
				return 0, "", nil, errTooManyChunks
			}
			c := sha256.Sum256(buf[:n])
			chunks = append(chunks, hex.EncodeToString(c[:]))
			whole.Write(buf[:n])
			size += int64(n)
		}
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return size, hex.EncodeToString(whole.Sum(nil)), chunks, nil
		case err != nil:
			return 0, "", nil, err
		}
	}
}

// maxChunks is the most chunk hashes a manifest can hold within
// MaxManifestSize: each takes 67 bytes ("…64 hex…",), and the rest of the
// manifest and its envelope far less than 64 KiB.
const maxChunks = (MaxManifestSize - 64<<10) / 67

// Build reads an artifact from r to its end and returns m completed for
// it: Type, Size, SHA256, ChunkSize (DefaultChunkSize if 0) and Chunks.
// Every other field is the caller's (Product, Version, Channel, Arch,
// Created at least) and is validated; times are put in UTC. An artifact
// whose chunk hashes would not fit in MaxManifestSize is refused (use a
// larger ChunkSize).
func Build(r io.Reader, m Manifest) (Manifest, error) {
	m.Type = TypeManifest
	if m.ChunkSize == 0 {
		m.ChunkSize = DefaultChunkSize
	}
	if m.ChunkSize < MinChunkSize || m.ChunkSize > MaxChunkSize {
		return Manifest{}, malformed("manifest", "chunk_size", "%d, want %d to %d", m.ChunkSize, MinChunkSize, MaxChunkSize)
	}
	size, sum, chunks, err := digest(r, m.ChunkSize, maxChunks)
	switch {
	case errors.Is(err, errTooManyChunks):
		return Manifest{}, malformed("manifest", "chunks", "artifact has more than %d chunks of %d bytes; use a larger chunk_size",
			maxChunks, m.ChunkSize)
	case err != nil:
		return Manifest{}, fmt.Errorf("release: build manifest: read artifact: %w", err)
	}
	m.Size, m.SHA256, m.Chunks = size, sum, chunks
	m = normalizeManifest(m)
	if err := validateManifest(&m); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// SignManifest validates m and returns its envelope signed by key, a
// release key. An empty Type is set to TypeManifest and times are put in
// UTC.
func SignManifest(m Manifest, key ed25519.PrivateKey) ([]byte, error) {
	if m.Type == "" {
		m.Type = TypeManifest
	}
	m = normalizeManifest(m)
	if err := validateManifest(&m); err != nil {
		return nil, err
	}
	canonical, err := marshalCanonical("manifest", m)
	if err != nil {
		return nil, err
	}
	return encodeEnvelope("manifest", canonical, MaxManifestSize, []ed25519.PrivateKey{key})
}

// ParseManifest decodes and validates a signed manifest (its envelope, as
// SignManifest returns it) without checking its signature: use
// Trust.VerifyManifest for that. Decoding is strict: at most
// MaxManifestSize bytes, one JSON object, no unknown or repeated key, and
// the document exactly as SignManifest writes it but for white space (so
// every JSON reader sees in it what was signed). Errors wrap ErrMalformed
// and name the field.
func ParseManifest(b []byte) (Manifest, error) {
	d, err := decodeManifest(b)
	return d.doc, err
}

func decodeManifest(b []byte) (decoded[Manifest], error) {
	d, err := decodeEnvelope(b, "manifest", MaxManifestSize, TypeManifest, validateManifest)
	if err != nil {
		return decoded[Manifest]{}, err
	}
	d.doc = normalizeManifest(d.doc)
	return d, nil
}

// normalizeManifest returns a copy of m with its times in UTC, as
// SignManifest writes them and ParseManifest returns them.
func normalizeManifest(m Manifest) Manifest {
	m.Created = m.Created.UTC()
	m.Expires = m.Expires.UTC()
	m.Hardware = slices.Clone(m.Hardware)
	m.Chunks = slices.Clone(m.Chunks)
	return m
}

// validateManifest checks the rules of a manifest.
func validateManifest(m *Manifest) error {
	bad := func(field, format string, args ...any) error { return malformed("manifest", field, format, args...) }
	if m.Type != TypeManifest {
		return bad("type", "%.40q, want %q", m.Type, TypeManifest)
	}
	for _, f := range []struct{ name, v string }{{"product", m.Product}, {"channel", m.Channel}, {"arch", m.Arch}} {
		if err := validName(f.v); err != nil {
			return bad(f.name, "%v", err)
		}
	}
	if err := ValidVersion(m.Version); err != nil {
		return bad("version", "%v", err)
	}
	for i, h := range m.Hardware {
		if err := validName(h); err != nil {
			return bad(fmt.Sprintf("hardware[%d]", i), "%v", err)
		}
		if slices.Contains(m.Hardware[:i], h) {
			return bad(fmt.Sprintf("hardware[%d]", i), "%q is listed twice", h)
		}
	}
	if m.MinFrom != "" {
		if err := ValidVersion(m.MinFrom); err != nil {
			return bad("min_from", "%v", err)
		}
		if CompareVersions(m.MinFrom, m.Version) > 0 {
			return bad("min_from", "%s is above version %s", m.MinFrom, m.Version)
		}
	}
	switch {
	case m.Size <= 0:
		return bad("size", "%d, want 1 or more", m.Size)
	case !isHex(m.SHA256, 64):
		return bad("sha256", "%.70q is not 64 lower-case hex digits", m.SHA256)
	case m.ChunkSize < MinChunkSize || m.ChunkSize > MaxChunkSize:
		return bad("chunk_size", "%d, want %d to %d", m.ChunkSize, MinChunkSize, MaxChunkSize)
	case int64(len(m.Chunks)) != m.numChunks():
		return bad("chunks", "%d hashes, want %d (size %d in chunks of %d)", len(m.Chunks), m.numChunks(), m.Size, m.ChunkSize)
	}
	for i, c := range m.Chunks {
		if !isHex(c, 64) {
			return bad(fmt.Sprintf("chunks[%d]", i), "%.70q is not 64 lower-case hex digits", c)
		}
	}
	switch {
	case m.Created.IsZero():
		return bad("created", "missing")
	case !m.Expires.IsZero() && !m.Expires.After(m.Created):
		return bad("expires", "%s is not after created %s", m.Expires.Format(time.RFC3339), m.Created.Format(time.RFC3339))
	case len(m.Notes) > maxNotes:
		return bad("notes", "%d bytes, limit %d", len(m.Notes), maxNotes)
	case !utf8.ValidString(m.Notes):
		return bad("notes", "not UTF-8")
	case strings.ContainsFunc(m.Notes, unicode.IsControl):
		return bad("notes", "control character; notes are one line")
	}
	return nil
}

// validName checks a product, channel, architecture or board name: 1 to
// 64 characters of a-z, 0-9, '.', '/', '-' and '_', starting with a letter
// or digit, without "..", "//" or a trailing '/', so that it is safe in a
// path or a log line.
func validName(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > 64:
		return fmt.Errorf("%.20q… is longer than 64 characters", s)
	case !isAlnum(s[0]):
		return fmt.Errorf("%.70q does not start with a-z or 0-9", s)
	case strings.Contains(s, "..") || strings.Contains(s, "//") || strings.HasSuffix(s, "/"):
		return fmt.Errorf("%.70q has \"..\", \"//\" or a trailing '/'", s)
	}
	for _, c := range []byte(s) {
		if !isAlnum(c) && c != '.' && c != '/' && c != '-' && c != '_' {
			return fmt.Errorf("%.70q has %q; want a-z, 0-9, '.', '/', '-', '_'", s, c)
		}
	}
	return nil
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

package firmware

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/firmware/release"
)

// MaxObjectChunk is the largest chunk message an artifact is stored in: a
// manifest chunk size above it is halved until it fits, so that a chunk
// stays well under NATS's max_payload (1 MiB by default).
const MaxObjectChunk = 256 << 10

// metaVersion is the object metadata key naming an artifact's release.
const metaVersion = "version"

// Publish publishes a release: signed is the manifest envelope, artifact
// the artifact's bytes. The manifest must verify against the newest stored
// root (ErrInvalid). The artifact is streamed into the object store in
// chunks while its size, SHA-256 and chunk hashes are checked; one that does
// not match is refused with ErrMismatch and leaves no object behind.
// Publishing a version again with the same manifest changes nothing (the
// artifact is not read); with another manifest, or once withdrawn, it is
// ErrConflict, and so is an artifact already published under another
// version.
func (s *Store) Publish(ctx context.Context, signed []byte, artifact io.Reader) (Release, error) {
	rel, _, err := s.publish(ctx, signed, artifact)
	return rel, err
}

// publish is Publish, also saying whether the release was there already.
func (s *Store) publish(ctx context.Context, signed []byte, artifact io.Reader) (rel Release, unchanged bool, err error) {
	m, err := s.verifyManifest(ctx, signed)
	if err != nil {
		return Release{}, false, err
	}
	old, err := s.Release(ctx, m.Version)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return Release{}, false, err
	default:
		if err := sameRelease(old, signed); err != nil {
			return Release{}, false, err
		}
		present, err := s.objectPresent(ctx, m.SHA256)
		if err != nil || present {
			return old, present, err
		}
		// The record is there but not its artifact (deleted by hand?):
		// store the artifact again under the same record.
	}
	info, err := s.obs.GetInfo(ctx, m.SHA256)
	switch {
	case errors.Is(err, jetstream.ErrObjectNotFound):
	case err != nil:
		return Release{}, false, fmt.Errorf("firmware: artifact %s: %w", m.SHA256, err)
	case info.Metadata[metaVersion] != m.Version:
		return Release{}, false, fmt.Errorf("firmware: release %s: %w: its artifact %s is already published as release %s",
			m.Version, ErrConflict, m.SHA256, info.Metadata[metaVersion])
	}
	if err := s.putArtifact(ctx, m, artifact); err != nil {
		return Release{}, false, err
	}
	if old.Signed != nil {
		return old, false, nil
	}
	rel = Release{Manifest: m, Signed: signed, Published: s.now().UTC()}
	data, err := encodeRecord(rel)
	if err != nil {
		return Release{}, false, err
	}
	if int64(len(data)) > s.maxPayload {
		s.deleteArtifact(ctx, m.SHA256)
		return Release{}, false, fmt.Errorf("firmware: release %s: %w: its manifest (%d bytes) is too large for HQ's storage (NATS max_payload %d); sign it with a larger chunk size",
			m.Version, ErrInvalid, len(signed), s.maxPayload)
	}
	if _, err := s.kv.Create(ctx, releaseKey(m.Version), data); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) { // another HQ instance published this version meanwhile
			old, err := s.Release(ctx, m.Version)
			if err != nil {
				return Release{}, false, err
			}
			if err := sameRelease(old, signed); err != nil {
				if old.Manifest.SHA256 != m.SHA256 {
					s.deleteArtifact(ctx, m.SHA256)
				}
				return Release{}, false, err
			}
			return old, true, nil
		}
		s.deleteArtifact(ctx, m.SHA256)
		return Release{}, false, fmt.Errorf("firmware: store release %s: %w", m.Version, err)
	}
	return rel, false, nil
}

// verifyManifest checks signed against the newest stored root.
func (s *Store) verifyManifest(ctx context.Context, signed []byte) (release.Manifest, error) {
	roots, err := s.Roots(ctx)
	if err != nil {
		return release.Manifest{}, err
	}
	if len(roots) == 0 {
		return release.Manifest{}, fmt.Errorf("firmware: manifest: %w: HQ has no root metadata to check it against; upload the roots first", ErrInvalid)
	}
	t, err := release.NewTrust(roots[len(roots)-1])
	if err != nil {
		return release.Manifest{}, fmt.Errorf("firmware: stored root version %d: %w", len(roots), err)
	}
	m, err := t.VerifyManifest(signed, s.now())
	if err != nil {
		return release.Manifest{}, fmt.Errorf("firmware: manifest: %w: %w", ErrInvalid, err)
	}
	return m, nil
}

// sameRelease returns nil if old may be taken for a publication of signed.
func sameRelease(old Release, signed []byte) error {
	v := old.Manifest.Version
	if !sameJSON(old.Signed, signed) {
		return fmt.Errorf("firmware: release %s: %w: HQ has another manifest for this version (sha256 %s); a version is published once, sign a higher one",
			v, ErrConflict, old.Manifest.SHA256)
	}
	if !old.Withdrawn.IsZero() {
		return fmt.Errorf("firmware: release %s: %w: it was withdrawn on %s; sign a higher version",
			v, ErrConflict, old.Withdrawn.Format("2006-01-02 15:04 MST"))
	}
	return nil
}

func (s *Store) objectPresent(ctx context.Context, sha string) (bool, error) {
	_, err := s.obs.GetInfo(ctx, sha)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("firmware: artifact %s: %w", sha, err)
	}
	return true, nil
}

func (s *Store) deleteArtifact(ctx context.Context, sha string) {
	if err := s.obs.Delete(context.WithoutCancel(ctx), sha); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		s.lg.Error("firmware: deleting an artifact left without its release", "sha256", sha, "err", err)
	}
}

// putArtifact streams the artifact of m into the object store, checking it
// on the way. The object store writes the object's metadata only after the
// reader's end, and the reader reports its end only once the whole artifact
// matched, so a mismatch leaves nothing: the object store purges the chunks
// it had written.
// PutTimeout bounds storing one artifact.
const PutTimeout = 15 * time.Minute

func (s *Store) putArtifact(ctx context.Context, m release.Manifest, artifact io.Reader) error {
	meta := jetstream.ObjectMeta{
		Name:        m.SHA256,
		Description: fmt.Sprintf("%s %s %s", m.Product, m.Version, m.Arch),
		Metadata:    map[string]string{metaVersion: m.Version},
		Opts:        &jetstream.ObjectMetaOptions{ChunkSize: objectChunkSize(m.ChunkSize)},
	}
	// A deadline for the whole upload, not nats.go's default of 5 s per
	// chunk's acknowledgement: a busy or fsync-every-write JetStream can
	// take longer to acknowledge one chunk of a large release.
	ctx, cancel := context.WithTimeout(ctx, PutTimeout)
	defer cancel()
	if _, err := s.obs.Put(ctx, meta, newChecker(artifact, m)); err != nil {
		if errors.Is(err, ErrMismatch) {
			return fmt.Errorf("firmware: release %s: %w", m.Version, err)
		}
		return fmt.Errorf("firmware: release %s: store artifact: %w", m.Version, err)
	}
	return nil
}

// objectChunkSize is the object store chunk size for a manifest chunk size.
func objectChunkSize(manifestChunk int64) uint32 {
	c := manifestChunk
	for c > MaxObjectChunk {
		c = (c + 1) / 2
	}
	if c <= 0 {
		c = MaxObjectChunk
	}
	return uint32(c)
}

// checker reads an artifact and checks it against a manifest as it goes.
// Each Read fills p completely unless the artifact ends, so the object
// store's chunks are all full but the last. It returns io.EOF only after the
// whole artifact matched; otherwise an error wrapping ErrMismatch (or the
// source's error), as soon as the data goes wrong.
type checker struct {
	r     io.Reader
	m     release.Manifest
	n     int64     // bytes read
	whole hash.Hash // of the artifact
	chunk hash.Hash // of the current chunk
	inCur int64     // bytes of the current chunk hashed
	idx   int       // the current chunk
	err   error     // sticky
}

func newChecker(r io.Reader, m release.Manifest) *checker {
	return &checker{r: r, m: m, whole: sha256.New(), chunk: sha256.New()}
}

func (c *checker) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := io.ReadFull(c.r, p)
	switch err {
	case nil:
	case io.EOF, io.ErrUnexpectedEOF:
		err = io.EOF
	default:
		c.err = fmt.Errorf("read artifact: %w", err)
		return 0, c.err
	}
	if c.n+int64(n) > c.m.Size {
		c.err = fmt.Errorf("%w: more than the manifest's %d bytes", ErrMismatch, c.m.Size)
		return 0, c.err
	}
	if cerr := c.add(p[:n]); cerr != nil {
		c.err = cerr
		return 0, cerr
	}
	if err == io.EOF {
		if cerr := c.finish(); cerr != nil {
			c.err = cerr
			return 0, cerr
		}
		c.err = io.EOF
	}
	return n, err
}

// add hashes b, checking each chunk it completes.
func (c *checker) add(b []byte) error {
	c.whole.Write(b)
	c.n += int64(len(b))
	for len(b) > 0 {
		_, size := c.m.ChunkRange(c.idx)
		if size == 0 { // cannot happen: Read checked the size first
			return fmt.Errorf("%w: data past the last chunk", ErrMismatch)
		}
		take := min(int64(len(b)), size-c.inCur)
		c.chunk.Write(b[:take])
		c.inCur += take
		b = b[take:]
		if c.inCur == size {
			if err := c.chunkDone(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *checker) chunkDone() error {
	if got := hex.EncodeToString(c.chunk.Sum(nil)); got != c.m.Chunks[c.idx] {
		off, _ := c.m.ChunkRange(c.idx)
		return fmt.Errorf("%w: chunk %d (bytes from %d) has SHA-256 %s, the manifest says %s", ErrMismatch, c.idx, off, got, c.m.Chunks[c.idx])
	}
	c.chunk.Reset()
	c.inCur = 0
	c.idx++
	return nil
}

func (c *checker) finish() error {
	if c.n != c.m.Size {
		return fmt.Errorf("%w: %d bytes, the manifest says %d", ErrMismatch, c.n, c.m.Size)
	}
	if got := hex.EncodeToString(c.whole.Sum(nil)); got != c.m.SHA256 {
		return fmt.Errorf("%w: SHA-256 %s, the manifest says %s", ErrMismatch, got, c.m.SHA256)
	}
	return nil
}

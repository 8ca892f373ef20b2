package firmware

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pkfreelance/seatgate/firmware/release"
)

// The JetStream buckets of the store.
const (
	// ObjectBucket is the object store of artifacts, named by SHA-256.
	ObjectBucket = "FIRMWARE"
	// KVBucket holds the root metadata ("root.N") and the releases
	// ("release.VERSION").
	KVBucket = "RELEASES"
)

// Errors of the store. Every error it returns for a refused request wraps
// one of them; ErrInvalid also wraps the release package's reason
// (release.ErrSignature, release.ErrUnknownKey, …).
var (
	// ErrNotFound: no such release, root version or artifact.
	ErrNotFound = errors.New("not found")
	// ErrMismatch: an artifact that does not match its manifest (size,
	// SHA-256 or a chunk hash).
	ErrMismatch = errors.New("artifact does not match the manifest")
	// ErrConflict: a version that HQ already has with another document, an
	// artifact already published under another version, or a withdrawn
	// release.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: a root or manifest HQ refuses: malformed, badly signed,
	// signed by a key the roots do not vouch for, expired, not the next
	// root version, or a manifest with no root to check it against.
	ErrInvalid = errors.New("refused")
)

// Release is one published release.
type Release struct {
	Manifest  release.Manifest
	Signed    []byte    // the manifest envelope as signed
	Published time.Time // when HQ accepted it
	Withdrawn time.Time // zero unless withdrawn
}

// record is a release in the KV bucket.
type record struct {
	Signed    []byte    `json:"signed"`
	Published time.Time `json:"published"`
	Withdrawn time.Time `json:"withdrawn,omitzero"`
}

// Store is HQ's firmware store. Its methods are safe for concurrent use, also
// by several HQ instances on the same JetStream.
type Store struct {
	kv         jetstream.KeyValue
	obs        jetstream.ObjectStore
	stream     jetstream.Stream // the object store's stream, for chunk reads
	maxPayload int64
	lg         *slog.Logger
	now        func() time.Time

	mu      sync.Mutex
	indexes map[string]*indexEntry // by object NUID
}

// Option changes a default of NewStore.
type Option func(*Store)

// WithLogger sets the logger of the store's HTTP handlers (default: none).
func WithLogger(lg *slog.Logger) Option { return func(s *Store) { s.lg = lg } }

// NewStore creates the object store FIRMWARE and the key-value bucket
// RELEASES if they are missing (with replicas copies; 0 means 1) and binds
// to them.
func NewStore(ctx context.Context, js jetstream.JetStream, replicas int, opts ...Option) (*Store, error) {
	if replicas == 0 {
		replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: KVBucket, History: 5, Replicas: replicas,
		Description: "firmware root metadata and releases",
	})
	if err != nil {
		return nil, fmt.Errorf("firmware: bucket %s: %w", KVBucket, err)
	}
	obs, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: ObjectBucket, Replicas: replicas, Storage: jetstream.FileStorage,
		Description: "firmware artifacts, named by SHA-256",
	})
	if err != nil {
		return nil, fmt.Errorf("firmware: object store %s: %w", ObjectBucket, err)
	}
	stream, err := js.Stream(ctx, "OBJ_"+ObjectBucket)
	if err != nil {
		return nil, fmt.Errorf("firmware: object store %s: %w", ObjectBucket, err)
	}
	s := &Store{
		kv: kv, obs: obs, stream: stream,
		maxPayload: js.Conn().MaxPayload(),
		lg:         slog.New(slog.DiscardHandler),
		now:        time.Now,
		indexes:    map[string]*indexEntry{},
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

func rootKey(version uint64) string { return "root." + strconv.FormatUint(version, 10) }

func releaseKey(version string) string { return "release." + version }

// PutRoot stores root metadata version N after checking it: version 1 must
// be signed by a threshold of its own root keys, every later version must
// chain from version N-1 stored here (release.Trust.Update). The same
// document again changes nothing; another document for a stored version is
// ErrConflict.
func (s *Store) PutRoot(ctx context.Context, rootJSON []byte) (release.Root, error) {
	r, _, err := s.putRoot(ctx, rootJSON)
	return r, err
}

// putRoot is PutRoot, also saying whether the root was there already.
func (s *Store) putRoot(ctx context.Context, b []byte) (r release.Root, unchanged bool, err error) {
	r, err = release.ParseRoot(b)
	if err != nil {
		return release.Root{}, false, fmt.Errorf("firmware: root: %w: %w", ErrInvalid, err)
	}
	if _, err := release.NewTrust(b); err != nil {
		return release.Root{}, false, fmt.Errorf("firmware: root version %d: %w: %w", r.Version, ErrInvalid, err)
	}
	key := rootKey(r.Version)
	same := func() (bool, error) {
		e, err := s.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("firmware: read %s: %w", key, err)
		}
		if !sameJSON(e.Value(), b) {
			return false, fmt.Errorf("firmware: root version %d: %w: HQ has another document for this version (a root version is never replaced; sign version %d instead)",
				r.Version, ErrConflict, r.Version+1)
		}
		return true, nil
	}
	if ok, err := same(); ok || err != nil {
		return r, ok, err
	}
	if r.Version > 1 {
		prev, err := s.kv.Get(ctx, rootKey(r.Version-1))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return release.Root{}, false, fmt.Errorf("firmware: root version %d: %w: HQ has no version %d; upload the roots in order from version 1",
				r.Version, ErrInvalid, r.Version-1)
		}
		if err != nil {
			return release.Root{}, false, fmt.Errorf("firmware: read %s: %w", rootKey(r.Version-1), err)
		}
		t, err := release.NewTrust(prev.Value())
		if err != nil {
			return release.Root{}, false, fmt.Errorf("firmware: stored root version %d: %w", r.Version-1, err)
		}
		if err := t.Update(b); err != nil {
			return release.Root{}, false, fmt.Errorf("firmware: root version %d does not chain from version %d: %w: %w", r.Version, r.Version-1, ErrInvalid, err)
		}
	}
	if _, err := s.kv.Create(ctx, key, b); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) { // another HQ instance stored it meanwhile
			ok, err := same()
			return r, ok, err
		}
		return release.Root{}, false, fmt.Errorf("firmware: store %s: %w", key, err)
	}
	return r, false, nil
}

// sameJSON reports whether two JSON documents are equal but for white space.
func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// Roots returns every stored root metadata version, from version 1 up, as
// uploaded.
func (s *Store) Roots(ctx context.Context) ([][]byte, error) {
	var roots [][]byte
	for n := uint64(1); ; n++ {
		e, err := s.kv.Get(ctx, rootKey(n))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return roots, nil
		}
		if err != nil {
			return nil, fmt.Errorf("firmware: read %s: %w", rootKey(n), err)
		}
		roots = append(roots, e.Value())
	}
}

// Release returns the release of version, withdrawn or not; ErrNotFound if
// there is none.
func (s *Store) Release(ctx context.Context, version string) (Release, error) {
	rel, _, err := s.release(ctx, version)
	return rel, err
}

// release returns a release and the revision of its record.
func (s *Store) release(ctx context.Context, version string) (Release, uint64, error) {
	if err := release.ValidVersion(version); err != nil {
		return Release{}, 0, fmt.Errorf("firmware: release %.40q: %w (%v)", version, ErrNotFound, err)
	}
	e, err := s.kv.Get(ctx, releaseKey(version))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Release{}, 0, fmt.Errorf("firmware: release %s: %w", version, ErrNotFound)
	}
	if err != nil {
		return Release{}, 0, fmt.Errorf("firmware: read release %s: %w", version, err)
	}
	rel, err := decodeRecord(e.Value())
	if err != nil {
		return Release{}, 0, fmt.Errorf("firmware: stored release %s: %w", version, err)
	}
	return rel, e.Revision(), nil
}

func decodeRecord(b []byte) (Release, error) {
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return Release{}, err
	}
	m, err := release.ParseManifest(rec.Signed)
	if err != nil {
		return Release{}, err
	}
	return Release{Manifest: m, Signed: rec.Signed, Published: rec.Published, Withdrawn: rec.Withdrawn}, nil
}

func encodeRecord(r Release) ([]byte, error) {
	return json.Marshal(record{Signed: r.Signed, Published: r.Published, Withdrawn: r.Withdrawn})
}

// Releases returns every release, withdrawn ones included, sorted by
// version.
func (s *Store) Releases(ctx context.Context) ([]Release, error) {
	lister, err := s.kv.ListKeysFiltered(ctx, "release.>")
	if err != nil {
		return nil, fmt.Errorf("firmware: list releases: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	var out []Release
	for _, k := range keys {
		rel, err := s.Release(ctx, strings.TrimPrefix(k, "release."))
		if errors.Is(err, ErrNotFound) { // deleted meanwhile
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rel)
	}
	slices.SortFunc(out, func(a, b Release) int { return release.CompareVersions(a.Manifest.Version, b.Manifest.Version) })
	return out, nil
}

// BySHA256 returns the release whose artifact has this SHA-256 (lower-case
// hex), withdrawn or not; ErrNotFound if there is none.
func (s *Store) BySHA256(ctx context.Context, sha string) (Release, error) {
	if !validSHA256(sha) {
		return Release{}, fmt.Errorf("firmware: artifact %.80q: %w (not a SHA-256 in lower-case hex)", sha, ErrNotFound)
	}
	info, err := s.obs.GetInfo(ctx, sha, jetstream.GetObjectInfoShowDeleted())
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return Release{}, fmt.Errorf("firmware: artifact %s: %w", sha, ErrNotFound)
	}
	if err != nil {
		return Release{}, fmt.Errorf("firmware: artifact %s: %w", sha, err)
	}
	rel, err := s.Release(ctx, info.Metadata[metaVersion])
	if err != nil {
		return Release{}, err
	}
	if rel.Manifest.SHA256 != sha {
		return Release{}, fmt.Errorf("firmware: artifact %s: %w (release %s has another artifact)", sha, ErrNotFound, rel.Manifest.Version)
	}
	return rel, nil
}

func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Withdraw withdraws a published release: its record says so from now on,
// its artifact is deleted (its URL answers 410 Gone) and its version can
// never be published again. Withdrawing it again changes nothing.
func (s *Store) Withdraw(ctx context.Context, version string) (Release, error) {
	rel, rev, err := s.release(ctx, version)
	if err != nil {
		return Release{}, err
	}
	if rel.Withdrawn.IsZero() {
		rel.Withdrawn = s.now().UTC()
		data, err := encodeRecord(rel)
		if err != nil {
			return Release{}, err
		}
		if _, err := s.kv.Update(ctx, releaseKey(version), data, rev); err != nil {
			return Release{}, fmt.Errorf("firmware: withdraw %s: %w", version, err)
		}
	}
	// Marked first, deleted second: a failure between the two leaves a
	// withdrawn record whose artifact a second Withdraw deletes. The same
	// bytes may have been published since under another version: then the
	// object is that release's.
	sha := rel.Manifest.SHA256
	info, err := s.obs.GetInfo(ctx, sha)
	switch {
	case errors.Is(err, jetstream.ErrObjectNotFound):
		return rel, nil
	case err != nil:
		return Release{}, fmt.Errorf("firmware: withdraw %s: artifact %s: %w", version, sha, err)
	case info.Metadata[metaVersion] != version:
		return rel, nil
	}
	if err := s.obs.Delete(ctx, sha); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return Release{}, fmt.Errorf("firmware: withdraw %s: delete artifact %s: %w", version, sha, err)
	}
	return rel, nil
}

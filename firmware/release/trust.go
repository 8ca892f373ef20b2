package release

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Trust holds the newest root a gateway has verified and checks manifests
// and newer roots against it. Make one with NewTrust; it is safe for
// concurrent use.
type Trust struct {
	mu  sync.RWMutex
	cur *trusted
}

// trusted is one verified root; it is never changed once made.
type trusted struct {
	root      Root
	raw       []byte // the envelope as received
	canonical []byte // the signed bytes
	roots     keyRing
	releases  keyRing
}

// NewTrust returns a Trust holding rootJSON, a signed root (the one shipped
// on the system image, or the newest one verified before): it must be
// signed by a threshold of its own root keys (ErrThreshold) and well-formed
// (ErrMalformed). Its expiry is not checked, so that an old gateway can
// still verify the roots that follow.
func NewTrust(rootJSON []byte) (*Trust, error) {
	d, err := decodeRoot(rootJSON)
	if err != nil {
		return nil, err
	}
	cur, err := newTrusted(d, rootJSON)
	if err != nil {
		return nil, err
	}
	if err := cur.checkThreshold(d, "its own root keys"); err != nil {
		return nil, err
	}
	return &Trust{cur: cur}, nil
}

func newTrusted(d decoded[Root], raw []byte) (*trusted, error) {
	roots, releases, err := validateRoot(&d.doc)
	if err != nil {
		return nil, err
	}
	return &trusted{root: d.doc, raw: bytes.Clone(raw), canonical: d.canonical, roots: roots, releases: releases}, nil
}

// checkThreshold checks that d is signed by at least t's threshold of t's
// root keys; whose names them in errors ("its own root keys", "the root
// keys of version 3").
func (t *trusted) checkThreshold(d decoded[Root], whose string) error {
	good, bad := signedBy(d.canonical, d.sigs, t.roots)
	if len(good) >= t.root.RootThreshold {
		return nil
	}
	var detail string
	if len(good) > 0 {
		detail += "; valid: " + strings.Join(good, ", ")
	}
	if len(bad) > 0 {
		detail += "; not verifying: " + strings.Join(bad, ", ")
	}
	return fmt.Errorf("release: root version %d: %w: %d of the %d needed from %s%s",
		d.doc.Version, ErrThreshold, len(good), t.root.RootThreshold, whose, detail)
}

func (t *Trust) current() *trusted {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.cur
}

// Root returns a copy of the trusted root.
func (t *Trust) Root() Root {
	r := t.current().root
	r.RootKeys = slices.Clone(r.RootKeys)
	r.ReleaseKeys = slices.Clone(r.ReleaseKeys)
	return r
}

// RootJSON returns a copy of the trusted root's envelope, as it was given
// to NewTrust or Update: the bytes to keep in the data directory.
func (t *Trust) RootJSON() []byte {
	return bytes.Clone(t.current().raw)
}

// Update replaces the trusted root with next, the following version of it
// (a key rotation). next must be version N+1 of the trusted version N
// (ErrRootVersion otherwise), signed by a threshold of the root keys of
// version N and by a threshold of its own root keys (ErrThreshold), and
// well-formed (ErrMalformed). Neither root's expiry is checked: a gateway
// offline for a year catches up through expired roots, one version at a
// time. Given the trusted version again, with the same signed content,
// Update does nothing and returns nil. On error the trusted root is
// unchanged.
func (t *Trust) Update(next []byte) error {
	d, err := decodeRoot(next)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.cur
	switch v, have := d.doc.Version, cur.root.Version; {
	case v == have && bytes.Equal(d.canonical, cur.canonical):
		return nil
	case v == have:
		return fmt.Errorf("release: root version %d: %w: already trusted, with different content", v, ErrRootVersion)
	case v != have+1:
		return fmt.Errorf("release: root version %d: %w: want version %d (the trusted version is %d; apply every version in order)",
			v, ErrRootVersion, have+1, have)
	}
	if err := cur.checkThreshold(d, fmt.Sprintf("the root keys of version %d", cur.root.Version)); err != nil {
		return err
	}
	nt, err := newTrusted(d, next)
	if err != nil {
		return err
	}
	if err := nt.checkThreshold(d, "its own root keys"); err != nil {
		return err
	}
	t.cur = nt
	return nil
}

// VerifyManifest decodes a signed manifest (ParseManifest) and checks it
// against the trusted root at time now. In order, it refuses:
//
//   - a malformed manifest (ErrMalformed);
//   - any manifest while the trusted root is expired (ErrExpired): a
//     newer root is needed first;
//   - a manifest signed by none of the root's release keys
//     (ErrUnknownKey), or only by release keys expired at now
//     (ErrExpired), or whose signatures by release keys do not verify
//     (ErrSignature);
//   - a manifest past its own expiry (ErrExpired).
//
// One valid signature by an unexpired release key is enough; signatures
// by other keys are ignored. Whether the release applies to this gateway
// is Target.Check's job.
func (t *Trust) VerifyManifest(b []byte, now time.Time) (Manifest, error) {
	cur := t.current()
	d, err := decodeManifest(b)
	if err != nil {
		return Manifest{}, err
	}
	m := d.doc
	name := fmt.Sprintf("release: manifest %s %s", m.Product, m.Version)
	if !now.Before(cur.root.Expires) {
		return Manifest{}, fmt.Errorf("%s: %w: trusted root version %d expired at %s; update the root first",
			name, ErrExpired, cur.root.Version, cur.root.Expires.Format(time.RFC3339))
	}
	good, bad := signedBy(d.canonical, d.sigs, cur.releases)
	var valid, expired []string
	for _, id := range good {
		if exp := cur.releases[id].expires; now.Before(exp) {
			valid = append(valid, id)
		} else {
			expired = append(expired, id+" (since "+exp.Format(time.RFC3339)+")")
		}
	}
	switch {
	case len(valid) > 0:
	case len(expired) > 0:
		return Manifest{}, fmt.Errorf("%s: %w: signed only by expired release keys: %s", name, ErrExpired, strings.Join(expired, ", "))
	case len(bad) > 0:
		return Manifest{}, fmt.Errorf("%s: %w by release key %s", name, ErrSignature, strings.Join(bad, ", "))
	case len(d.sigs) == 0:
		return Manifest{}, fmt.Errorf("%s: %w: not signed", name, ErrSignature)
	default:
		return Manifest{}, fmt.Errorf("%s: %w: signed by %s, none a release key of root version %d",
			name, ErrUnknownKey, strings.Join(sigKeys(d.sigs), ", "), cur.root.Version)
	}
	if !m.Expires.IsZero() && !now.Before(m.Expires) {
		return Manifest{}, fmt.Errorf("%s: %w at %s", name, ErrExpired, m.Expires.Format(time.RFC3339))
	}
	return m, nil
}

func sigKeys(sigs []keySig) []string {
	ids := make([]string, 0, len(sigs))
	for _, s := range sigs {
		if !slices.Contains(ids, s.keyID) {
			ids = append(ids, s.keyID)
		}
	}
	return ids
}

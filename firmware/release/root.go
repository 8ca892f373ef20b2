package release

import (
	"crypto/ed25519"
	"fmt"
	"time"
)

// TypeRoot is the "type" of root metadata.
const TypeRoot = "seatgate-root"

// Root is the root metadata: the keys a gateway trusts. The root keys (a
// threshold of them) sign the root; the release keys sign manifests until
// they expire. Each version of the root is signed by a threshold of its
// own root keys and, from version 2 on, of the root keys of the version
// before (see Trust.Update).
type Root struct {
	Type          string    `json:"type"` // TypeRoot
	Version       uint64    `json:"version"`
	Expires       time.Time `json:"expires"`
	RootKeys      []Key     `json:"root_keys"`
	RootThreshold int       `json:"root_threshold"`
	ReleaseKeys   []Key     `json:"release_keys"`
}

// SignRoot validates r and returns its envelope signed by each of keys
// (a key given twice signs once). For a rotation, sign with a threshold of
// the old root keys and a threshold of the new ones. An empty Type is set
// to TypeRoot, times are put in UTC and a nil ReleaseKeys is written as
// an empty list. SignRoot does not check that the keys reach a threshold:
// NewTrust and Trust.Update do.
func SignRoot(r Root, keys ...ed25519.PrivateKey) ([]byte, error) {
	if r.Type == "" {
		r.Type = TypeRoot
	}
	r = normalizeRoot(r)
	if _, _, err := validateRoot(&r); err != nil {
		return nil, err
	}
	canonical, err := marshalCanonical("root", r)
	if err != nil {
		return nil, err
	}
	return encodeEnvelope("root", canonical, MaxRootSize, keys)
}

// ParseRoot decodes and validates signed root metadata, strictly (see
// ParseManifest for what strict means), without checking its signatures.
// Errors wrap ErrMalformed and name the field.
func ParseRoot(b []byte) (Root, error) {
	d, err := decodeRoot(b)
	return d.doc, err
}

func decodeRoot(b []byte) (decoded[Root], error) {
	d, err := decodeEnvelope(b, "root", MaxRootSize, TypeRoot, func(r *Root) error {
		if r.ReleaseKeys == nil {
			return malformed("root", "release_keys", "missing or null, want a list")
		}
		_, _, err := validateRoot(r)
		return err
	})
	if err != nil {
		return decoded[Root]{}, err
	}
	d.doc = normalizeRoot(d.doc)
	return d, nil
}

// normalizeRoot returns a copy of r with its times in UTC and its lists
// non-nil, as SignRoot writes them and ParseRoot returns them.
func normalizeRoot(r Root) Root {
	r.Expires = r.Expires.UTC()
	r.RootKeys = normalizeKeys(r.RootKeys)
	r.ReleaseKeys = normalizeKeys(r.ReleaseKeys)
	return r
}

func normalizeKeys(keys []Key) []Key {
	out := make([]Key, len(keys))
	for i, k := range keys {
		k.Expires = k.Expires.UTC()
		out[i] = k
	}
	return out
}

// validateRoot checks the rules of a root and returns its key rings:
// type, version from 1, an expiry, at least one root key, a threshold
// from 1 to the number of root keys, release keys with an expiry, root
// keys without, every key well-formed and listed once, and no key both a
// root key and a release key (a release key lives on a build machine; a
// root key must not).
func validateRoot(r *Root) (roots, releases keyRing, err error) {
	switch {
	case r.Type != TypeRoot:
		return nil, nil, malformed("root", "type", "%.40q, want %q", r.Type, TypeRoot)
	case r.Version == 0:
		return nil, nil, malformed("root", "version", "0, want 1 or more")
	case r.Expires.IsZero():
		return nil, nil, malformed("root", "expires", "missing")
	case len(r.RootKeys) == 0:
		return nil, nil, malformed("root", "root_keys", "empty")
	case r.RootThreshold < 1 || r.RootThreshold > len(r.RootKeys):
		return nil, nil, malformed("root", "root_threshold", "%d, want 1 to %d (the number of root keys)",
			r.RootThreshold, len(r.RootKeys))
	}
	if roots, err = newKeyRing("root_keys", r.RootKeys, false); err != nil {
		return nil, nil, err
	}
	if releases, err = newKeyRing("release_keys", r.ReleaseKeys, true); err != nil {
		return nil, nil, err
	}
	for i, k := range r.ReleaseKeys {
		if _, ok := roots[k.ID]; ok {
			return nil, nil, malformed("root", fmt.Sprintf("release_keys[%d]", i),
				"key %s is also a root key; use separate keys", k.ID)
		}
	}
	return roots, releases, nil
}

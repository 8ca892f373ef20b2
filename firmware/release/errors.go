package release

import (
	"errors"
	"fmt"
)

// Every error of the package wraps exactly one of these, so callers branch
// with errors.Is and report by kind. The message around it says which
// document, field, key or version was wrong.
var (
	// ErrMalformed: a document or key that is not what this package
	// writes: too large, not one JSON object, an unknown or repeated key,
	// keys out of order, a value of the wrong type, or a value that breaks
	// a rule (bad version, wrong chunk count, key ID that does not match
	// its key, …).
	ErrMalformed = errors.New("malformed")
	// ErrSignature: no signature, or a signature by a trusted key that does
	// not verify.
	ErrSignature = errors.New("bad signature")
	// ErrUnknownKey: a manifest signed by none of the release keys of the
	// trusted root.
	ErrUnknownKey = errors.New("unknown key")
	// ErrExpired: the trusted root, the release key that signed a manifest,
	// or the manifest itself is past its expiry.
	ErrExpired = errors.New("expired")
	// ErrThreshold: a root signed by fewer root keys than it needs (its
	// own threshold, or for a rotation the threshold of the root before).
	ErrThreshold = errors.New("too few signatures")
	// ErrRootVersion: a root that is not the next version of the trusted
	// one.
	ErrRootVersion = errors.New("wrong root version")

	// ErrProduct: a manifest for another product.
	ErrProduct = errors.New("wrong product")
	// ErrArch: a manifest for another architecture.
	ErrArch = errors.New("wrong architecture")
	// ErrHardware: a manifest that does not list the gateway's board.
	ErrHardware = errors.New("wrong hardware")
	// ErrChannel: a manifest for another channel.
	ErrChannel = errors.New("wrong channel")
	// ErrRollback: a version not above the running version or the
	// anti-rollback floor.
	ErrRollback = errors.New("rollback")
	// ErrMinFrom: the running version is below the manifest's min_from.
	ErrMinFrom = errors.New("running version too old")
	// ErrRefused: a version already rolled back on this gateway.
	ErrRefused = errors.New("refused after rollback")

	// ErrChunk: data that does not match the manifest: a chunk of the
	// wrong length or hash, or an artifact of the wrong size or hash.
	ErrChunk = errors.New("does not match the manifest")
)

// malformed returns an ErrMalformed error about field of doc ("root",
// "manifest", "envelope"); field may be empty.
func malformed(doc, field, format string, args ...any) error {
	if field != "" {
		field += ": "
	}
	return fmt.Errorf("release: %s: %w: %s%s", doc, ErrMalformed, field, fmt.Sprintf(format, args...))
}

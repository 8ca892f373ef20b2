// Package release is the trust of firmware updates: the keys, the signed
// root metadata, the signed manifests, the order of versions, and the
// checks a gateway makes before it installs a release. It follows TUF's
// split of roles, reduced to two (docs/firmware.md §1). It uses only the
// standard library, has no state but Trust, and starts no goroutines.
//
// # Keys and roots
//
// Keys are ed25519. Root keys are kept offline by the release manager;
// release keys live on the build machine and expire. A Root lists both,
// with a version, an expiry and the number of root keys (RootThreshold)
// that must sign it. SignRoot signs one; KeyID names a key; key files are
// PEM (EncodePrivateKeyPEM, ParsePublicKeyPEM, …).
//
// A gateway ships with root version 1 and keeps the newest root it has
// verified in a Trust. NewTrust checks a root against its own root keys;
// Trust.Update accepts version N+1 only when a threshold of the root keys
// of version N and a threshold of its own root keys signed it: keys are
// rotated by publishing the next version, which fewer stolen root keys
// than the threshold cannot do. Expiry does not stop a rotation, only
// manifests.
//
// # Manifests
//
// A Manifest describes one release: product, version, channel,
// architecture, boards, the oldest version that may update to it
// (MinFrom), and the size and SHA-256 of the artifact and of each of its
// chunks (DefaultChunkSize, 256 KiB). Build computes the hashes from the
// artifact; SignManifest signs it with a release key;
// Trust.VerifyManifest checks the signature and the expiries; Target.Check
// checks that the release applies to this gateway (product, architecture,
// board, channel, anti-rollback floor, running version, min_from, and
// releases rolled back here before); Manifest.VerifyChunk checks each
// chunk as it arrives.
//
// # Envelopes
//
// Both documents travel in one envelope:
//
//	{"signed": {...}, "signatures": [{"keyid": "9f2c1e0d5a3b7c68", "sig": "<base64 of 64 bytes>"}]}
//
// A signature covers the canonical bytes of "signed": encoding/json's
// encoding of the Go struct (keys in declaration order, no white space,
// times in RFC 3339 UTC). Decoding is strict: the document, less white
// space, must be exactly its canonical encoding, so a reader refuses an
// unknown, repeated, reordered or differently cased key as ErrMalformed
// and any changed value fails its signature, while a document re-indented
// by a person or a tool still verifies. Signatures by keys the verifier
// does not know are ignored; a key that signs twice counts once.
//
// # Errors
//
// Every error wraps one of the Err values (ErrMalformed, ErrSignature,
// ErrUnknownKey, ErrExpired, ErrThreshold, ErrRootVersion, ErrProduct,
// ErrArch, ErrHardware, ErrChannel, ErrRollback, ErrMinFrom, ErrRefused,
// ErrChunk), so callers branch with errors.Is, and its message says which
// field, key or version was wrong.
package release

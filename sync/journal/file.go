package journal

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// A membership snapshot carried by hand (a USB stick at an offline centre,
// or the first load before the HQ link is up) is the snapshot JSON file
// plus a detached signature file beside it, FILE.sig: the standard base64
// of HQ's ed25519 signature over the file's exact bytes.

// SigSuffix names the detached signature file of a snapshot file.
const SigSuffix = ".sig"

// ErrSnapshotSignature is returned for a snapshot file whose signature is
// missing or does not verify with HQ's key.
var ErrSnapshotSignature = errors.New("membership snapshot not signed by HQ")

// SignSnapshotFile returns the content of the .sig file for data.
func SignSnapshotFile(priv ed25519.PrivateKey, data []byte) []byte {
	return []byte(base64.StdEncoding.EncodeToString(ed25519.Sign(priv, data)) + "\n")
}

// VerifySnapshotFile checks data against the content of its .sig file.
func VerifySnapshotFile(pub ed25519.PublicKey, data, sig []byte) error {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sig)))
	if err != nil || len(raw) != ed25519.SignatureSize {
		return fmt.Errorf("%w: the signature file is not base64 of %d bytes", ErrSnapshotSignature, ed25519.SignatureSize)
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, data, raw) {
		return fmt.Errorf("%w: the signature does not match the file and HQ's key", ErrSnapshotSignature)
	}
	return nil
}

package main

import (
	"crypto/ed25519"
	"encoding/base64"

	"github.com/pkfreelance/seatgate/sync/journal"
)

func verifyWith(pubB64 string, data, sig []byte) error {
	pub, err := base64.StdEncoding.DecodeString(pubB64)
	if err != nil {
		return err
	}
	return journal.VerifySnapshotFile(ed25519.PublicKey(pub), data, sig)
}

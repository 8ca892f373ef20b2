// Package identity keeps the gateway's device key: an ed25519 key created on
// first start in the data directory and registered with HQ at enrolment.
// The gateway signs its event batches and birth messages with it, so HQ can
// tell evidence from this gateway from anything an owner or a broker could
// forge.
package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pkfreelance/seatgate/sync/wire"
)

// KeyFile is the device key's file name in the data directory.
const KeyFile = "device.key"

// PEM block types of the keys kept this way.
const (
	DeviceKeyType = "SEATGATE DEVICE KEY"     // a gateway's device key
	HQKeyType     = "SEATGATE HQ SIGNING KEY" // HQ's key for acks, journal and snapshots
)

// Key is a device key.
type Key struct {
	Private ed25519.PrivateKey
}

// Public is the key's public half.
func (k Key) Public() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

// ID names the key: the first 8 bytes of SHA-256 of the public key, hex.
func (k Key) ID() string { return KeyID(k.Public()) }

// KeyID names a public key the way Key.ID does (wire.KeyID).
func KeyID(pub ed25519.PublicKey) string { return wire.KeyID(pub) }

// LoadOrCreate reads the device key from dir, creating it (mode 0600,
// written to a temporary name, fsynced and renamed) if there is none. A key
// file that exists but cannot be read is an error, never replaced: a new
// key would break the gateway's enrolment with HQ.
func LoadOrCreate(dir string) (Key, error) {
	return LoadOrCreateFile(filepath.Join(dir, KeyFile), DeviceKeyType)
}

// LoadOrCreateFile is LoadOrCreate for a key of kind (a PEM block type) at
// path.
func LoadOrCreateFile(path, kind string) (Key, error) {
	k, err := Load(path, kind)
	if !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, fmt.Errorf("generate key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: priv.Seed()})
	if err := writeAtomic(path, data); err != nil {
		return Key{}, fmt.Errorf("write key %s: %w", path, err)
	}
	return Key{Private: priv}, nil
}

// Load reads an existing key of kind from path; errors.Is(err,
// os.ErrNotExist) when there is none.
func Load(path, kind string) (Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("read key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != kind || len(blk.Bytes) != ed25519.SeedSize {
		return Key{}, fmt.Errorf("key %s: not a %s PEM block of %d bytes (the file is damaged; restore it from backup or re-enrol the gateway)",
			path, kind, ed25519.SeedSize)
	}
	return Key{Private: ed25519.NewKeyFromSeed(blk.Bytes)}, nil
}

// PublicBase64 is the public key as the gateway's config takes it
// (hq.hq_key): standard base64.
func (k Key) PublicBase64() string { return base64.StdEncoding.EncodeToString(k.Public()) }

// writeAtomic writes data to path through a temporary file in the same
// directory: written, fsynced, renamed, directory fsynced.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

package release_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
)

// The release manager's flow, from the root keys to a gateway installing
// a release. Real keys come from GenerateKey and live in PEM files; these
// are fixed so that the output is.
func Example() {
	key := func(b byte) ed25519.PrivateKey {
		return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
	}
	pubOf := func(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }
	rootA, rootB, buildKey := key(1), key(2), key(3)
	day := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

	// Offline: two root keys, either of which signs the root; one release
	// key for the build machine, valid for 90 days. rootJSON ships on the
	// gateway's system image.
	rootJSON, err := release.SignRoot(release.Root{
		Version:       1,
		Expires:       day.AddDate(1, 0, 0),
		RootKeys:      []release.Key{release.NewKey(pubOf(rootA), time.Time{}), release.NewKey(pubOf(rootB), time.Time{})},
		RootThreshold: 1,
		ReleaseKeys:   []release.Key{release.NewKey(pubOf(buildKey), day.AddDate(0, 0, 90))},
	}, rootA)
	if err != nil {
		fmt.Println(err)
		return
	}

	// On the build machine: hash the artifact, sign the manifest.
	binary := bytes.Repeat([]byte("seatgate binary "), 40000) // 640000 bytes
	m, err := release.Build(bytes.NewReader(binary), release.Manifest{
		Product: release.ProductBinary, Version: "1.4.2", Channel: "stable", Arch: "linux/arm64",
		MinFrom: "1.2", Created: day, Notes: "faster desk unlock",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	signed, err := release.SignManifest(m, buildKey)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("manifest %s %s: %d bytes in %d chunks, signed by %s\n",
		m.Product, m.Version, m.Size, m.NumChunks(), release.KeyID(pubOf(buildKey)))

	// On the gateway: verify against the trusted root, check that the
	// release applies, then check every chunk as it arrives.
	trust, err := release.NewTrust(rootJSON)
	if err != nil {
		fmt.Println(err)
		return
	}
	got, err := trust.VerifyManifest(signed, day.Add(time.Hour))
	if err != nil {
		fmt.Println(err)
		return
	}
	gw := release.Target{Product: release.ProductBinary, Arch: "linux/arm64", Channel: "stable", Hardware: "rpi4",
		Running: "1.3.1", Floor: "1.3.1"}
	if err := gw.Check(got); err != nil {
		fmt.Println(err)
		return
	}
	for i := range got.NumChunks() {
		off, n := got.ChunkRange(i)
		if err := got.VerifyChunk(i, binary[off:off+n]); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println("gateway: verified, applies, all chunks good")

	// A gateway already on 1.5 refuses it; a mirror's bad chunk is caught;
	// after 90 days the release key no longer signs.
	gw.Running, gw.Floor = "1.5", "1.5"
	fmt.Println(errors.Is(gw.Check(got), release.ErrRollback))
	fmt.Println(errors.Is(got.VerifyChunk(0, make([]byte, release.DefaultChunkSize)), release.ErrChunk))
	_, err = trust.VerifyManifest(signed, day.AddDate(0, 0, 91))
	fmt.Println(err)
	// Output:
	// manifest seatgate 1.4.2: 640000 bytes in 3 chunks, signed by b62e867fa2f33afe
	// gateway: verified, applies, all chunks good
	// true
	// true
	// release: manifest seatgate 1.4.2: expired: signed only by expired release keys: b62e867fa2f33afe (since 2026-08-30T00:00:00Z)
}

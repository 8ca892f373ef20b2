// Package firmware is HQ's side of firmware releases (docs/firmware.md): it
// keeps the root metadata and the published releases, stores their artifacts
// and serves both to gateways over HTTPS with Range requests.
//
// # State in JetStream
//
// The key-value bucket RELEASES holds the root metadata, one key per version
// ("root.1", "root.2", … → the signed root, as uploaded), and the releases,
// one key per version ("release.1.4.2" → the signed manifest, when it was
// published and, if it was, withdrawn). The object store FIRMWARE holds the
// artifacts, each named by the lower-case hex of its SHA-256, with the
// release's version in its metadata.
//
// PutRoot accepts root version 1 as it is (checked against its own root
// keys) and every later version only when it chains from the version before
// it (release.Trust.Update), so HQ serves exactly the chain a gateway will
// walk. Publish verifies the signed manifest against the newest root, then
// streams the artifact into the object store while checking its size, its
// SHA-256 and every chunk hash; an artifact that does not match is refused and
// its chunks are purged before Publish returns, so no object that HQ serves
// was ever unverified. A version is published once: the same manifest again
// changes nothing, another manifest for it is ErrConflict. Withdraw marks a
// release withdrawn and deletes its artifact, which then answers 410 Gone.
//
// # Serving ranges
//
// An object is a sequence of chunk messages on one subject of the object
// store's stream ($O.FIRMWARE.C.<nuid>). A Range request reads only the chunks
// it covers, each by its stream sequence (a direct get), from an index of
// the object's chunks (their sequences and sizes) that is built once per
// object and HQ instance with a headers-only consumer. Objects are stored in
// chunks of the manifest's chunk size (halved until at most MaxObjectChunk),
// so a gateway that asks for one manifest chunk costs one direct get.
//
// # HTTP
//
// Handler serves the public, unauthenticated routes a gateway uses (the
// artifact, the roots, a release's manifest: signed data, fetched over TLS);
// APIHandler serves the operators' routes under /api/v1/firmware, to be
// mounted behind seathq's API authentication. seatctl release publish and
// release list are its clients.
package firmware

// Package fetch downloads a firmware artifact into a slot so that no
// crash, power cut, bad link or malicious mirror costs more than one
// chunk, and serves the chunks a gateway holds to the other gateways of
// its centre (docs/firmware.md, sections 2 and 5).
//
// # Download
//
// Download fetches an artifact described by a release.Manifest chunk by
// chunk, one HTTPS Range request per chunk, from an ordered list of
// sources: the centre's LAN peers first, HQ last. Every chunk is checked
// against the manifest before it is written; a source that serves
// anything else (wrong bytes, a short or long body, 200 to a range, a
// wrong Content-Range) is dropped for the call and the chunk is asked of
// the next source. A chunk is written in place with WriteAt and fsynced,
// and only then recorded in the chunk bitmap, a small file replaced
// atomically, so after any interruption the next call fetches again at
// most the chunk that was in flight (and not that one if it is found
// whole on disk). When every chunk is recorded the
// target is read back and its whole SHA-256 checked.
//
// A source that fails (a network error, a 5xx, a timeout) rests for an
// exponential backoff with jitter while the others carry on; when every
// source rests, Download waits for the first to be ready. A 404 or 410
// means the source lacks the chunk (a peer may hold only part of the
// artifact): the next source is asked, and when every source says so the
// download fails with ErrPermanent, without retrying. Options adds a
// bandwidth cap over all sources, an allowed time window, a random start
// delay, a time limit per chunk request (so a stalled or trickling mirror
// cannot hold a download) and a limit on the time without progress;
// Progress reports each chunk and each wait.
//
// # Chunk bitmap
//
// The bitmap file holds the artifact's SHA-256, size and chunk size and
// one bit per chunk, under a CRC-32C; a bitmap for another artifact is
// discarded (and replaced before any chunk is written). Completed reads
// it.
//
// # Centre-local cache
//
// NewServer serves GET and HEAD of ArtifactPath(sha256) with Range, only
// within chunks that the bitmap marks complete and that still match the
// manifest when read; anything else is 404, so a peer falls back to its
// next source. The peer trusts none of it: it checks every chunk as it
// would from any mirror.
//
// Download starts no goroutine and logs nothing unless given a Logger.
// Logs and errors name a source's URL without its credentials or query.
package fetch

package fetch

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math/bits"
	"os"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/state"
)

// The bitmap file records which chunks of one artifact are verified and
// fsynced in the target. It is replaced atomically (a temporary file,
// fsync, rename, fsync of the directory), so a reader sees either the old
// or the new bitmap, never a mix. Layout, big-endian:
//
//	0   8   magic "SGFWBM\x00\x01" (format 1)
//	8   32  SHA-256 of the whole artifact (raw)
//	40  8   artifact size
//	48  8   chunk size
//	56  4   number of chunks, n
//	60  ⌈n/8⌉  one bit per chunk: chunk i is bit i%8 (least significant
//	        first) of byte i/8; the unused high bits of the last byte are 0
//	…   4   CRC-32C of every byte before it
//
// The header binds the bitmap to one artifact: a bitmap whose hash, size
// or chunk size differ from the manifest's describes another artifact (or
// another chunking of it) and is discarded.

var bitmapMagic = [8]byte{'S', 'G', 'F', 'W', 'B', 'M', 0, 1}

const (
	bitmapHeaderLen = 60
	bitmapCRCLen    = 4
	// maxBitmapChunks bounds the chunk count a bitmap may declare, so a
	// parser never allocates more than 16 MiB for one: 2^27 chunks of the
	// smallest sensible size are far beyond any slot.
	maxBitmapChunks = 1 << 27
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errBitmapFormat is wrapped by every parse error of a bitmap file.
var errBitmapFormat = errors.New("malformed chunk bitmap")

// bitmap is the set of chunks verified on disk for one artifact.
type bitmap struct {
	sha       [32]byte
	size      int64
	chunkSize int64
	n         int
	bits      []byte // ⌈n/8⌉ bytes
}

// newBitmap returns an empty bitmap bound to m. m must have passed
// checkManifest.
func newBitmap(m release.Manifest) *bitmap {
	b := &bitmap{size: m.Size, chunkSize: m.ChunkSize, n: m.NumChunks()}
	hex.Decode(b.sha[:], []byte(m.SHA256)) // checked by checkManifest
	b.bits = make([]byte, (b.n+7)/8)
	return b
}

// matches reports whether b describes the artifact m.
func (b *bitmap) matches(m release.Manifest) bool {
	var sha [32]byte
	if _, err := hex.Decode(sha[:], []byte(m.SHA256)); err != nil || len(m.SHA256) != 64 {
		return false
	}
	return sha == b.sha && b.size == m.Size && b.chunkSize == m.ChunkSize && b.n == m.NumChunks()
}

func (b *bitmap) has(i int) bool { return b.bits[i/8]&(1<<(i%8)) != 0 }
func (b *bitmap) set(i int)      { b.bits[i/8] |= 1 << (i % 8) }
func (b *bitmap) clear(i int)    { b.bits[i/8] &^= 1 << (i % 8) }

// count is the number of chunks marked complete.
func (b *bitmap) count() int {
	c := 0
	for _, x := range b.bits {
		c += bits.OnesCount8(x)
	}
	return c
}

// complete reports whether every chunk in [first, last] is marked.
func (b *bitmap) complete(first, last int) bool {
	for i := first; i <= last; i++ {
		if !b.has(i) {
			return false
		}
	}
	return true
}

// encode returns the file form of b.
func (b *bitmap) encode() []byte {
	out := make([]byte, 0, bitmapHeaderLen+len(b.bits)+bitmapCRCLen)
	out = append(out, bitmapMagic[:]...)
	out = append(out, b.sha[:]...)
	out = binary.BigEndian.AppendUint64(out, uint64(b.size))
	out = binary.BigEndian.AppendUint64(out, uint64(b.chunkSize))
	out = binary.BigEndian.AppendUint32(out, uint32(b.n))
	out = append(out, b.bits...)
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

// parseBitmap reads the file form of a bitmap strictly: the magic, a
// consistent header (a chunk count that the size and chunk size imply),
// exactly ⌈n/8⌉ bit bytes with the unused bits zero, and the checksum.
// Errors wrap errBitmapFormat.
func parseBitmap(data []byte) (*bitmap, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", errBitmapFormat, fmt.Sprintf(format, args...))
	}
	if len(data) < bitmapHeaderLen+bitmapCRCLen {
		return nil, bad("%d bytes, shorter than the %d-byte header and checksum", len(data), bitmapHeaderLen+bitmapCRCLen)
	}
	if !bytes.Equal(data[:8], bitmapMagic[:]) {
		return nil, bad("bad magic %q", data[:8])
	}
	body, sum := data[:len(data)-bitmapCRCLen], binary.BigEndian.Uint32(data[len(data)-bitmapCRCLen:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return nil, bad("checksum %08x, want %08x", got, sum)
	}
	b := &bitmap{}
	copy(b.sha[:], data[8:40])
	size, chunkSize := binary.BigEndian.Uint64(data[40:48]), binary.BigEndian.Uint64(data[48:56])
	n := binary.BigEndian.Uint32(data[56:60])
	if size > 1<<62 || chunkSize == 0 || chunkSize > 1<<62 {
		return nil, bad("size %d or chunk size %d out of range", size, chunkSize)
	}
	if want := (size + chunkSize - 1) / chunkSize; uint64(n) != want || n > maxBitmapChunks {
		return nil, bad("%d chunks, but size %d in chunks of %d makes %d", n, size, chunkSize, want)
	}
	b.size, b.chunkSize, b.n = int64(size), int64(chunkSize), int(n)
	bitBytes := body[bitmapHeaderLen:]
	if len(bitBytes) != (b.n+7)/8 {
		return nil, bad("%d bit bytes for %d chunks, want %d", len(bitBytes), b.n, (b.n+7)/8)
	}
	if r := b.n % 8; r != 0 && bitBytes[len(bitBytes)-1]>>r != 0 {
		return nil, bad("bits set past chunk %d", b.n-1)
	}
	b.bits = bytes.Clone(bitBytes)
	return b, nil
}

// loadBitmap reads the bitmap at path for m. A missing file, one that does
// not parse or one for another artifact gives an empty bitmap and a reason
// (for the log); err is only for a file that exists and cannot be read.
func loadBitmap(path string, m release.Manifest) (b *bitmap, discarded string, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return newBitmap(m), "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("open chunk bitmap: %w", err)
	}
	defer f.Close()
	want := int64(bitmapHeaderLen + (m.NumChunks()+7)/8 + bitmapCRCLen)
	data, err := io.ReadAll(io.LimitReader(f, want+1))
	if err != nil {
		return nil, "", fmt.Errorf("read chunk bitmap %s: %w", path, err)
	}
	got, err := parseBitmap(data)
	if err != nil {
		return newBitmap(m), err.Error(), nil
	}
	if !got.matches(m) {
		return newBitmap(m), fmt.Sprintf("bitmap is for artifact %x (%d bytes in chunks of %d)", got.sha, got.size, got.chunkSize), nil
	}
	return got, "", nil
}

// save replaces the bitmap at path with b atomically and durably: when it
// returns nil, a power cut leaves b at path.
func (b *bitmap) save(path string) error {
	if err := state.WriteFileAtomic(path, b.encode(), 0o644); err != nil {
		return fmt.Errorf("replace chunk bitmap: %w", err)
	}
	return nil
}

// Completed reports how many chunks of the artifact m describes are
// verified on disk according to the bitmap at bitmapPath. A missing or
// malformed bitmap, or one for another artifact, counts as none done; err
// is for a bitmap that cannot be read or a manifest that cannot describe
// a download. It does not read the target: Download checks the whole
// artifact before it reports success.
func Completed(m release.Manifest, bitmapPath string) (done, total int, err error) {
	if err := checkManifest(m); err != nil {
		return 0, 0, err
	}
	b, _, err := loadBitmap(bitmapPath, m)
	if err != nil {
		return 0, m.NumChunks(), err
	}
	return b.count(), b.n, nil
}

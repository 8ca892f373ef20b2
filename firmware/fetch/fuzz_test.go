package fetch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"testing"
)

// FuzzReadBitmap: the bitmap parser never panics, fails only with
// errBitmapFormat, and accepts only the canonical form of a bitmap, so
// what it accepts encodes back to the same bytes.
func FuzzReadBitmap(f *testing.F) {
	_, m := artifact(f, 40, 9*chunk+1, chunk) // 10 chunks: two bit bytes
	b := newBitmap(m)
	f.Add(b.encode())
	b.set(0)
	b.set(9)
	f.Add(b.encode())
	good := b.encode()
	f.Add(good[:len(good)-1])                                  // truncated
	f.Add(append(bytes.Clone(good[:len(good)-4]), 0, 0, 0, 0)) // bad checksum
	f.Add([]byte("SGFWBM\x00\x01"))
	f.Fuzz(func(t *testing.T, in []byte) {
		check := func(in []byte) {
			b, err := parseBitmap(in)
			if err != nil {
				if !errors.Is(err, errBitmapFormat) {
					t.Fatalf("error %v does not wrap errBitmapFormat", err)
				}
				return
			}
			if out := b.encode(); !bytes.Equal(out, in) {
				t.Fatalf("accepted %x, which encodes as %x", in, out)
			}
			if c := b.count(); c < 0 || c > b.n {
				t.Fatalf("%d of %d chunks marked", c, b.n)
			}
		}
		check(in)
		// The same with a right checksum, so the header and bits are explored.
		if len(in) >= bitmapCRCLen {
			body := in[:len(in)-bitmapCRCLen]
			check(binary.BigEndian.AppendUint32(bytes.Clone(body), crc32.Checksum(body, castagnoli)))
		}
	})
}

// FuzzContentRange: the Content-Range parser never panics, and what it
// accepts is a consistent range that formats and parses back the same.
func FuzzContentRange(f *testing.F) {
	for _, s := range []string{
		"bytes 0-4095/10240", "bytes 4096-8191/*", "BYTES 0-0/1", "bytes */10240", "bytes 5-4/10",
		"bytes 0-10/10", "bytes -1-2/3", "bytes 0-1/2 ", "bytes  0-1/2", "bytes 0-99999999999999999999/*",
		"bytes +1-2/3", "items 0-1/2", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		first, last, complete, err := parseContentRange(s)
		if err != nil {
			return
		}
		if first < 0 || last < first || complete < -1 || (complete >= 0 && last >= complete) {
			t.Fatalf("%q: accepted first %d, last %d, complete %d", s, first, last, complete)
		}
		total := "*"
		if complete >= 0 {
			total = fmt.Sprint(complete)
		}
		again := fmt.Sprintf("bytes %d-%d/%s", first, last, total)
		f2, l2, c2, err := parseContentRange(again)
		if err != nil || f2 != first || l2 != last || c2 != complete {
			t.Fatalf("%q parses as %q, which parses as %d-%d/%d, %v", s, again, f2, l2, c2, err)
		}
	})
}

// FuzzParseRange: the Range parser (a peer's request to Server) never
// panics, fails only with its two errors, and selects only bytes of the
// artifact.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{
		"bytes=0-4095", "bytes=4096-", "bytes=-100", "bytes=0-1,5-6", "bytes=, 0-1 ,", "bytes=9-1",
		"bytes=-0", "bytes=99999999999999999999-", "Bytes = 1-2", "bytes=-", "items=0-1", "",
	} {
		f.Add(s, int64(16484))
	}
	f.Add("bytes=0-0", int64(0))
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -(size + 1)
		}
		size %= 1 << 50
		off, n, err := parseRange(h, size)
		if err != nil {
			if !errors.Is(err, errRangeIgnored) && !errors.Is(err, errRangeUnsatisfiable) {
				t.Fatalf("%q: unexpected error %v", h, err)
			}
			return
		}
		if off < 0 || n < 1 || off+n > size {
			t.Fatalf("%q on %d bytes: offset %d, length %d", h, size, off, n)
		}
	})
}

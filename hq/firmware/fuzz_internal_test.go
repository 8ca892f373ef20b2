package firmware

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
)

// shortReader returns at most step bytes per Read, to vary how reads fall
// on chunk boundaries.
type shortReader struct {
	r    io.Reader
	step int
}

func (s shortReader) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), s.step)]) }

// FuzzChecker: the checker passes exactly the artifact its manifest was
// built from, whatever the reads, and refuses anything else with
// ErrMismatch.
func FuzzChecker(f *testing.F) {
	f.Add(bytes.Repeat([]byte("seatgate"), 2000), uint16(0), byte(0), uint16(0), uint8(7), uint16(100))
	f.Add(bytes.Repeat([]byte("seatgate"), 2000), uint16(5000), byte(1), uint16(0), uint8(255), uint16(4096))
	f.Add(bytes.Repeat([]byte{1, 2, 3}, 3000), uint16(0), byte(0), uint16(1), uint8(1), uint16(4096))
	f.Add([]byte("x"), uint16(0), byte(0), uint16(0), uint8(0), uint16(1))
	f.Fuzz(func(t *testing.T, orig []byte, at uint16, flip byte, cut uint16, step uint8, bufSize uint16) {
		m, err := release.Build(bytes.NewReader(orig), release.Manifest{
			Product: release.ProductBinary, Version: "1.0", Channel: "stable", Arch: "linux/arm64",
			ChunkSize: release.MinChunkSize, Created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		})
		if err != nil {
			return // an artifact release refuses (empty)
		}
		data := bytes.Clone(orig)
		if len(data) > 0 {
			data[int(at)%len(data)] ^= flip
		}
		data = data[:len(data)-min(int(cut), len(data))]
		if cut == 1 && flip == 0 {
			data = append(bytes.Clone(orig), 0) // one byte too many
		}
		c := newChecker(shortReader{bytes.NewReader(data), int(step) + 1}, m)
		buf := make([]byte, int(bufSize)+1)
		var got []byte
		for {
			n, err := c.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				if bytes.Equal(data, orig) {
					t.Fatalf("the right artifact refused: %v", err)
				}
				if !errors.Is(err, ErrMismatch) {
					t.Fatalf("refused without ErrMismatch: %v", err)
				}
				if _, again := c.Read(buf); again == nil || again == io.EOF {
					t.Fatalf("a Read after the refusal returned %v", again)
				}
				return
			}
			if n < len(buf) && int64(len(got)) < m.Size {
				t.Fatalf("a short read (%d of %d) before the end", n, len(buf))
			}
		}
		if !bytes.Equal(data, orig) || !bytes.Equal(got, orig) {
			t.Fatalf("accepted %d bytes that differ from the %d-byte artifact", len(data), len(orig))
		}
	})
}

// FuzzObjectReader: an objectReader over chunks of any sizes reads the
// object's bytes at any offset, and fetches each chunk once when read in
// order.
func FuzzObjectReader(f *testing.F) {
	f.Add([]byte("0123456789abcdefghijklmnopqrstuvwxyz"), []byte{3, 5, 1, 10}, []byte{0, 5, 7, 40, 35, 2, 3, 100})
	f.Add(bytes.Repeat([]byte{7}, 1000), []byte{255}, []byte{200, 255, 1, 1})
	f.Fuzz(func(t *testing.T, data, sizes, ops []byte) {
		if len(data) == 0 || len(sizes) == 0 {
			return
		}
		x := &objectIndex{subject: "$O.T.C.x", size: int64(len(data))}
		chunks := map[uint64][]byte{}
		for off, i := 0, 0; off < len(data); i++ {
			n := min(int(sizes[i%len(sizes)])+1, len(data)-off)
			seq := uint64(100 + 3*i)
			x.offs, x.seqs = append(x.offs, int64(off)), append(x.seqs, seq)
			chunks[seq] = data[off : off+n]
			off += n
		}
		gets := 0
		get := func(_ context.Context, seq uint64) ([]byte, error) {
			gets++
			c, ok := chunks[seq]
			if !ok {
				return nil, fmt.Errorf("no message %d", seq)
			}
			return c, nil
		}
		r := newObjectReader(context.Background(), x, get)
		whole, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(whole, data) {
			t.Fatalf("reading in order: %v, equal %v", err, bytes.Equal(whole, data))
		}
		if gets != len(x.seqs) {
			t.Fatalf("reading in order fetched %d chunks, want %d", gets, len(x.seqs))
		}
		for i := 0; i+1 < len(ops); i += 2 {
			off := int64(ops[i]) * int64(len(data)) / 200 // up to past the end
			if _, err := r.Seek(off, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, int(ops[i+1])+1)
			n, err := io.ReadFull(r, buf)
			want := data[min(off, int64(len(data))):]
			want = want[:min(len(want), len(buf))]
			if !bytes.Equal(buf[:n], want) {
				t.Fatalf("%d bytes at %d: got %q, want %q", len(buf), off, buf[:n], want)
			}
			if n < len(buf) && err != io.ErrUnexpectedEOF && err != io.EOF {
				t.Fatalf("a short read at %d without EOF: %v", off, err)
			}
		}
		if _, err := r.Seek(-1, io.SeekStart); err == nil {
			t.Fatal("seeking before the start succeeded")
		}
		if end, _ := r.Seek(0, io.SeekEnd); end != int64(len(data)) {
			t.Fatalf("Seek to the end = %d, want %d", end, len(data))
		}
	})
}

// FuzzReadUpload: any request body is refused cleanly or yields a manifest
// part within its limit and an artifact part to read.
func FuzzReadUpload(f *testing.F) {
	valid := func(parts ...string) []byte {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.SetBoundary("B0UNDARY")
		for i := 0; i+1 < len(parts); i += 2 {
			w, _ := mw.CreateFormFile(parts[i], parts[i])
			io.WriteString(w, parts[i+1])
		}
		mw.Close()
		return b.Bytes()
	}
	f.Add(valid(PartManifest, `{"signed":{}}`, PartArtifact, "seatgate binary"), "B0UNDARY")
	f.Add(valid(PartArtifact, "x", PartManifest, "y"), "B0UNDARY")
	f.Add(valid(PartManifest, "only"), "B0UNDARY")
	f.Add([]byte("--B0UNDARY\r\nContent-Disposition: form-data; name=\"manifest\"\r\n\r\nm\r\n--B0UNDARY--"), "B0UNDARY")
	f.Add([]byte("not multipart"), "")
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		req := httptest.NewRequest("POST", "/api/v1/firmware/releases", bytes.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		signed, artifact, err := readUpload(req)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status/100 != 4 {
				t.Fatalf("refused with %v, not a client error", err)
			}
			return
		}
		if len(signed) > release.MaxManifestSize {
			t.Fatalf("a manifest part of %d bytes", len(signed))
		}
		if _, err := io.Copy(io.Discard, artifact); err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("reading the artifact part: %v, not a client error", err)
			}
		}
	})
}

func TestObjectChunkSize(t *testing.T) {
	for _, tt := range []struct {
		manifest int64
		want     uint32
	}{
		{256 << 10, 256 << 10},
		{4 << 10, 4 << 10},
		{100000, 100000},
		{1 << 20, 256 << 10},
		{16 << 20, 256 << 10},
		{300000, 150000},
		{0, MaxObjectChunk},
	} {
		if got := objectChunkSize(tt.manifest); got != tt.want {
			t.Errorf("objectChunkSize(%d) = %d, want %d", tt.manifest, got, tt.want)
		}
	}
}

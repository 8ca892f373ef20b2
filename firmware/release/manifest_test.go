package release_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/releasetest"
)

func TestBuild(t *testing.T) {
	for _, tt := range []struct {
		name      string
		size      int
		chunkSize int64
		wantChunk int64 // chunk size in the manifest
		wantLast  int64 // length of the last chunk
	}{
		{"short last chunk", 10 << 10, 4 << 10, 4 << 10, 2 << 10},
		{"exact multiple", 12 << 10, 4 << 10, 4 << 10, 4 << 10},
		{"one byte", 1, 4 << 10, 4 << 10, 1},
		{"default chunk size", release.DefaultChunkSize + 7, 0, release.DefaultChunkSize, 7},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := releasetest.Bytes(tt.size, 0)
			m, err := release.Build(bytes.NewReader(data), release.Manifest{
				Product: release.ProductImage, Version: "2", Channel: "beta", Arch: "linux/arm/7",
				ChunkSize: tt.chunkSize, Created: now,
			})
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			if m.Type != release.TypeManifest || m.Size != int64(tt.size) || m.SHA256 != hex.EncodeToString(sum[:]) ||
				m.ChunkSize != tt.wantChunk {
				t.Fatalf("got type %q size %d sha256 %s chunk_size %d, want %q %d %x %d",
					m.Type, m.Size, m.SHA256, m.ChunkSize, release.TypeManifest, tt.size, sum, tt.wantChunk)
			}
			var total int64
			for i := range m.NumChunks() {
				off, n := m.ChunkRange(i)
				if off != total {
					t.Fatalf("chunk %d at %d, want %d", i, off, total)
				}
				c := sha256.Sum256(data[off : off+n])
				if m.Chunks[i] != hex.EncodeToString(c[:]) {
					t.Fatalf("chunk %d: hash %s, want %x", i, m.Chunks[i], c)
				}
				if err := m.VerifyChunk(i, data[off:off+n]); err != nil {
					t.Fatal(err)
				}
				total += n
			}
			if _, n := m.ChunkRange(m.NumChunks() - 1); n != tt.wantLast {
				t.Errorf("last chunk is %d bytes, want %d", n, tt.wantLast)
			}
			if total != int64(tt.size) || len(m.Chunks) != m.NumChunks() {
				t.Errorf("chunks cover %d bytes in %d hashes, want %d in %d", total, len(m.Chunks), tt.size, m.NumChunks())
			}
			if err := m.VerifyArtifact(bytes.NewReader(data)); err != nil {
				t.Errorf("VerifyArtifact: %v", err)
			}
		})
	}
}

// Build reads the artifact in pieces as they come (a network stream, a
// pipe), and fails with the reader's error.
func TestBuildReader(t *testing.T) {
	data := releasetest.Bytes(10<<10, 0)
	base := release.Manifest{Product: "seatgate", Version: "1", Channel: "stable", Arch: "linux/amd64", ChunkSize: 4 << 10, Created: now}
	want, err := release.Build(bytes.NewReader(data), base)
	if err != nil {
		t.Fatal(err)
	}
	got, err := release.Build(iotest.OneByteReader(bytes.NewReader(data)), base)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("one byte at a time: got %+v, want %+v", got, want)
	}
	boom := errors.New("disk on fire")
	if _, err := release.Build(io.MultiReader(bytes.NewReader(data), iotest.ErrReader(boom)), base); !errors.Is(err, boom) {
		t.Errorf("reader failing: got %v, want %v", err, boom)
	}
}

func TestBuildRefuses(t *testing.T) {
	ok := release.Manifest{Product: "seatgate", Version: "1.0", Channel: "stable", Arch: "linux/amd64", Created: now}
	for _, tt := range []struct {
		name   string
		data   []byte
		change func(*release.Manifest)
		field  string
	}{
		{"empty artifact", nil, func(*release.Manifest) {}, "size"},
		{"chunk size too small", []byte("x"), func(m *release.Manifest) { m.ChunkSize = 4<<10 - 1 }, "chunk_size"},
		{"chunk size too large", []byte("x"), func(m *release.Manifest) { m.ChunkSize = 16<<20 + 1 }, "chunk_size"},
		{"no created", []byte("x"), func(m *release.Manifest) { m.Created = time.Time{} }, "created"},
		{"no product", []byte("x"), func(m *release.Manifest) { m.Product = "" }, "product"},
		{"bad version", []byte("x"), func(m *release.Manifest) { m.Version = "1.0-rc1" }, "version"},
		{"too many chunks", nil, func(m *release.Manifest) { m.ChunkSize = 4 << 10 }, "chunks"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := ok
			tt.change(&m)
			r := io.Reader(bytes.NewReader(tt.data))
			if tt.name == "too many chunks" {
				// 15 000 chunk hashes do not fit in MaxManifestSize.
				r = io.LimitReader(zeros{}, 15000*4<<10)
			}
			_, err := release.Build(r, m)
			wantErr(t, err, release.ErrMalformed)
			if !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("error %q does not name field %s", err, tt.field)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestVerifyChunk(t *testing.T) {
	m := testManifest(t)
	data := releasetest.Bytes(10<<10, 0)
	flipped := bytes.Clone(data[8<<10:])
	flipped[100] ^= 1
	for _, tt := range []struct {
		name string
		i    int
		data []byte
		want error
	}{
		{"first", 0, data[:4<<10], nil},
		{"last, short", 2, data[8<<10:], nil},
		{"other chunk's data", 1, data[:4<<10], release.ErrChunk},
		{"truncated", 0, data[:4<<10-1], release.ErrChunk},
		{"too long", 2, data[8<<10-1:], release.ErrChunk},
		{"bit flipped", 2, flipped, release.ErrChunk},
		{"empty", 0, nil, release.ErrChunk},
		{"index past the end", 3, data[:2<<10], release.ErrChunk},
		{"negative index", -1, data[:4<<10], release.ErrChunk},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, m.VerifyChunk(tt.i, tt.data), tt.want)
		})
	}
}

func TestVerifyArtifact(t *testing.T) {
	m := testManifest(t)
	data := releasetest.Bytes(10<<10, 0)
	flipped := bytes.Clone(data)
	flipped[5000] ^= 0x80
	for _, tt := range []struct {
		name string
		data []byte
		want error
	}{
		{"whole", data, nil},
		{"truncated", data[:len(data)-1], release.ErrChunk},
		{"one byte more", append(bytes.Clone(data), 0), release.ErrChunk},
		{"a chunk more", append(bytes.Clone(data), data...), release.ErrChunk},
		{"bit flipped", flipped, release.ErrChunk},
		{"empty", nil, release.ErrChunk},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, m.VerifyArtifact(bytes.NewReader(tt.data)), tt.want)
		})
	}
}

func TestManifestRoundTrip(t *testing.T) {
	m := testManifest(t)
	m.Expires = now.AddDate(0, 3, 0)
	b := releasetest.SignManifest(t, m, k1)
	got, err := release.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("got %+v\nwant %+v", got, m)
	}
}

// SignManifest writes times in UTC and fills an empty type, so that
// what it signs reads back as the same instant.
func TestSignManifestNormalizes(t *testing.T) {
	m := testManifest(t)
	m.Type = ""
	m.Created = m.Created.In(time.FixedZone("PKT", 5*3600))
	got, err := release.ParseManifest(releasetest.SignManifest(t, m, k1))
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != release.TypeManifest || !got.Created.Equal(m.Created) || got.Created.Location() != time.UTC {
		t.Errorf("got type %q created %v, want %q %v in UTC", got.Type, got.Created, release.TypeManifest, m.Created)
	}
}

// unsignedEnvelope wraps a document, as encoding/json writes it, in an
// envelope with no signatures: what a forger would send to test the
// validation behind the signature.
func unsignedEnvelope(t testing.TB, doc any) []byte {
	t.Helper()
	b, err := json.Marshal(struct {
		Signed     any   `json:"signed"`
		Signatures []int `json:"signatures"`
	}{doc, []int{}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every rule of a manifest, broken once: ParseManifest refuses it as
// ErrMalformed and names the field; SignManifest refuses to sign it.
func TestManifestRules(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*release.Manifest)
		field  string
	}{
		{"type", func(m *release.Manifest) { m.Type = release.TypeRoot }, "type"},
		{"product empty", func(m *release.Manifest) { m.Product = "" }, "product"},
		{"product upper case", func(m *release.Manifest) { m.Product = "SeatGate" }, "product"},
		{"product with ..", func(m *release.Manifest) { m.Product = "a/../b" }, "product"},
		{"product with space", func(m *release.Manifest) { m.Product = "seat gate" }, "product"},
		{"product too long", func(m *release.Manifest) { m.Product = strings.Repeat("a", 65) }, "product"},
		{"channel empty", func(m *release.Manifest) { m.Channel = "" }, "channel"},
		{"channel leading dash", func(m *release.Manifest) { m.Channel = "-beta" }, "channel"},
		{"arch empty", func(m *release.Manifest) { m.Arch = "" }, "arch"},
		{"arch trailing slash", func(m *release.Manifest) { m.Arch = "linux/" }, "arch"},
		{"arch double slash", func(m *release.Manifest) { m.Arch = "linux//arm64" }, "arch"},
		{"version", func(m *release.Manifest) { m.Version = "1.4.2-beta" }, "version"},
		{"version empty", func(m *release.Manifest) { m.Version = "" }, "version"},
		{"hardware empty name", func(m *release.Manifest) { m.Hardware = []string{"rpi4", ""} }, "hardware[1]"},
		{"hardware twice", func(m *release.Manifest) { m.Hardware = []string{"rpi4", "rpi4"} }, "hardware[1]"},
		{"min_from invalid", func(m *release.Manifest) { m.MinFrom = "1.x" }, "min_from"},
		{"min_from above version", func(m *release.Manifest) { m.MinFrom = "1.4.3" }, "min_from"},
		{"size zero", func(m *release.Manifest) { m.Size = 0 }, "size"},
		{"size negative", func(m *release.Manifest) { m.Size = -1 }, "size"},
		{"size one chunk more", func(m *release.Manifest) { m.Size += 4 << 10 }, "chunks"},
		{"size huge", func(m *release.Manifest) { m.Size = 1<<63 - 1 }, "chunks"},
		{"sha256 upper case", func(m *release.Manifest) { m.SHA256 = strings.ToUpper(m.SHA256) }, "sha256"},
		{"sha256 short", func(m *release.Manifest) { m.SHA256 = m.SHA256[:63] }, "sha256"},
		{"chunk_size zero", func(m *release.Manifest) { m.ChunkSize = 0 }, "chunk_size"},
		{"chunk_size small", func(m *release.Manifest) { m.ChunkSize = 1024 }, "chunk_size"},
		{"chunk_size large", func(m *release.Manifest) { m.ChunkSize = 32 << 20 }, "chunk_size"},
		{"chunk missing", func(m *release.Manifest) { m.Chunks = m.Chunks[:2] }, "chunks"},
		{"chunk extra", func(m *release.Manifest) { m.Chunks = append(m.Chunks, m.Chunks[0]) }, "chunks"},
		{"chunks null", func(m *release.Manifest) { m.Chunks = nil }, "chunks"},
		{"chunk not hex", func(m *release.Manifest) { m.Chunks[1] = strings.Repeat("g", 64) }, "chunks[1]"},
		{"created missing", func(m *release.Manifest) { m.Created = time.Time{} }, "created"},
		{"expires before created", func(m *release.Manifest) { m.Expires = m.Created.Add(-time.Second) }, "expires"},
		{"expires at created", func(m *release.Manifest) { m.Expires = m.Created }, "expires"},
		{"notes two lines", func(m *release.Manifest) { m.Notes = "one\ntwo" }, "notes"},
		// (encoding/json cannot write invalid UTF-8: only SignManifest sees it.)
		{"notes not UTF-8", func(m *release.Manifest) { m.Notes = "caf\xe9" }, "notes"},
		{"notes too long", func(m *release.Manifest) { m.Notes = strings.Repeat("n", 1025) }, "notes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := testManifest(t)
			tt.change(&m)
			_, err := release.SignManifest(m, k1)
			wantErr(t, err, release.ErrMalformed)
			if tt.name != "notes not UTF-8" {
				_, err = release.ParseManifest(unsignedEnvelope(t, m))
				wantErr(t, err, release.ErrMalformed)
			}
			if !strings.Contains(err.Error(), " "+tt.field+": ") {
				t.Errorf("error %q does not name field %s", err, tt.field)
			}
		})
	}
}

// The JSON forms ParseManifest refuses before any signature is checked.
// Only white space may differ from what SignManifest writes.
func TestParseManifestStrict(t *testing.T) {
	good := releasetest.SignManifest(t, testManifest(t), k1)
	for _, tt := range []struct {
		name string
		in   []byte
		want error
	}{
		{"as signed", good, nil},
		{"re-indented", indent(t, good), nil},
		{"CRLF and tabs", bytes.ReplaceAll(indent(t, good), []byte("\n"), []byte("\r\n\t")), nil},
		{"<, > and & unescaped (jq)", unescapeHTML(t, good), nil},
		{"empty", nil, release.ErrMalformed},
		{"null", []byte("null"), release.ErrMalformed},
		{"array", []byte("[]"), release.ErrMalformed},
		{"truncated", good[:len(good)-1], release.ErrMalformed},
		{"two objects", append(bytes.Clone(good), good...), release.ErrMalformed},
		{"trailing garbage", append(bytes.Clone(good), 'x'), release.ErrMalformed},
		{"too large", append(bytes.Clone(good), bytes.Repeat([]byte(" "), release.MaxManifestSize)...), release.ErrMalformed},
		{"signed missing", []byte(`{"signatures":[]}`), release.ErrMalformed},
		{"signed not an object", []byte(`{"signed":[1],"signatures":[]}`), release.ErrMalformed},
		{"unknown envelope key", replace(t, good, `{"signed":`, `{"x":1,"signed":`), release.ErrMalformed},
		{"envelope keys reordered", reorderEnvelope(t, good), release.ErrMalformed},
		{"envelope key in upper case", replace(t, good, `"signatures"`, `"Signatures"`), release.ErrMalformed},
		{"unknown field", replace(t, good, `"product"`, `"extra":1,"product"`), release.ErrMalformed},
		{"field in upper case", replace(t, good, `"version"`, `"Version"`), release.ErrMalformed},
		{"field given twice", replace(t, good, `"version":"1.4.2"`, `"version":"9.9.9","version":"1.4.2"`), release.ErrMalformed},
		{"fields reordered", replace(t, good, `"product":"seatgate","version":"1.4.2"`, `"version":"1.4.2","product":"seatgate"`), release.ErrMalformed},
		{"number as string", replace(t, good, `"chunk_size":4096`, `"chunk_size":"4096"`), release.ErrMalformed},
		{"number with exponent", replace(t, good, `"chunk_size":4096`, `"chunk_size":4.096e3`), release.ErrMalformed},
		{"time with +00:00", replace(t, good, `T11:00:00Z"`, `T11:00:00+00:00"`), release.ErrMalformed},
		{"time with fraction", replace(t, good, `T11:00:00Z"`, `T11:00:00.000Z"`), release.ErrMalformed},
		{"escaped letter", replace(t, good, `"stable"`, `"st\u0061ble"`), release.ErrMalformed},
		{"empty hardware written", replace(t, good, `"hardware":["rpi4","cm4"]`, `"hardware":[]`), release.ErrMalformed},
		{"zero expiry written", replace(t, good, `"chunks"`, `"expires":"0001-01-01T00:00:00Z","chunks"`), release.ErrMalformed},
		{"type of a root", replace(t, good, release.TypeManifest, release.TypeRoot), release.ErrMalformed},
		{"keyid upper case", replace(t, good, release.KeyID(releasetest.Public(k1)), strings.ToUpper(release.KeyID(releasetest.Public(k1)))), release.ErrMalformed},
		{"keyid short", replace(t, good, release.KeyID(releasetest.Public(k1)), release.KeyID(releasetest.Public(k1))[:15]), release.ErrMalformed},
		{"sig not base64", replace(t, good, `"sig":"`, `"sig":"!`), release.ErrMalformed},
		{"sig short", replace(t, good, `"sig":"`, `"sig":"AAAA`), release.ErrMalformed},
		{"signatures not a list", replace(t, good, `"signatures":[`, `"signatures":{"a":[`), release.ErrMalformed},
		{"too many signatures", manySignatures(t, good, 33), release.ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := release.ParseManifest(tt.in)
			wantErr(t, err, tt.want)
			if err == nil && m.Version != "1.4.2" {
				t.Errorf("parsed version %q, want 1.4.2", m.Version)
			}
		})
	}
}

func indent(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "    "); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// unescapeHTML undoes encoding/json's escaping of '<', '>' and '&', as jq
// and other tools write them.
func unescapeHTML(t testing.TB, b []byte) []byte {
	t.Helper()
	out := b
	for _, esc := range []struct{ from, to string }{{`\u003c`, "<"}, {`\u003e`, ">"}, {`\u0026`, "&"}} {
		out = replace(t, out, esc.from, esc.to)
	}
	return out
}

// reorderEnvelope puts "signatures" before "signed".
func reorderEnvelope(t testing.TB, b []byte) []byte {
	t.Helper()
	var env struct {
		Signed     json.RawMessage `json:"signed"`
		Signatures json.RawMessage `json:"signatures"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	return []byte(`{"signatures":` + string(env.Signatures) + `,"signed":` + string(env.Signed) + `}`)
}

// manySignatures returns b with its one signature repeated n times.
func manySignatures(t testing.TB, b []byte, n int) []byte {
	t.Helper()
	i := bytes.Index(b, []byte(`"signatures":[`)) + len(`"signatures":[`)
	sig := b[i : len(b)-2]
	return []byte(string(b[:i]) + strings.Repeat(string(sig)+",", n-1) + string(sig) + "]}")
}

package fetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
)

// artifact returns size pseudo-random bytes (the same for the same seed)
// and their manifest in chunks of chunkSize.
func artifact(t testing.TB, seed uint64, size int, chunkSize int64) ([]byte, release.Manifest) {
	t.Helper()
	data := make([]byte, size)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	r.Read(data)
	m, err := release.Build(bytes.NewReader(data), release.Manifest{
		Product: release.ProductBinary, Version: "1.4.2", Channel: "stable", Arch: "linux/arm64",
		ChunkSize: chunkSize, Created: time.Date(2026, 11, 4, 9, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatalf("release.Build: %v", err)
	}
	return data, m
}

// mirror is an HTTPS server of one artifact with Range support
// (http.ServeContent), which counts what it serves and can be made to
// misbehave, go slowly, or stop at a given byte.
type mirror struct {
	*httptest.Server
	data     []byte
	requests atomic.Int64 // requests received
	served   atomic.Int64 // body bytes handed to the connection

	mu sync.Mutex
	// fault, if set, may answer a request itself (and return true) instead
	// of the mirror. It gets the request's number, from 1.
	fault func(w http.ResponseWriter, r *http.Request, nth int64) bool
	// pace, if set, sleeps between pieces of a body, making the mirror slow.
	pace time.Duration
	// tripAt, if > 0, stops the body when served reaches it: trip is called
	// once, and the handler then fails the response, or with hold, holds
	// the connection until the client goes away (a client killed mid-body).
	tripAt int64
	trip   func()
	hold   bool
}

func newMirror(t testing.TB, data []byte) *mirror {
	t.Helper()
	m := &mirror{data: data}
	m.Server = httptest.NewTLSServer(http.HandlerFunc(m.serve))
	t.Cleanup(func() {
		m.CloseClientConnections()
		m.Close()
	})
	return m
}

// set changes the mirror's behaviour under its lock.
func (m *mirror) set(f func(m *mirror)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m)
}

func (m *mirror) serve(w http.ResponseWriter, r *http.Request) {
	nth := m.requests.Add(1)
	m.mu.Lock()
	fault := m.fault
	m.mu.Unlock()
	if fault != nil && fault(w, r, nth) {
		return
	}
	http.ServeContent(&countingWriter{ResponseWriter: w, m: m, ctx: r.Context()}, r, "", time.Time{}, bytes.NewReader(m.data))
}

var errTripped = errors.New("mirror stopped at its trip point")

// countingWriter counts the body bytes a mirror writes, in pieces of at
// most 4 KiB, pacing and tripping as the mirror says.
type countingWriter struct {
	http.ResponseWriter
	m   *mirror
	ctx context.Context
}

func (c *countingWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		c.m.mu.Lock()
		pace, tripAt, trip, hold := c.m.pace, c.m.tripAt, c.m.trip, c.m.hold
		c.m.mu.Unlock()
		k := min(len(p), 4<<10)
		tripping := false
		if tripAt > 0 {
			left := tripAt - c.m.served.Load()
			if left <= int64(k) {
				k, tripping = int(max(left, 0)), true
			}
		}
		if pace > 0 {
			time.Sleep(pace)
		}
		n, err := c.ResponseWriter.Write(p[:k])
		c.m.served.Add(int64(n))
		written += n
		if err != nil {
			return written, err
		}
		p = p[k:]
		if tripping {
			c.ResponseWriter.(http.Flusher).Flush()
			c.m.set(func(m *mirror) { m.tripAt = 0 })
			if trip != nil {
				trip()
			}
			if !hold {
				return written, errTripped
			}
			<-c.ctx.Done() // hold the connection until the client is gone
			return written, c.ctx.Err()
		}
	}
	return written, nil
}

// client returns an HTTPS client that trusts the given test servers and
// closes its idle connections when the test ends.
func client(t testing.TB, servers ...*httptest.Server) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	for _, s := range servers {
		pool.AddCert(s.Certificate())
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: false}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// paths returns a target and a bitmap path in a fresh directory.
func paths(t testing.TB) (target, bitmapPath string) {
	dir := t.TempDir()
	return filepath.Join(dir, "slot"), filepath.Join(dir, "slot.chunks")
}

// fakeClock is a clock whose Sleep returns at once, moving the time on;
// it adds up what a download would have waited.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 4, 2, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
		c.slept += d
	}
	return nil
}

func (c *fakeClock) total() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept
}

// wantFile fails t unless the file at path holds exactly want.
func wantFile(t testing.TB, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		g, w := sha256.Sum256(got), sha256.Sum256(want)
		t.Fatalf("%s: %d bytes, sha256 %s; want %d bytes, sha256 %s",
			path, len(got), hex.EncodeToString(g[:8]), len(want), hex.EncodeToString(w[:8]))
	}
}

// wantCompleted fails t unless the bitmap says done of the chunks of m.
func wantCompleted(t testing.TB, m release.Manifest, bitmapPath string, want int) {
	t.Helper()
	done, total, err := Completed(m, bitmapPath)
	if err != nil {
		t.Fatalf("Completed: %v", err)
	}
	if done != want || total != m.NumChunks() {
		t.Fatalf("Completed = %d/%d, want %d/%d", done, total, want, m.NumChunks())
	}
}

// progressLog collects Progress reports.
type progressLog struct {
	mu  sync.Mutex
	all []Progress
}

func (p *progressLog) add(pr Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.all = append(p.all, pr)
}

func (p *progressLog) waits(why string) []Progress {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Progress
	for _, pr := range p.all {
		if pr.Waiting == why {
			out = append(out, pr)
		}
	}
	return out
}

// clientForDER returns an HTTPS client that trusts one certificate.
func clientForDER(der []byte) (*http.Client, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("test certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, nil
}

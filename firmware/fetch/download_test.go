package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
)

const chunk = 4 << 10 // release.MinChunkSize, to keep tests small

func TestDownloadFromOneSource(t *testing.T) {
	data, m := artifact(t, 1, 10*chunk+123, chunk) // 11 chunks, the last short
	hq := newMirror(t, data)
	target, bm := paths(t)
	var progress progressLog

	st, err := Download(t.Context(), m, target, bm, Options{
		Client: client(t, hq.Server), Sources: []Source{{"hq", hq.URL}}, Progress: progress.add,
	})
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	wantFile(t, target, data)
	wantCompleted(t, m, bm, 11)
	if st.Chunks != 11 || st.Resumed != 0 || st.Fetched != int64(len(data)) || len(st.Rejected) != 0 {
		t.Errorf("stats = %+v, want 11 chunks, 0 resumed, %d bytes fetched, none rejected", st, len(data))
	}
	if got := hq.requests.Load(); got != 11 {
		t.Errorf("hq got %d requests, want one per chunk (11)", got)
	}
	if len(progress.all) != 11 {
		t.Fatalf("%d progress reports, want 11", len(progress.all))
	}
	for i, p := range progress.all {
		if p.Done != i+1 || p.Total != 11 || p.Source != "hq" || p.Waiting != "" {
			t.Errorf("progress %d = %+v, want done %d/11 from hq", i, p, i+1)
		}
	}
	last := progress.all[10]
	if last.Fetched != int64(len(data)) {
		t.Errorf("last progress fetched %d bytes, want %d", last.Fetched, len(data))
	}

	// Again: nothing to fetch, the target is read back and checked.
	st, err = Download(t.Context(), m, target, bm, Options{Client: client(t, hq.Server), Sources: []Source{{"hq", hq.URL}}})
	if err != nil || st.Resumed != 11 || st.Chunks != 0 || st.Fetched != 0 {
		t.Errorf("second Download = %+v, %v; want all 11 resumed, nothing fetched", st, err)
	}
	if got := hq.requests.Load(); got != 11 {
		t.Errorf("hq got %d requests after the second call, want still 11", got)
	}
}

func TestBadChunkFromPeerFallsBackToHQ(t *testing.T) {
	data, m := artifact(t, 2, 8*chunk, chunk)
	bad := bytes.Clone(data)
	bad[3*chunk+100] ^= 0x01 // chunk 3 is wrong on the peer
	peer, hq := newMirror(t, bad), newMirror(t, data)
	target, bm := paths(t)

	st, err := Download(t.Context(), m, target, bm, Options{
		Client:  client(t, peer.Server, hq.Server),
		Sources: []Source{{"peer gw-2", peer.URL}, {"hq", hq.URL}},
	})
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	wantFile(t, target, data)
	if st.Rejected["peer gw-2"] != 1 || len(st.Rejected) != 1 {
		t.Errorf("rejected = %v, want the peer once", st.Rejected)
	}
	if got := peer.requests.Load(); got != 4 {
		t.Errorf("peer got %d requests, want 4 (chunks 0-3, then dropped)", got)
	}
	if got := hq.requests.Load(); got != 5 {
		t.Errorf("hq got %d requests, want 5 (chunks 3-7)", got)
	}
	if want := int64(len(data) + chunk); st.Fetched != want {
		t.Errorf("fetched %d bytes, want %d (the artifact and the rejected chunk)", st.Fetched, want)
	}
}

// TestMisbehavingPeer: a peer that answers a chunk request with anything
// but that chunk is dropped, counted, and the chunk comes from HQ.
func TestMisbehavingPeer(t *testing.T) {
	data, m := artifact(t, 3, 4*chunk, chunk)
	tests := []struct {
		name  string
		serve func(w http.ResponseWriter, r *http.Request)
	}{
		{"ignores Range (200, whole body)", func(w http.ResponseWriter, r *http.Request) {
			w.Write(data)
		}},
		{"short body, short Content-Length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", chunk-1, len(data)))
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data[:100])
		}},
		{"short body, chunked, ends cleanly", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", chunk-1, len(data)))
			w.WriteHeader(http.StatusPartialContent)
			w.(http.Flusher).Flush() // no Content-Length: chunked encoding
			w.Write(data[:chunk-1])
		}},
		{"long body, chunked", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", chunk-1, len(data)))
			w.WriteHeader(http.StatusPartialContent)
			w.(http.Flusher).Flush()
			w.Write(data[:chunk+1])
		}},
		{"wrong Content-Range", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 1-%d/%d", chunk, len(data)))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data[1 : chunk+1])
		}},
		{"no Content-Range", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data[:chunk])
		}},
		{"other complete length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", chunk-1, len(data)+1))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data[:chunk])
		}},
		{"416", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peer, hq := newMirror(t, data), newMirror(t, data)
			peer.set(func(p *mirror) {
				p.fault = func(w http.ResponseWriter, r *http.Request, _ int64) bool { tt.serve(w, r); return true }
			})
			target, bm := paths(t)
			st, err := Download(t.Context(), m, target, bm, Options{
				Client: client(t, peer.Server, hq.Server), Sources: []Source{{"peer", peer.URL}, {"hq", hq.URL}},
			})
			if err != nil {
				t.Fatalf("Download: %v", err)
			}
			wantFile(t, target, data)
			if st.Rejected["peer"] != 1 {
				t.Errorf("rejected = %v, want the peer once", st.Rejected)
			}
			if got := peer.requests.Load(); got != 1 {
				t.Errorf("peer got %d requests, want 1", got)
			}
			if got := hq.requests.Load(); got != 4 {
				t.Errorf("hq got %d requests, want 4", got)
			}
		})
	}
}

// TestOnlySourceServesBadData: when every source is dropped, nothing can
// help: ErrPermanent, without waiting.
func TestOnlySourceServesBadData(t *testing.T) {
	data, m := artifact(t, 4, 4*chunk, chunk)
	bad := bytes.Clone(data)
	bad[0] ^= 0xff
	hq := newMirror(t, bad)
	target, bm := paths(t)
	clk := newFakeClock()

	st, err := Download(t.Context(), m, target, bm, Options{Client: client(t, hq.Server), Sources: []Source{{"hq", hq.URL}}, clock: clk})
	if !errors.Is(err, ErrPermanent) || !errors.Is(err, release.ErrChunk) {
		t.Fatalf("Download = %v, want ErrPermanent wrapping release.ErrChunk", err)
	}
	if st.Rejected["hq"] != 1 || hq.requests.Load() != 1 || clk.total() != 0 {
		t.Errorf("rejected %v, %d requests, waited %s; want hq once, 1 request, no wait", st.Rejected, hq.requests.Load(), clk.total())
	}
}

// TestCutConnectionIsTransient: a body cut by the network is not the
// source's fault; it is asked again after a backoff.
func TestCutConnectionIsTransient(t *testing.T) {
	data, m := artifact(t, 5, 4*chunk, chunk)
	hq := newMirror(t, data)
	hq.set(func(hq *mirror) {
		hq.fault = func(w http.ResponseWriter, r *http.Request, nth int64) bool {
			if nth != 2 {
				return false
			}
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", chunk, 2*chunk-1, len(data)))
			w.Header().Set("Content-Length", fmt.Sprint(chunk))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data[chunk : chunk+100])
			w.(http.Flusher).Flush() // the client has the headers and 100 bytes
			panic(http.ErrAbortHandler)
		}
	})
	target, bm := paths(t)
	clk := newFakeClock()
	var progress progressLog

	st, err := Download(t.Context(), m, target, bm, Options{
		Client: client(t, hq.Server), Sources: []Source{{"hq", hq.URL}}, clock: clk, Progress: progress.add,
	})
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	wantFile(t, target, data)
	if len(st.Rejected) != 0 || hq.requests.Load() != 5 {
		t.Errorf("rejected %v after %d requests, want none after 5", st.Rejected, hq.requests.Load())
	}
	if w := progress.waits("backoff"); len(w) != 1 || clk.total() < 2*time.Second {
		t.Errorf("%d backoff reports, waited %s; want 1, at least MinBackoff", len(w), clk.total())
	}
}

func TestNotFound(t *testing.T) {
	data, m := artifact(t, 6, 4*chunk, chunk)
	for _, code := range []int{http.StatusNotFound, http.StatusGone} {
		t.Run(fmt.Sprintf("everywhere %d", code), func(t *testing.T) {
			peer, hq := newMirror(t, data), newMirror(t, data)
			for _, s := range []*mirror{peer, hq} {
				s.set(func(s *mirror) {
					s.fault = func(w http.ResponseWriter, r *http.Request, _ int64) bool { w.WriteHeader(code); return true }
				})
			}
			target, bm := paths(t)
			clk := newFakeClock()
			_, err := Download(t.Context(), m, target, bm, Options{
				Client: client(t, peer.Server, hq.Server), Sources: []Source{{"peer", peer.URL}, {"hq", hq.URL}}, clock: clk,
			})
			if !errors.Is(err, ErrPermanent) {
				t.Fatalf("Download = %v, want ErrPermanent", err)
			}
			if peer.requests.Load() != 1 || hq.requests.Load() != 1 || clk.total() != 0 {
				t.Errorf("requests peer %d, hq %d, waited %s; want one each, no wait", peer.requests.Load(), hq.requests.Load(), clk.total())
			}
		})
	}
	t.Run("peer only", func(t *testing.T) {
		peer, hq := newMirror(t, data), newMirror(t, data)
		peer.set(func(s *mirror) {
			s.fault = func(w http.ResponseWriter, r *http.Request, _ int64) bool { w.WriteHeader(404); return true }
		})
		target, bm := paths(t)
		st, err := Download(t.Context(), m, target, bm, Options{
			Client: client(t, peer.Server, hq.Server), Sources: []Source{{"peer", peer.URL}, {"hq", hq.URL}}, clock: newFakeClock(),
		})
		if err != nil {
			t.Fatalf("Download: %v", err)
		}
		wantFile(t, target, data)
		if len(st.Rejected) != 0 || peer.requests.Load() != 1 || hq.requests.Load() != 4 {
			t.Errorf("rejected %v, requests peer %d, hq %d; want none, 1 (then it rests), 4", st.Rejected, peer.requests.Load(), hq.requests.Load())
		}
	})
}

func TestTransientThenOK(t *testing.T) {
	data, m := artifact(t, 7, 4*chunk, chunk)
	hq := newMirror(t, data)
	hq.set(func(hq *mirror) {
		hq.fault = func(w http.ResponseWriter, r *http.Request, nth int64) bool {
			switch nth {
			case 1:
				w.WriteHeader(http.StatusBadGateway)
			case 2:
				w.Header().Set("Retry-After", "60")
				w.WriteHeader(http.StatusServiceUnavailable)
			default:
				return false
			}
			return true
		}
	})
	target, bm := paths(t)
	clk := newFakeClock()
	var progress progressLog

	st, err := Download(t.Context(), m, target, bm, Options{
		Client: client(t, hq.Server), Sources: []Source{{"hq", hq.URL}}, clock: clk, Progress: progress.add,
	})
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	wantFile(t, target, data)
	if len(st.Rejected) != 0 || st.Chunks != 4 {
		t.Errorf("stats %+v, want 4 chunks, none rejected", st)
	}
	waits := progress.waits("backoff")
	if len(waits) != 2 {
		t.Fatalf("%d backoff reports, want 2", len(waits))
	}
	// The first wait is a backoff in [2 s, 4 s]; the second honours Retry-After.
	if total := clk.total(); total < 62*time.Second || total > 64*time.Second {
		t.Errorf("waited %s in all, want 60 s (Retry-After) plus a first backoff of 2-4 s", total)
	}
}

func TestGiveUpAfter(t *testing.T) {
	data, m := artifact(t, 8, 4*chunk, chunk)
	hq := newMirror(t, data)
	hq.set(func(hq *mirror) {
		hq.fault = func(w http.ResponseWriter, r *http.Request, _ int64) bool { w.WriteHeader(500); return true }
	})
	target, bm := paths(t)
	_, err := Download(t.Context(), m, target, bm, Options{
		Client: client(t, hq.Server), Sources: []Source{{"hq", hq.URL}}, GiveUpAfter: time.Minute, clock: newFakeClock(),
	})
	if err == nil || errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "500") {
		t.Fatalf("Download = %v, want a transient error naming the 500", err)
	}
	// Backoffs from 2 s doubling: a handful of requests in a minute, no hot loop.
	if n := hq.requests.Load(); n < 3 || n > 10 {
		t.Errorf("%d requests in a minute of backoff, want 3 to 10", n)
	}
}

func TestRateLimit(t *testing.T) {
	const size, limit = 64 * chunk, 64 << 10 // 256 KiB at 64 KiB/s: 4 s
	data, m := artifact(t, 9, size, chunk)
	hq := newMirror(t, data)
	target, bm := paths(t)
	clk := newFakeClock()

	if _, err := Download(t.Context(), m, target, bm, Options{
		Client: client(t, hq.Server), Sources: []Source{{"hq", hq.URL}}, RateLimit: limit, clock: clk,
	}); err != nil {
		t.Fatalf("Download: %v", err)
	}
	wantFile(t, target, data)
	// The limiter starts with a full burst; everything after it is paced.
	lo := time.Duration(float64(size-throttleBurst) / limit * float64(time.Second))
	hi := time.Duration(float64(size) / limit * float64(time.Second))
	if got := clk.total(); got < lo || got > hi {
		t.Errorf("rate limiter waited %s for %d bytes at %d B/s, want %s to %s", got, size, limit, lo, hi)
	}
}

func TestWindow(t *testing.T) {
	data, m := artifact(t, 10, 4*chunk, chunk)
	hq := newMirror(t, data)
	var open atomic.Bool
	hq.set(func(hq *mirror) {
		hq.fault = func(w http.ResponseWriter, r *http.Request, _ int64) bool {
			if !open.Load() {
				t.Errorf("request %s while the window is closed", r.Header.Get("Range"))
			}
			return false
		}
	})
	var opens time.Time // 20 ms after the first question
	window := func(now time.Time) (bool, time.Time) {
		if opens.IsZero() {
			opens = now.Add(20 * time.Millisecond)
		}
		if now.Before(opens) {
			return false, opens
		}
		open.Store(true)
		return true, time.Time{}
	}
	target, bm := paths(t)
	var progress progressLog

	if _, err := Download(t.Context(), m, target, bm, Options{
		Client: client(t, hq.Server), Sources: []Source{{"hq", hq.URL}}, Window: window, Progress: progress.add,
	}); err != nil {
		t.Fatalf("Download: %v", err)
	}
	wantFile(t, target, data)
	if len(progress.all) == 0 || progress.all[0].Waiting != "window" || !progress.all[0].Until.Equal(opens) {
		t.Fatalf("first progress report %+v, want waiting for the window until %s", progress.all, opens)
	}
	if !open.Load() {
		t.Error("the download finished without the window opening")
	}
}

// TestWindowClosesMidway: a download in progress finishes its chunk, then
// waits (and is jittered again) when the window closes.
func TestWindowClosesMidway(t *testing.T) {
	data, m := artifact(t, 11, 4*chunk, chunk)
	hq := newMirror(t, data)
	target, bm := paths(t)
	clk := newFakeClock()
	reopens := clk.Now().Add(6 * time.Hour)
	var progress progressLog
	window := func(now time.Time) (bool, time.Time) {
		if hq.requests.Load() == 2 && now.Before(reopens) {
			return false, reopens
		}
		return true, time.Time{}
	}
	if _, err := Download(t.Context(), m, target, bm, Options{
		Client: client(t, hq.Server), Sources: []Source{{"hq", hq.URL}}, Window: window, StartJitter: time.Minute,
		Progress: progress.add, clock: clk,
	}); err != nil {
		t.Fatalf("Download: %v", err)
	}
	wantFile(t, target, data)
	w, j := progress.waits("window"), progress.waits("jitter")
	if len(w) != 1 || w[0].Done != 2 || !w[0].Until.Equal(reopens) {
		t.Errorf("window waits %+v, want one after chunk 2 until %s", w, reopens)
	}
	if len(j) != 2 {
		t.Errorf("%d jitter waits, want 2 (at the start and when the window reopens)", len(j))
	}
	if got := clk.total(); got < 6*time.Hour || got >= 6*time.Hour+2*time.Minute {
		t.Errorf("waited %s, want 6 h and two jitters under a minute", got)
	}
}

func TestBitmapForAnotherArtifactIsDiscarded(t *testing.T) {
	dataA, mA := artifact(t, 12, 6*chunk, chunk)
	dataB, mB := artifact(t, 13, 6*chunk, chunk)
	a, b := newMirror(t, dataA), newMirror(t, dataB)
	target, bm := paths(t)
	c := client(t, a.Server, b.Server)

	if _, err := Download(t.Context(), mA, target, bm, Options{Client: c, Sources: []Source{{"hq", a.URL}}}); err != nil {
		t.Fatalf("Download A: %v", err)
	}
	wantCompleted(t, mA, bm, 6)

	// B's source has nothing: the call fails, but the bitmap no longer
	// claims A's chunks, since B is about to overwrite them.
	b.set(func(b *mirror) {
		b.fault = func(w http.ResponseWriter, r *http.Request, _ int64) bool { w.WriteHeader(404); return true }
	})
	if _, err := Download(t.Context(), mB, target, bm, Options{Client: c, Sources: []Source{{"hq", b.URL}}}); !errors.Is(err, ErrPermanent) {
		t.Fatalf("Download B from a 404 = %v, want ErrPermanent", err)
	}
	wantCompleted(t, mA, bm, 0)
	wantCompleted(t, mB, bm, 0)

	b.set(func(b *mirror) { b.fault = nil })
	st, err := Download(t.Context(), mB, target, bm, Options{Client: c, Sources: []Source{{"hq", b.URL}}})
	if err != nil {
		t.Fatalf("Download B: %v", err)
	}
	if st.Resumed != 0 || st.Chunks != 6 {
		t.Errorf("stats %+v, want 0 resumed, 6 chunks", st)
	}
	wantFile(t, target, dataB)
}

func TestCorruptBitmapIsDiscarded(t *testing.T) {
	data, m := artifact(t, 14, 4*chunk, chunk)
	hq := newMirror(t, data)
	target, bm := paths(t)
	if err := os.WriteFile(bm, []byte("SGFWBM\x00\x01 not a bitmap"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantCompleted(t, m, bm, 0)
	st, err := Download(t.Context(), m, target, bm, Options{Client: client(t, hq.Server), Sources: []Source{{"hq", hq.URL}}})
	if err != nil || st.Resumed != 0 || st.Chunks != 4 {
		t.Fatalf("Download = %+v, %v; want 4 chunks fetched", st, err)
	}
	wantFile(t, target, data)
}

// TestTargetLostChunks: a chunk that changed on disk after it was
// recorded is found by the read-back and fetched again, alone.
func TestTargetLostChunks(t *testing.T) {
	data, m := artifact(t, 15, 6*chunk, chunk)
	hq := newMirror(t, data)
	target, bm := paths(t)
	o := Options{Client: client(t, hq.Server), Sources: []Source{{"hq", hq.URL}}}
	if _, err := Download(t.Context(), m, target, bm, o); err != nil {
		t.Fatalf("Download: %v", err)
	}
	f, err := os.OpenFile(target, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{data[2*chunk+7] ^ 0x80}, 2*chunk+7)
	f.Close()

	before := hq.served.Load()
	st, err := Download(t.Context(), m, target, bm, o)
	if err != nil {
		t.Fatalf("Download after damage: %v", err)
	}
	wantFile(t, target, data)
	if got := hq.served.Load() - before; got != chunk || st.Chunks != 1 {
		t.Errorf("fetched %d bytes in %d chunks again, want one chunk (%d bytes)", got, st.Chunks, chunk)
	}
}

// TestInconsistentManifest: every chunk matches, the whole does not. No
// retry can fix that.
func TestInconsistentManifest(t *testing.T) {
	data, m := artifact(t, 16, 4*chunk, chunk)
	hq := newMirror(t, data)
	target, bm := paths(t)
	m.SHA256 = strings.Repeat("ab", 32)
	_, err := Download(t.Context(), m, target, bm, Options{Client: client(t, hq.Server), Sources: []Source{{"hq", hq.URL}}})
	if !errors.Is(err, ErrPermanent) {
		t.Fatalf("Download = %v, want ErrPermanent", err)
	}
	wantCompleted(t, m, bm, 0)
}

func TestLongerTargetIsCut(t *testing.T) {
	data, m := artifact(t, 17, 3*chunk+5, chunk)
	hq := newMirror(t, data)
	target, bm := paths(t)
	if err := os.WriteFile(target, bytes.Repeat([]byte{0xee}, 10*chunk), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Download(t.Context(), m, target, bm, Options{Client: client(t, hq.Server), Sources: []Source{{"hq", hq.URL}}}); err != nil {
		t.Fatalf("Download: %v", err)
	}
	wantFile(t, target, data)
}

func TestInvalidInput(t *testing.T) {
	_, m := artifact(t, 18, 2*chunk, chunk)
	target, bm := paths(t)
	short := m
	short.Chunks = short.Chunks[:1]
	upper := m
	upper.SHA256 = strings.ToUpper(m.SHA256)
	tests := []struct {
		name    string
		m       release.Manifest
		sources []Source
	}{
		{"no sources", m, nil},
		{"no usable source", m, []Source{{"peer", "ftp://gw-2/x"}, {"hq", "not a url"}}},
		{"chunk hashes missing", short, []Source{{"hq", "https://hq.example/a"}}},
		{"upper-case sha256", upper, []Source{{"hq", "https://hq.example/a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Download(t.Context(), tt.m, target, bm, Options{Sources: tt.sources}); !errors.Is(err, ErrPermanent) {
				t.Fatalf("Download = %v, want ErrPermanent", err)
			}
		})
	}
}

// TestLogsHideSecrets: neither the log nor the error shows a URL's
// credentials or query, whatever fails.
func TestLogsHideSecrets(t *testing.T) {
	data, m := artifact(t, 19, 2*chunk, chunk)
	bad := bytes.Clone(data)
	bad[0] ^= 1
	peer, hq := newMirror(t, bad), newMirror(t, data)
	hq.set(func(hq *mirror) {
		hq.fault = func(w http.ResponseWriter, r *http.Request, _ int64) bool { w.WriteHeader(503); return true }
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // connection refused from now on

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	secret := func(u string) string {
		return strings.Replace(u, "https://", "https://user:hunter2@", 1) + "/a?token=hunter2#frag-hunter2"
	}
	target, bm := paths(t)
	_, err = Download(t.Context(), m, target, bm, Options{
		Client:  client(t, peer.Server, hq.Server),
		Sources: []Source{{"peer", secret(peer.URL)}, {"dead", secret("https://" + dead)}, {"hq", secret(hq.URL)}},
		Logger:  log, GiveUpAfter: time.Minute, clock: newFakeClock(),
	})
	if err == nil {
		t.Fatal("Download succeeded, want it to give up")
	}
	for what, s := range map[string]string{"log": logs.String(), "error": err.Error()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("the %s shows a secret:\n%s", what, s)
		}
	}
	if !strings.Contains(logs.String(), "/a") {
		t.Errorf("the log does not name the URL's path:\n%s", logs.String())
	}
}

func TestCancelledContext(t *testing.T) {
	data, m := artifact(t, 20, 4*chunk, chunk)
	hq := newMirror(t, data)
	target, bm := paths(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Download(ctx, m, target, bm, Options{Client: client(t, hq.Server), Sources: []Source{{"hq", hq.URL}}})
	if !errors.Is(err, context.Canceled) || hq.requests.Load() != 0 {
		t.Fatalf("Download = %v after %d requests, want context.Canceled and none", err, hq.requests.Load())
	}
}

// TestUnrecordedChunkOnDisk: a crash after a chunk's write and before its
// record costs nothing: the chunk is found on disk.
func TestUnrecordedChunkOnDisk(t *testing.T) {
	data, m := artifact(t, 23, 8*chunk, chunk)
	hq := newMirror(t, data)
	target, bm := paths(t)
	if err := os.WriteFile(target, data[:4*chunk], 0o644); err != nil { // chunks 0-3 on disk
		t.Fatal(err)
	}
	b := newBitmap(m)
	for i := range 3 { // chunks 0-2 recorded
		b.set(i)
	}
	if err := b.save(bm); err != nil {
		t.Fatal(err)
	}
	st, err := Download(t.Context(), m, target, bm, Options{Client: client(t, hq.Server), Sources: []Source{{"hq", hq.URL}}})
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	wantFile(t, target, data)
	if st.Resumed != 4 || st.Chunks != 4 || hq.served.Load() != 4*chunk {
		t.Errorf("resumed %d, fetched %d chunks, %d bytes; want 4 resumed, chunks 4-7 fetched (%d bytes)", st.Resumed, st.Chunks, hq.served.Load(), 4*chunk)
	}
}

// TestStalledSourceTimesOut: a source that sends the headers and then
// nothing fails within ChunkTimeout and rests; HQ carries on.
func TestStalledSourceTimesOut(t *testing.T) {
	data, m := artifact(t, 24, 4*chunk, chunk)
	peer, hq := newMirror(t, data), newMirror(t, data)
	peer.set(func(p *mirror) {
		p.fault = func(w http.ResponseWriter, r *http.Request, _ int64) bool {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", chunk-1, len(data)))
			w.Header().Set("Content-Length", fmt.Sprint(chunk))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data[:1])
			w.(http.Flusher).Flush()
			<-r.Context().Done() // then nothing, until the client hangs up
			return true
		}
	})
	target, bm := paths(t)
	st, err := Download(t.Context(), m, target, bm, Options{
		Client: client(t, peer.Server, hq.Server), Sources: []Source{{"peer", peer.URL}, {"hq", hq.URL}},
		ChunkTimeout: 50 * time.Millisecond, clock: newFakeClock(),
	})
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	wantFile(t, target, data)
	if len(st.Rejected) != 0 || peer.requests.Load() != 1 || hq.requests.Load() != 4 {
		t.Errorf("rejected %v, requests peer %d, hq %d; want none, 1, 4", st.Rejected, peer.requests.Load(), hq.requests.Load())
	}
}

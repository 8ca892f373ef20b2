package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/firmware/state"
)

// Source is one place an artifact can be fetched from.
type Source struct {
	Name string // for logs and Stats.Rejected: "peer gw-2", "hq"
	URL  string // the artifact's URL; fetched with one Range request per chunk
}

// Options configures a Download. The zero value, with Sources set, is a
// download with no rate limit, no window and no jitter over
// http.DefaultClient.
type Options struct {
	// Client makes the requests; its TLS configuration is the caller's (HQ's
	// CA pinned). nil is http.DefaultClient.
	Client *http.Client
	// Sources are tried in order for every chunk: the centre's LAN peers
	// first, HQ last. A source is skipped while it backs off after a
	// failure, and for the rest of the call once it served a bad chunk.
	Sources []Source
	// RateLimit caps the bytes per second received over all sources; 0 is
	// unlimited.
	RateLimit int64
	// Window says whether downloading is allowed at now and, if not, when to
	// ask again. It is asked before every chunk, so a download in progress
	// finishes its chunk and then waits. A next time not after now is read as
	// "ask again after MinBackoff". nil is always open.
	Window func(now time.Time) (open bool, next time.Time)
	// StartJitter spreads the starts of a fleet: a random delay in [0,
	// StartJitter) before the first request of the call and after every
	// wait for the window.
	StartJitter time.Duration
	// MinBackoff and MaxBackoff bound the wait before a source that failed
	// is asked again (defaults 2 s and 5 min): the k-th failure in a row
	// waits a uniformly random time in [MinBackoff, MinBackoff·2^k], at
	// most MaxBackoff (or the server's Retry-After, up to MaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// ChunkTimeout bounds one chunk request, from sending it to its last
	// byte, not counting the time the rate limit holds it back: a source
	// that stalls or trickles fails (a transient error) and rests. 0 is 2
	// minutes plus 4 minutes per MiB of chunk (3 minutes for 256 KiB).
	ChunkTimeout time.Duration
	// GiveUpAfter ends a download that has written no chunk for this long
	// because of transient errors (time spent waiting for the window does
	// not count). 0 never gives up; permanent errors end the call at once.
	GiveUpAfter time.Duration
	// Progress, if set, is called after every chunk and before every wait.
	// It runs on the downloading goroutine and must not block for long.
	Progress func(Progress)
	// Logger receives the download's log; nil logs nothing.
	Logger *slog.Logger

	clock clock // nil: the real clock; tests set a fake one
}

// Progress is a download's state, as reported to Options.Progress.
type Progress struct {
	Done, Total int       // chunks verified on disk, and all chunks
	Fetched     int64     // bytes received over the network in this call, rejected ones too
	Source      string    // name of the source of the last chunk written
	Waiting     string    // "" while downloading, or what it waits for: "window", "backoff", "jitter"
	Until       time.Time // end of the wait
}

// Stats says what a Download call did.
type Stats struct {
	Fetched  int64          // bytes received in this call, over all sources
	Chunks   int            // chunks written in this call
	Resumed  int            // chunks already complete at the start
	Rejected map[string]int // chunks that failed verification, by source name
}

// ErrPermanent is wrapped by the errors of a Download that retrying cannot
// fix: every source answered 404 or 410 for a chunk, every source served
// bad data, the artifact on disk does not match its manifest although
// every chunk does, or the manifest or the sources cannot describe a
// download.
var ErrPermanent = errors.New("permanent download failure")

// Waiting reasons reported in Progress.Waiting.
const (
	waitWindow  = "window"
	waitBackoff = "backoff"
	waitJitter  = "jitter"
)

// Download makes target hold the artifact m describes, fetching the chunks
// it lacks from o.Sources, and returns nil when the whole artifact is
// there and verified.
//
// target is opened read-write and created if missing, never truncated on
// open: it may hold verified chunks from an interrupted call. If it is a
// regular file longer than the artifact, the excess is cut off; anything
// else (a block device for backend B) is only written and read, within
// the artifact's size.
//
// bitmapPath persists which chunks are verified on disk, bound to the
// artifact (a bitmap for another one is discarded). Each chunk is fetched
// with one Range request, checked against the manifest, written at its
// offset and fsynced, and only then recorded in the bitmap, which is
// replaced atomically. So a call after a crash, a power cut or a
// cancelled ctx fetches again at most the chunk that was in flight, and
// not even that one if it reached the target before the interruption (the
// first chunk missing from the bitmap is looked for on disk first). When
// every chunk is recorded, Download reads the target back: a chunk that
// no longer matches is fetched again (once per call), and a whole-file
// SHA-256 that does not match although every chunk does clears the bitmap
// and fails with ErrPermanent.
//
// Only one Download may use a bitmapPath at a time.
func Download(ctx context.Context, m release.Manifest, target, bitmapPath string, o Options) (Stats, error) {
	st := Stats{Rejected: map[string]int{}}
	if err := checkManifest(m); err != nil {
		return st, err
	}
	o = o.withDefaults(m.ChunkSize)
	sources, err := checkSources(o.Sources, o.Logger)
	if err != nil {
		return st, err
	}
	f, regular, err := openTarget(target, m.Size)
	if err != nil {
		return st, err
	}
	defer f.Close()
	bm, err := bindBitmap(bitmapPath, m, f, regular, o.Logger)
	if err != nil {
		return st, err
	}
	d := &download{
		m: m, o: o, log: o.Logger, clk: o.clock, f: f, target: target, bm: bm, bitmapPath: bitmapPath,
		sources: sources, thr: newThrottle(o.RateLimit, o.clock), st: &st,
		buf: make([]byte, m.ChunkSize+1), lastProgress: o.clock.Now(),
	}
	if err := d.salvage(); err != nil {
		return st, err
	}
	if st.Resumed > 0 {
		d.log.Info("firmware download resumes", "version", m.Version, "done", st.Resumed, "total", bm.n)
	}
	for pass := 1; ; pass++ {
		for i := range bm.n {
			if bm.has(i) {
				continue
			}
			if err := d.chunk(ctx, i); err != nil {
				return st, err
			}
		}
		if err := d.verifyTarget(pass); !errors.Is(err, errRefetch) {
			return st, err
		}
	}
}

func (o Options) withDefaults(chunkSize int64) Options {
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 2 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.ChunkTimeout <= 0 {
		o.ChunkTimeout = 2*time.Minute + time.Duration(float64(4*time.Minute)*float64(chunkSize)/(1<<20))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.clock == nil {
		o.clock = realClock{}
	}
	return o
}

// checkManifest checks that m can describe a download: a SHA-256, a chunk
// size within bounds and one chunk hash per chunk. The signature and the
// rest of the manifest are release's business.
func checkManifest(m release.Manifest) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: manifest of version %q: %s", ErrPermanent, m.Version, fmt.Sprintf(format, args...))
	}
	if b, err := hex.DecodeString(m.SHA256); err != nil || len(b) != sha256.Size || hex.EncodeToString(b) != m.SHA256 {
		return bad("sha256 %q is not 64 lower-case hex digits", m.SHA256)
	}
	if m.Size < 0 || m.ChunkSize <= 0 || m.ChunkSize > release.MaxChunkSize {
		return bad("size %d, chunk size %d: want a size ≥ 0 and a chunk size in 1..%d", m.Size, m.ChunkSize, release.MaxChunkSize)
	}
	want := (m.Size + m.ChunkSize - 1) / m.ChunkSize
	if int64(len(m.Chunks)) != want || int64(m.NumChunks()) != want {
		return bad("%d chunk hashes for %d bytes in chunks of %d, want %d", len(m.Chunks), m.Size, m.ChunkSize, want)
	}
	return nil
}

// openTarget opens target for writing at offsets, creating it if needed.
// For a regular file it makes the name durable and cuts off anything past
// size; any other file is left as it is.
func openTarget(target string, size int64) (f *os.File, regular bool, err error) {
	f, err = os.OpenFile(target, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("open download target: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("open download target: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return f, false, nil
	}
	if err := state.SyncDir(filepath.Dir(target)); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("open download target: %w", err)
	}
	if fi.Size() > size {
		if err := f.Truncate(size); err != nil {
			f.Close()
			return nil, false, fmt.Errorf("cut download target %s to %d bytes: %w", target, size, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, false, fmt.Errorf("fsync download target %s: %w", target, err)
		}
	}
	return f, true, nil
}

// bindBitmap loads the bitmap for m, and persists an empty one in place of
// a bitmap for another artifact before any chunk of m is written, so that
// no bitmap ever claims a chunk the target no longer holds. For a regular
// target it also drops claims to chunks past the file's end.
func bindBitmap(path string, m release.Manifest, f *os.File, regular bool, log *slog.Logger) (*bitmap, error) {
	bm, discarded, err := loadBitmap(path, m)
	if err != nil {
		return nil, err
	}
	changed := discarded != ""
	if changed {
		log.Warn("firmware download discards its chunk bitmap", "bitmap", path, "reason", discarded)
	}
	if regular {
		fi, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("stat download target: %w", err)
		}
		for i := range bm.n {
			if off, n := m.ChunkRange(i); bm.has(i) && off+n > fi.Size() {
				bm.clear(i)
				changed = true
			}
		}
	}
	if changed {
		if err := bm.save(path); err != nil {
			return nil, err
		}
	}
	return bm, nil
}

// download is the state of one Download call.
type download struct {
	m            release.Manifest
	o            Options
	log          *slog.Logger
	clk          clock
	f            *os.File
	target       string
	bm           *bitmap
	bitmapPath   string
	sources      []*source
	lastErr      error // the last failure, for giving up
	thr          *throttle
	st           *Stats
	buf          []byte    // one chunk and one byte, to see an over-long body
	lastSource   string    // source of the last chunk written
	jittered     bool      // the start jitter is done (again after each window wait)
	lastProgress time.Time // last chunk written, or the end of a window wait
}

// salvage records the first chunk missing from the bitmap if the target
// already holds it: the chunk a crash interrupted after its write but
// before its record. Downloads go in chunk order, so that is the chunk
// that was in flight; checking it costs one chunk read. It also counts
// the chunks complete at the start.
func (d *download) salvage() error {
	defer func() { d.st.Resumed = d.bm.count() }()
	i := 0
	for i < d.bm.n && d.bm.has(i) {
		i++
	}
	if i == d.bm.n {
		return nil
	}
	off, n := d.m.ChunkRange(i)
	if got, err := d.f.ReadAt(d.buf[:n], off); int64(got) != n || err != nil && !errors.Is(err, io.EOF) {
		return nil // not there; fetch it
	}
	if d.m.VerifyChunk(i, d.buf[:n]) != nil {
		return nil
	}
	if err := d.f.Sync(); err != nil { // it may have been written but not fsynced
		return fmt.Errorf("fsync %s: %w", d.target, err)
	}
	d.bm.set(i)
	if err := d.bm.save(d.bitmapPath); err != nil {
		return err
	}
	d.log.Debug("firmware chunk found complete on disk", "chunk", i)
	return nil
}

// chunk fetches chunk i from the first source that can serve it, and
// writes and records it. It returns only once the chunk is recorded, on a
// permanent failure, on giving up, or when ctx ends.
func (d *download) chunk(ctx context.Context, i int) error {
	off, n := d.m.ChunkRange(i)
	missing := make([]bool, len(d.sources)) // answered 404/410 for this chunk, in this pass
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := d.waitWindow(ctx); err != nil {
			return err
		}
		if !d.jittered {
			d.jittered = true
			if err := d.jitter(ctx); err != nil {
				return err
			}
			continue // ask the window again
		}
		now := d.clk.Now()
		k := d.pick(now, missing)
		if k < 0 {
			next, err := d.nextTry(i, missing)
			if err != nil {
				return err
			}
			if d.o.GiveUpAfter > 0 && now.Sub(d.lastProgress) >= d.o.GiveUpAfter {
				return fmt.Errorf("firmware download gives up on chunk %d after %s without progress: %w", i, d.o.GiveUpAfter, d.lastErr)
			}
			if err := d.wait(ctx, waitBackoff, next); err != nil {
				return err
			}
			clear(missing) // a new pass: ask every source again
			continue
		}
		s := d.sources[k]
		data, res := d.fetch(ctx, s, i, off, n)
		switch res.kind {
		case fetchOK:
			return d.write(s, i, off, data)
		case fetchCancelled:
			return res.err
		case fetchBad:
			s.bad = true
			d.st.Rejected[s.Name]++
			d.log.Warn("firmware source served a bad chunk; dropped for this download", "source", s.Name, "url", s.redacted, "chunk", i, "err", res.err)
		case fetchMissing:
			missing[k] = true
			s.failed(now, d.o, 0)
			d.log.Debug("firmware source does not have the chunk", "source", s.Name, "chunk", i, "err", res.err)
		case fetchTransient:
			s.failed(now, d.o, res.retryAfter)
			d.log.Info("firmware source failed; backing off", "source", s.Name, "url", s.redacted, "chunk", i, "retry_at", s.until, "err", res.err)
		}
		d.lastErr = res.err
	}
}

// pick returns the index of the first source that may be asked now for
// the chunk, or -1.
func (d *download) pick(now time.Time, missing []bool) int {
	for k, s := range d.sources {
		if !s.bad && !missing[k] && !now.Before(s.until) {
			return k
		}
	}
	return -1
}

// nextTry returns when a source may be asked again for chunk i, or a
// permanent error when none ever may: every source served bad data, or
// every one that did not answered 404/410 in this pass.
func (d *download) nextTry(i int, missing []bool) (time.Time, error) {
	var next time.Time
	live, found := 0, 0
	for k, s := range d.sources {
		if s.bad {
			continue
		}
		live++
		if !missing[k] {
			found++
		}
		if next.IsZero() || s.until.Before(next) {
			next = s.until
		}
	}
	switch {
	case live == 0:
		return time.Time{}, fmt.Errorf("%w: chunk %d: every source served bad data; last: %w", ErrPermanent, i, d.lastErr)
	case found == 0:
		return time.Time{}, fmt.Errorf("%w: chunk %d: no source has the artifact; last: %w", ErrPermanent, i, d.lastErr)
	}
	return next, nil
}

// write stores chunk i durably: WriteAt, fsync, then the bitmap.
func (d *download) write(s *source, i int, off int64, data []byte) error {
	if _, err := d.f.WriteAt(data, off); err != nil {
		return fmt.Errorf("write chunk %d to %s: %w", i, d.target, err)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("fsync %s after chunk %d: %w", d.target, i, err)
	}
	d.bm.set(i)
	if err := d.bm.save(d.bitmapPath); err != nil {
		d.bm.clear(i)
		return err
	}
	s.fails, s.until = 0, time.Time{}
	d.st.Chunks++
	d.lastSource = s.Name
	d.lastProgress = d.clk.Now()
	d.log.Debug("firmware chunk written", "chunk", i, "source", s.Name)
	d.report("", time.Time{})
	return nil
}

// waitWindow returns once the download window is open.
func (d *download) waitWindow(ctx context.Context) error {
	if d.o.Window == nil {
		return nil
	}
	for {
		now := d.clk.Now()
		open, next := d.o.Window(now)
		if open {
			return nil
		}
		if !next.After(now) {
			next = now.Add(d.o.MinBackoff)
		}
		d.log.Info("firmware download waits for its window", "until", next)
		if err := d.wait(ctx, waitWindow, next); err != nil {
			return err
		}
		d.lastProgress = d.clk.Now()
		d.jittered = false
	}
}

// jitter waits a random part of StartJitter.
func (d *download) jitter(ctx context.Context) error {
	if d.o.StartJitter <= 0 {
		return nil
	}
	return d.wait(ctx, waitJitter, d.clk.Now().Add(rand.N(d.o.StartJitter)))
}

// wait reports the wait and sleeps until until.
func (d *download) wait(ctx context.Context, why string, until time.Time) error {
	d.report(why, until)
	return d.clk.Sleep(ctx, until.Sub(d.clk.Now()))
}

func (d *download) report(waiting string, until time.Time) {
	if d.o.Progress == nil {
		return
	}
	d.o.Progress(Progress{
		Done: d.bm.count(), Total: d.bm.n, Fetched: d.st.Fetched, Source: d.lastSource,
		Waiting: waiting, Until: until,
	})
}

// errRefetch: the target lost chunks it had; fetch them again.
var errRefetch = errors.New("refetch")

// verifyTarget reads the whole target back and checks it against the
// manifest. It returns nil when the artifact is complete, errRefetch when
// some chunks no longer match (they are cleared in the bitmap; only in
// the first pass of a call, an error after that), and ErrPermanent when
// every chunk matches but the whole does not.
func (d *download) verifyTarget(pass int) error {
	whole := sha256.New()
	var bad []int
	for i := range d.bm.n {
		off, n := d.m.ChunkRange(i)
		got, err := d.f.ReadAt(d.buf[:n], off)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read back chunk %d of %s: %w", i, d.target, err)
		}
		whole.Write(d.buf[:got])
		if d.m.VerifyChunk(i, d.buf[:got]) != nil {
			bad = append(bad, i)
		}
	}
	got := hex.EncodeToString(whole.Sum(nil))
	if got == d.m.SHA256 {
		d.log.Info("firmware download complete", "version", d.m.Version, "bytes", d.m.Size, "fetched", d.st.Fetched)
		return nil
	}
	if len(bad) == 0 {
		for i := range d.bm.n {
			d.bm.clear(i)
		}
		if err := d.bm.save(d.bitmapPath); err != nil {
			return err
		}
		return fmt.Errorf("%w: %s holds every chunk of version %q, but its SHA-256 is %s, want %s: the manifest contradicts itself",
			ErrPermanent, d.target, d.m.Version, got, d.m.SHA256)
	}
	for _, i := range bad {
		d.bm.clear(i)
	}
	if err := d.bm.save(d.bitmapPath); err != nil {
		return err
	}
	if pass > 1 {
		return fmt.Errorf("%s lost %d chunks again after they were written and fsynced (first: %d): the storage is failing", d.target, len(bad), bad[0])
	}
	d.log.Warn("firmware download target lost chunks after they were written; fetching them again", "target", d.target, "chunks", len(bad), "first", bad[0])
	return errRefetch
}

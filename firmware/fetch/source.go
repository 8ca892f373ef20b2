package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// source is a Source and how it has behaved in this call.
type source struct {
	Source
	redacted string    // URL without credentials or query, for logs and errors
	bad      bool      // served a bad chunk: dropped for the call
	fails    int       // failures in a row
	until    time.Time // not asked before this time
}

// failed records a failure at now: the source rests for a backoff, or
// for the server's Retry-After if that is longer (up to MaxBackoff).
func (s *source) failed(now time.Time, o Options, retryAfter time.Duration) {
	s.fails++
	wait := max(backoff(o.MinBackoff, o.MaxBackoff, s.fails), min(retryAfter, o.MaxBackoff))
	s.until = now.Add(wait)
}

// checkSources drops (and logs) sources whose URL is not an absolute
// http or https URL; none left is a permanent error.
func checkSources(in []Source, log *slog.Logger) ([]*source, error) {
	var out []*source
	for _, s := range in {
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			log.Warn("firmware source has no usable URL; ignored", "source", s.Name, "url", redactURL(s.URL))
			continue
		}
		out = append(out, &source{Source: s, redacted: redactURL(s.URL)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no usable firmware source among %d", ErrPermanent, len(in))
	}
	return out, nil
}

// redactURL returns raw without user information, query or fragment, so
// that a token in a URL never reaches a log.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
}

// Outcomes of one chunk request.
type fetchKind int

const (
	fetchOK        fetchKind = iota
	fetchBad                 // the source served something that is not the chunk: drop it
	fetchMissing             // 404/410: the source does not have it
	fetchTransient           // network error, 5xx, …: back off and ask again
	fetchCancelled           // ctx ended
)

type fetchResult struct {
	kind       fetchKind
	err        error
	retryAfter time.Duration // from a 429 or 503
}

// fetch requests chunk i (n bytes at off) from s and checks what comes
// back. On fetchOK it returns the chunk, which aliases d.buf.
func (d *download) fetch(ctx context.Context, s *source, i int, off, n int64) ([]byte, fetchResult) {
	timeout := d.o.ChunkTimeout
	if d.o.RateLimit > 0 { // plus the most the limiter can hold n bytes back
		timeout += time.Duration(float64(n) / float64(d.o.RateLimit) * float64(time.Second))
	}
	reqCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fail := func(kind fetchKind, format string, args ...any) ([]byte, fetchResult) {
		switch {
		case ctx.Err() != nil:
			return nil, fetchResult{kind: fetchCancelled, err: ctx.Err()}
		case reqCtx.Err() != nil:
			kind, format, args = fetchTransient, "no whole chunk within %s", []any{timeout}
		}
		err := fmt.Errorf("%s: chunk %d from %s: %w", s.Name, i, s.redacted, fmt.Errorf(format, args...))
		return nil, fetchResult{kind: kind, err: err}
	}
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, s.URL, nil)
	if err != nil {
		return fail(fetchBad, "%w", redactError(err))
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := d.o.Client.Do(req)
	if err != nil {
		return fail(fetchTransient, "%w", redactError(err))
	}
	defer resp.Body.Close()

	switch code := resp.StatusCode; {
	case code == http.StatusPartialContent:
		first, last, complete, err := parseContentRange(resp.Header.Get("Content-Range"))
		switch {
		case err != nil:
			return fail(fetchBad, "%w", err)
		case first != off || last != off+n-1:
			return fail(fetchBad, "served bytes %d-%d, asked for %d-%d", first, last, off, off+n-1)
		case complete >= 0 && complete != d.m.Size:
			return fail(fetchBad, "artifact is %d bytes, the manifest says %d", complete, d.m.Size)
		}
	case code == http.StatusOK:
		// The whole artifact: right only if this one chunk is all of it.
		if off != 0 || n != d.m.Size {
			return fail(fetchBad, "200 instead of 206: the source ignored the range")
		}
	case code == http.StatusNotFound || code == http.StatusGone:
		return fail(fetchMissing, "%s", resp.Status)
	case code == http.StatusRequestedRangeNotSatisfiable:
		return fail(fetchBad, "%s: the source's artifact is not the manifest's", resp.Status)
	default: // 5xx, 429, 408, 401, 403, …: may pass
		_, res := fail(fetchTransient, "%s", resp.Status)
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			res.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), d.clk.Now())
		}
		return nil, res
	}
	if resp.ContentLength >= 0 && resp.ContentLength != n {
		return fail(fetchBad, "Content-Length %d, want %d", resp.ContentLength, n)
	}

	got, err := d.readBody(reqCtx, resp.Body, n)
	switch {
	case err != nil:
		return fail(fetchTransient, "body cut after %d of %d bytes: %w", got, n, redactError(err))
	case got > n:
		return fail(fetchBad, "body longer than the %d-byte chunk", n)
	case got < n:
		return fail(fetchBad, "body of %d bytes, want %d", got, n)
	}
	data := d.buf[:n]
	if err := d.m.VerifyChunk(i, data); err != nil {
		return fail(fetchBad, "%w", err)
	}
	return data, fetchResult{kind: fetchOK}
}

// readBody reads at most n+1 bytes of body into d.buf, at the rate limit,
// and counts them as fetched. A clean end of body is not an error.
func (d *download) readBody(ctx context.Context, body io.Reader, n int64) (int64, error) {
	var got int64
	for got <= n {
		end := min(got+throttleBurst, n+1)
		k, err := body.Read(d.buf[got:end])
		got += int64(k)
		d.st.Fetched += int64(k)
		if werr := d.thr.wait(ctx, k); werr != nil {
			return got, werr
		}
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

// parseRetryAfter reads a Retry-After header, seconds or an HTTP date; 0
// if absent or unreadable.
func parseRetryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.ParseUint(h, 10, 32); err == nil {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// redactError replaces the URL in a *url.Error (which net/http builds
// from the request, query included) by its redacted form.
func redactError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, redactURL(ue.URL), ue.Err)
	}
	return err
}

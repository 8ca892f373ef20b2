package fetch

import (
	"context"
	"math/rand/v2"
	"time"

	"golang.org/x/time/rate"
)

// clock is time as a download sees it: every wait (rate limit, backoff,
// window, jitter) goes through Sleep, so a test can run a download on a
// fake clock and read how long it would have waited.
type clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// throttleBurst is the most bytes the rate limiter lets through at once,
// and so the size of the reads from a response body.
const throttleBurst = 32 << 10

// throttle caps the bytes per second received over all sources of a
// download. The bytes are counted after they are read: once the limiter
// holds the reader back, TCP flow control holds the sender back too.
type throttle struct {
	lim *rate.Limiter // nil: unlimited
	clk clock
}

func newThrottle(bytesPerSecond int64, clk clock) *throttle {
	t := &throttle{clk: clk}
	if bytesPerSecond > 0 {
		t.lim = rate.NewLimiter(rate.Limit(bytesPerSecond), throttleBurst)
	}
	return t
}

// wait blocks until n more received bytes fit the rate.
func (t *throttle) wait(ctx context.Context, n int) error {
	if t.lim == nil {
		return nil
	}
	for n > 0 {
		k := min(n, throttleBurst)
		now := t.clk.Now()
		r := t.lim.ReserveN(now, k) // always OK: k ≤ burst
		if err := t.clk.Sleep(ctx, r.DelayFrom(now)); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// backoff is the delay after a source's fails-th failure in a row (fails ≥
// 1): exponential with full jitter, uniform in [lo, hi] where hi is
// MinBackoff·2^fails capped at MaxBackoff and lo is MinBackoff. The floor
// keeps a long run of unlucky draws from becoming a hot loop; the spread
// keeps a fleet that failed together from retrying together.
func backoff(minB, maxB time.Duration, fails int) time.Duration {
	hi := minB
	for range fails {
		if hi > maxB/2 {
			hi = maxB
			break
		}
		hi *= 2
	}
	hi = min(hi, maxB)
	lo := min(minB, hi)
	return lo + rand.N(hi-lo+1)
}

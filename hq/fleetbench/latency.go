package fleetbench

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Latency summarises a set of durations.
type Latency struct {
	N             int
	P50, P99, Max time.Duration
}

// Summarize computes the summary of ds (which it sorts).
func Summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	// Nearest rank: the smallest value with at least p of the samples at
	// or below it.
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(ds))+0.999999) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return Latency{N: len(ds), P50: rank(0.50), P99: rank(0.99), Max: ds[len(ds)-1]}
}

func (l Latency) String() string {
	r := func(d time.Duration) time.Duration {
		switch {
		case d >= time.Second:
			return d.Round(10 * time.Millisecond)
		case d >= time.Millisecond:
			return d.Round(10 * time.Microsecond)
		}
		return d.Round(time.Microsecond)
	}
	return fmt.Sprintf("p50 %v  p99 %v  max %v  (n=%d)", r(l.P50), r(l.P99), r(l.Max), l.N)
}

// pendingTimes remembers when each of a gateway's batches (or events) left
// and turns an acknowledged watermark into latency samples.
type pendingTimes struct {
	mu      sync.Mutex
	since   map[uint64]time.Time // by last seq; the earliest send of that seq is kept
	samples []time.Duration
	record  bool // samples are kept only while recording
}

func newPendingTimes() *pendingTimes { return &pendingTimes{since: map[uint64]time.Time{}} }

// sent notes that seq left at at. A resend of the same seq keeps the first
// time, so that what it waited counts.
func (p *pendingTimes) sent(seq uint64, at time.Time) {
	p.mu.Lock()
	if _, ok := p.since[seq]; !ok {
		p.since[seq] = at
	}
	p.mu.Unlock()
}

// acked takes a sample for every seq at or below upto.
func (p *pendingTimes) acked(upto uint64, at time.Time) {
	p.mu.Lock()
	for seq, t := range p.since {
		if seq <= upto {
			if p.record {
				p.samples = append(p.samples, at.Sub(t))
			}
			delete(p.since, seq)
		}
	}
	p.mu.Unlock()
}

// setRecording starts or stops keeping samples.
func (p *pendingTimes) setRecording(on bool) {
	p.mu.Lock()
	p.record = on
	p.mu.Unlock()
}

// take returns the samples so far and forgets them.
func (p *pendingTimes) take() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.samples
	p.samples = nil
	return s
}

// waiting is how many sends are not acknowledged.
func (p *pendingTimes) waiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.since)
}

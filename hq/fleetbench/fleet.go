package fleetbench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Fleet runs many simulated gateways in one process and drives their taps.
type Fleet struct {
	gws    []*Gateway
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewFleet returns a fleet of gws; nothing runs until Start.
func NewFleet(gws []*Gateway) *Fleet { return &Fleet{gws: gws} }

// Gateways are the fleet's gateways.
func (f *Fleet) Gateways() []*Gateway { return f.gws }

// Start runs every gateway, their starts spread evenly over ramp (all at
// once when ramp is 0), until Stop.
func (f *Fleet) Start(ramp time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	step := time.Duration(0)
	if len(f.gws) > 1 {
		step = ramp / time.Duration(len(f.gws)-1)
	}
	f.wg.Go(func() {
		next := time.Now()
		for _, g := range f.gws {
			if d := time.Until(next); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return
				}
			}
			f.wg.Go(func() { _ = g.Run(ctx) })
			next = next.Add(step)
		}
	})
}

// Stop stops every gateway and waits until they have disconnected.
func (f *Fleet) Stop() {
	if f.cancel != nil {
		f.cancel()
	}
	f.wg.Wait()
}

// WaitConnected waits until every gateway is connected and subscribed, or
// ctx is done.
func (f *Fleet) WaitConnected(ctx context.Context) error {
	return f.waitAll(ctx, "connected", func(g *Gateway) bool { return g.link.State().Connected })
}

// WaitDelivered waits until HQ has acknowledged every event logged, or
// ctx is done.
func (f *Fleet) WaitDelivered(ctx context.Context) error {
	return f.waitAll(ctx, "delivered", func(g *Gateway) bool {
		st, _ := g.log.Outbox()
		return st.Depth == 0
	})
}

func (f *Fleet) waitAll(ctx context.Context, what string, done func(*Gateway) bool) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	i := 0 // gateways before i are done; a done gateway stays done
	for {
		for i < len(f.gws) && done(f.gws[i]) {
			i++
		}
		if i == len(f.gws) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d gateways %s (first waiting: %s, %+v): %w", i, len(f.gws), what, f.gws[i].id,
				f.gws[i].Stats(), ctx.Err())
		case <-tick.C:
		}
	}
}

// Tap makes the fleet's desks tap for d: each gateway on average once per
// every, at random gateways and times, the whole fleet's rate held steady
// (len(gateways)/every taps a second). It returns the number of taps.
func (f *Fleet) Tap(ctx context.Context, every, d time.Duration) int {
	if len(f.gws) == 0 || every <= 0 {
		return 0
	}
	rate := float64(len(f.gws)) / every.Seconds() // taps a second
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	end := start.Add(d)
	taps := 0
	for {
		select {
		case <-ctx.Done():
			return taps
		case now := <-tick.C:
			if now.After(end) {
				now = end
			}
			for due := int(rate * now.Sub(start).Seconds()); taps < due; taps++ {
				f.gws[rand.IntN(len(f.gws))].Tap(time.Now())
			}
			if !now.Before(end) {
				return taps
			}
		}
	}
}

// SetRecording starts or stops keeping latency samples; samples are
// taken when an acknowledgement arrives.
func (f *Fleet) SetRecording(on bool) {
	for _, g := range f.gws {
		g.batchLag.setRecording(on)
		g.tapLag.setRecording(on)
	}
}

// Latencies returns the samples kept so far, and forgets them: publication
// of a batch to its acknowledgement (ingest lag), and tap to
// acknowledgement.
func (f *Fleet) Latencies() (batches, taps []time.Duration) {
	for _, g := range f.gws {
		batches = append(batches, g.batchLag.take()...)
		taps = append(taps, g.tapLag.take()...)
	}
	return batches, taps
}

// FleetStats add up the gateways' counters.
type FleetStats struct {
	Gateways, Connected         int
	Attempts, Reconnects        uint64 // connection attempts (the first included) and reconnections
	InboxDropped                uint64 // downlink messages the links dropped (inbox full)
	Logged, Delivered           uint64 // events
	Batches, EventsSent         uint64 // published by the drainers, resends included
	Resends                     uint64 // times a drainer went back to its watermark
	Acks, AcksRejected          uint64
	HealthSent, HealthFailed    uint64
	DownlinkRefused             uint64
	Unacked                     int    // batches published, not yet acknowledged
	LastError, LastPublishError string // an example of each: a link down with an error, a drainer's last failed publish
}

// Stats adds up the gateways' counters.
func (f *Fleet) Stats() FleetStats {
	s := FleetStats{Gateways: len(f.gws)}
	for _, g := range f.gws {
		gs := g.Stats()
		if gs.Link.Connected {
			s.Connected++
		}
		s.Attempts += gs.Link.Attempts
		s.Reconnects += gs.Link.Reconnects
		s.InboxDropped += gs.Link.Dropped
		s.Logged += gs.Logged
		s.Delivered += gs.Delivered
		s.Batches += gs.Drain.Batches
		s.EventsSent += gs.Drain.EventsSent
		s.Resends += gs.Drain.Resends
		s.Acks += gs.Drain.Acks
		s.AcksRejected += gs.Drain.AcksRejected
		s.HealthSent += gs.HealthSent
		s.HealthFailed += gs.HealthFailed
		s.DownlinkRefused += gs.DownlinkRefused
		s.Unacked += gs.Unacked
		if gs.Link.LastError != "" {
			s.LastError = gs.Link.LastError
		}
		if gs.Drain.LastError != "" {
			s.LastPublishError = gs.Drain.LastError
		}
	}
	return s
}

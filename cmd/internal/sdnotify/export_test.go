package sdnotify

import (
	"context"
	"time"
)

// Exported for the tests of package sdnotify_test.
var (
	WatchdogIntervalOf = watchdogInterval
	StatusLine         = statusLine
	SocketAddr         = socketAddr
)

// RunWatchdogTicks runs the watchdog loop on the given ticks.
func RunWatchdogTicks(ctx context.Context, tick <-chan time.Time, healthy func() bool, ping func() error) {
	runWatchdog(ctx, tick, healthy, ping)
}

// SetNewTicker replaces the ticker RunWatchdog makes until the returned
// function is called.
func SetNewTicker(f func(time.Duration) (<-chan time.Time, func())) (restore func()) {
	old := newTicker
	newTicker = f
	return func() { newTicker = old }
}

package sdnotify

import (
	"context"
	"math"
	"os"
	"strconv"
	"time"
)

// WatchdogInterval returns the service watchdog's interval from
// $WATCHDOG_USEC, and whether the watchdog is on for this process: the
// interval is a positive number of microseconds and $WATCHDOG_PID is
// unset, empty or this process's PID. systemd restarts the service when
// it hears no ping for the interval; ping at half of it.
func WatchdogInterval() (time.Duration, bool) {
	return watchdogInterval(os.Getenv(EnvWatchdogUSec), os.Getenv(EnvWatchdogPID), os.Getpid())
}

// watchdogInterval is WatchdogInterval on given values.
func watchdogInterval(usec, pid string, self int) (time.Duration, bool) {
	n, err := strconv.ParseUint(usec, 10, 64)
	if err != nil || n == 0 || n > math.MaxInt64/uint64(time.Microsecond) {
		return 0, false
	}
	if pid != "" {
		p, err := strconv.Atoi(pid)
		if err != nil || p != self {
			return 0, false
		}
	}
	return time.Duration(n) * time.Microsecond, true
}

// ChildEnv returns the environment entries a supervisor adds to its
// child's (after its own, where the last value of a key wins, as in
// os/exec) so that the child owns the service watchdog: an empty
// $WATCHDOG_PID, since the inherited one names the supervisor.
// $WATCHDOG_USEC and $NOTIFY_SOCKET pass through unchanged.
func ChildEnv() []string { return []string{EnvWatchdogPID + "="} }

// RunWatchdog pings the service watchdog while healthy reports true: once
// at the start and then every half interval, each time only if healthy()
// returns true just before, until ctx is done. It returns at once when
// the watchdog is not on for this process (WatchdogInterval). Send
// failures are ignored: the next tick tries again, and a daemon that
// cannot reach systemd for a whole interval is restarted, as it should be.
//
// healthy runs on RunWatchdog's goroutine and should answer quickly. It
// should say whether the daemon is alive (its loops turn, its database
// answers), not whether everything it watches is fine: a restart does not
// mend a broken reader or a lost uplink, and would interrupt the desks
// that work.
func RunWatchdog(ctx context.Context, healthy func() bool) {
	interval, ok := WatchdogInterval()
	if !ok {
		return
	}
	tick, stop := newTicker(interval / 2)
	defer stop()
	runWatchdog(ctx, tick, healthy, Watchdog)
}

// newTicker is time.NewTicker, replaced in tests.
var newTicker = func(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// runWatchdog is the loop of RunWatchdog.
func runWatchdog(ctx context.Context, tick <-chan time.Time, healthy func() bool, ping func() error) {
	for {
		if ctx.Err() != nil {
			return
		}
		if healthy() {
			ping() // a failed ping is retried at the next tick
		}
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}

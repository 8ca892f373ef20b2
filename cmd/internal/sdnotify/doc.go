// Package sdnotify tells systemd how a daemon is doing, in the protocol of
// sd_notify(3), without a dependency on libsystemd: a datagram of
// newline-separated assignments ("READY=1", "STATUS=…", "WATCHDOG=1")
// sent to the unix socket named by $NOTIFY_SOCKET. A path starting with
// '@' names a socket in the abstract namespace.
//
// Every function is a no-op returning nil when $NOTIFY_SOCKET is unset, so
// a daemon calls them unconditionally: under `Type=notify` systemd learns
// when it is ready and when it stops, and outside systemd (a terminal, a
// test, the demo) nothing happens.
//
// # Watchdog
//
// With `WatchdogSec=` in the unit systemd sets $WATCHDOG_USEC (and
// $WATCHDOG_PID, the process it expects the pings from) and restarts the
// service when no "WATCHDOG=1" arrives within the interval.
// WatchdogInterval reads them as sd_watchdog_enabled(3) does: the watchdog
// is this process's only when $WATCHDOG_PID is unset, empty or its own
// PID. RunWatchdog pings at half the interval while the daemon's own
// health check passes, so a hung daemon is restarted while a live one with
// a broken reader is not.
//
// A supervisor whose child should own the watchdog (seatgate supervise and
// the gateway it runs) passes the child ChildEnv: its $WATCHDOG_PID names
// the supervisor, not the child, and the child would otherwise never ping.
// The unit then needs `NotifyAccess=all`, since systemd accepts messages
// only from the main process otherwise.
package sdnotify

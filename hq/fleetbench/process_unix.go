//go:build unix

package fleetbench

import (
	"fmt"
	"syscall"
	"time"
)

// CPUTime is the CPU time (user + system) this process has used so far.
func CPUTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// RaiseFileLimit raises the limit on open files (RLIMIT_NOFILE) towards
// want and returns the soft limit in force. It raises the soft limit up to
// the hard limit, and the hard limit too where the process may (root, or
// CAP_SYS_RESOURCE); it never lowers either.
func RaiseFileLimit(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	if uint64(lim.Cur) >= want {
		return uint64(lim.Cur), nil
	}
	if uint64(lim.Max) < want {
		// Allowed only with privilege; otherwise settle for the hard limit.
		raised := lim
		raised.Cur, raised.Max = want, want
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return want, nil
		}
	}
	lim.Cur = min(lim.Max, want)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("setrlimit open files to %d: %w", lim.Cur, err)
	}
	return uint64(lim.Cur), nil
}

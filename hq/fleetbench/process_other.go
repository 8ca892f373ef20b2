//go:build !unix

package fleetbench

import (
	"errors"
	"time"
)

// CPUTime is not available on this platform.
func CPUTime() (time.Duration, error) {
	return 0, errors.New("process CPU time: not available on this platform")
}

// RaiseFileLimit does nothing on this platform and reports want.
func RaiseFileLimit(want uint64) (uint64, error) { return want, nil }

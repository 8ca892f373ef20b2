//go:build !linux

package fleetbench

import "errors"

// RSS is not available on this platform.
func RSS() (uint64, error) { return 0, errors.New("resident memory: not available on this platform") }

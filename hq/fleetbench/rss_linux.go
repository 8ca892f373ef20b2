package fleetbench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// RSS is the process's resident memory now, in bytes (/proc/self/statm).
func RSS() (uint64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, fmt.Errorf("resident memory: %w", err)
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, fmt.Errorf("resident memory: /proc/self/statm: %q", b)
	}
	pages, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("resident memory: /proc/self/statm: %w", err)
	}
	return pages * uint64(os.Getpagesize()), nil
}

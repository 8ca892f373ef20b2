//go:build !race

package fleetbench_test

const raceEnabled = false

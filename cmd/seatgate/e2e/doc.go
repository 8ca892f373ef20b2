// Package e2e holds the end-to-end tests of the seatgate binary: they build
// it, start it as a process on emulated readers, drive it over its HTTP API
// and kill it with SIGKILL to prove that every answered tap survives.
package e2e

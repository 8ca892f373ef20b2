// Package api serves the gateway's HTTP API: health, seats, the event log
// and, for emulated readers only, the emulator endpoints with which tests,
// demos and training sessions tap cards without hardware.
//
// Every response is JSON. Errors are {"error": "..."} with a status code
// that says whose fault it was (4xx: the request; 5xx: the gateway). The
// API is documented in docs/api.md.
package api

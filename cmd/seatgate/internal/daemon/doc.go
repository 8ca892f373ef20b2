// Package daemon wires a seatgate gateway from its configuration: the bbolt
// store, the readers (periph hardware or emulated chips) and their scanner,
// the desk outputs, the tap loop that joins them, and the HTTP API.
package daemon

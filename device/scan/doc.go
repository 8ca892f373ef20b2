// Package scan polls every card reader of a gateway and turns what the
// radios see into events: a tap (a card arrived), a removal, a reader fault
// and its recovery.
//
// Readers are grouped by bus. Each bus has one goroutine, since one SPI bus
// carries one transfer at a time; buses run in parallel. Within a bus a
// cycle is pipelined: the request (REQA) is started on every reader, the
// bus then waits once for the slowest answer, and the answers are collected;
// each reader's radio works while the bus serves the others. Only a reader
// that found a card spends more bus time, activating it.
//
// A card held on a reader is reported once. After activation it is halted,
// so it no longer answers REQA; every PresenceInterval it is woken (WUPA)
// and selected by its UID to see that it is still there, and after
// RemovalMisses misses it is reported removed. Only then can the same card
// make a new tap: a held card that answers REQA again (a brown-out at the
// edge of the field, a lost HLTA) is not a second tap.
//
// Cards already lying on a reader when it is opened (at start, after a
// power cut, after a reader fault) are taken as held, not as taps: a
// restart never checks anyone in or out. Only a card put down afterwards
// taps.
//
// A reader that fails (no chip, a chip lost from the bus, bus error, stuck
// chip, overheating) is reported, left out of the cycle and reopened with
// exponential backoff and jitter (the backoff starts again from the bottom
// only after the reader has worked for 30 s); it never slows the other
// readers. A garbled answer to a presence check is retried, not counted as
// the card having gone.
package scan

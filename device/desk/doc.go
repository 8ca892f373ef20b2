// Package desk drives the outputs of one desk: a green LED, a red LED (both
// on together read as amber), an optional buzzer and an optional relay for a
// door strike or power strip. The caller opens the pins and passes them in as
// gpio.PinOut; the desk only ever calls Out on them.
//
// After a tap the access decision is turned into a Pattern and passed to
// Desk.Show; Desk.Run plays it. Every pattern can be told apart by its lights
// alone (a desk may have no buzzer, a freelancer may not hear it) and, apart
// from the repeating reader fault, is over within 2.5 s so the next tap is
// never kept waiting. A new pattern cuts the running one short.
//
// What the freelancer sees and hears (Steps returns the exact timings):
//
//	Pattern          Lights                                        Sound
//	---------------  --------------------------------------------  -------------------------
//	checked_in       green 1.5 s                                   one short beep (0.1 s)
//	checked_out      green double blink (0.3 s on, 0.2 s off,      two short beeps, one
//	                 0.3 s on)                                     per blink
//	moved            green 0.5 s, amber 0.5 s, green 0.5 s         one short beep
//	refused_unknown  red 2 s steady                                long beep (0.8 s)
//	refused_expired  red / amber alternating, 0.4 s each,          long beep (0.8 s)
//	                 red-amber-red-amber-red (2 s)
//	refused          red 0.8 s, then two short red flashes         long beep (0.8 s)
//	                 (0.2 s off, 0.4 s on, twice)
//	plan_ending      amber 2 s, then green 0.5 s                   one short beep
//	reader_fault     slow red blink (1 s on, 1 s off), repeating   none
//	                 until another pattern is shown
//	idle             all off                                       none
//
// Green means "you are in" or "you are out", red means "refused", amber
// means "look again": your plan is ending, you moved desks, or (alternating
// with red) your plan has expired. Every refusal sounds the same long beep;
// the lights say why.
//
// The relay is switched on by a check-in (checked_in, moved, plan_ending)
// for Options.RelayHold, and off at once by checked_out. The lights and the
// buzzer go off at the end of every pattern; Run switches every output off
// when it returns.
//
// A pin that fails to switch does not stop the desk: the error is kept in
// State.Err for the health page and the level is written again at the next
// change.
package desk

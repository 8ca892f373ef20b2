package tryboot

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxAutobootSize is the most of autoboot.txt the bootloader reads
// ("autoboot.txt is limited to 512 bytes", config_txt/autoboot.adoc).
// ParseAutoboot refuses a longer file, whose tail the bootloader would not
// see, and the Backend never writes one.
const MaxAutobootSize = 512

// MaxPartition is the highest partition number ParseAutoboot accepts in
// boot_partition. MBR partitions are 1 to 4; GPT allows more.
const MaxPartition = 128

// The keys the package understands. Any other key is kept as written.
const (
	keyBootPartition = "boot_partition"
	keyTrybootAB     = "tryboot_a_b"
)

// filter is the conditional filter a line of autoboot.txt is under.
// autoboot.txt supports only [all], [none] and [tryboot]; lines before the
// first section header are under [all].
type filter uint8

const (
	filterAll filter = iota
	filterNone
	filterTryboot
)

// passes reports whether the bootloader applies lines under f when it
// boots with (tryboot true) or without the tryboot flag.
func (f filter) passes(tryboot bool) bool {
	switch f {
	case filterAll:
		return true
	case filterTryboot:
		return tryboot
	}
	return false
}

var sectionFilters = map[string]filter{"[all]": filterAll, "[none]": filterNone, "[tryboot]": filterTryboot}

type lineKind uint8

const (
	lineVerbatim lineKind = iota // blank, comment, unknown text: kept, never read
	lineSection                  // [all], [none], [tryboot]
	lineSetting                  // key=value
)

// abLine is one line of autoboot.txt.
type abLine struct {
	text   string // as read, without its "\n"; Encode writes it back unchanged
	kind   lineKind
	filter filter // the filter the line is under; for a section line, the one it opens
	key    string // lineSetting only
	value  string // lineSetting only
}

func (l abLine) is(key string, f filter) bool {
	return l.kind == lineSetting && l.key == key && l.filter == f
}

func setting(key string, f filter, n int) abLine {
	v := strconv.Itoa(n)
	return abLine{text: key + "=" + v, kind: lineSetting, filter: f, key: key, value: v}
}

// Autoboot is a parsed autoboot.txt. It keeps every line as it was read
// (comments, blank lines, unknown keys, line endings) so that Encode gives
// back the same bytes, and the setters change only the boot_partition
// lines they must.
//
// The bootloader reads the file top to bottom and a later line overrides
// an earlier one for the boot it is making: that is how the documented
// layout, boot_partition=2 under [all] followed by boot_partition=3 in the
// tryboot section, boots 3 with the tryboot flag and 2 without.
// BootPartition evaluates the file the same way.
//
// The zero Autoboot is an empty file. Copies are independent: setters
// never change a slice another copy holds.
type Autoboot struct {
	lines        []abLine
	finalNewline bool
}

// ParseError says which line of autoboot.txt is wrong and why. Line is 1
// for the first line, 0 for a problem with the whole file (its size).
type ParseError struct {
	Line   int
	Key    string // the setting's key, when the line is a setting
	Text   string // the line as read
	Reason string
}

func (e *ParseError) Error() string {
	s := "autoboot.txt"
	if e.Line > 0 {
		s += fmt.Sprintf(" line %d", e.Line)
	}
	if e.Key != "" {
		s += ": " + e.Key
	}
	s += ": " + e.Reason
	if e.Text != "" {
		s += fmt.Sprintf(" (%q)", e.Text)
	}
	return s
}

// ParseAutoboot parses the bytes of an autoboot.txt: lines separated by
// "\n" (a "\r" before it is allowed), each blank, a comment starting with
// '#', a section header (all, none or tryboot, in brackets), or key=value.
// Leading and trailing blanks of a line are ignored; blanks around the '='
// are not, so "boot_partition = 3" is an unknown key, as it most likely is
// to the bootloader.
//
// It refuses, with a *ParseError: a file longer than MaxAutobootSize; a
// control character other than tab and "\r" (the zero bytes a power cut can
// leave in a FAT file); a section other than the three; boot_partition
// that is not a decimal number from 0 to MaxPartition; tryboot_a_b other
// than 0 or 1. Unknown keys and other text are kept and ignored.
func ParseAutoboot(b []byte) (Autoboot, error) {
	if len(b) > MaxAutobootSize {
		return Autoboot{}, &ParseError{Reason: fmt.Sprintf("%d bytes, more than the %d the bootloader reads", len(b), MaxAutobootSize)}
	}
	s := string(b)
	a := Autoboot{finalNewline: strings.HasSuffix(s, "\n")}
	s = strings.TrimSuffix(s, "\n")
	if len(b) == 0 {
		return a, nil
	}
	cur := filterAll
	for i, text := range strings.Split(s, "\n") {
		l, err := parseLine(text, cur)
		if err != nil {
			err.Line = i + 1
			return Autoboot{}, err
		}
		if l.kind == lineSection {
			cur = l.filter
		}
		a.lines = append(a.lines, l)
	}
	return a, nil
}

func parseLine(text string, cur filter) (abLine, *ParseError) {
	for _, c := range []byte(text) {
		if (c < 0x20 && c != '\t' && c != '\r') || c == 0x7f {
			return abLine{}, &ParseError{Text: text, Reason: fmt.Sprintf("control character 0x%02x (a damaged file?)", c)}
		}
	}
	l := abLine{text: text, filter: cur}
	t := strings.Trim(text, " \t\r")
	switch {
	case t == "" || t[0] == '#':
		return l, nil
	case t[0] == '[':
		f, ok := sectionFilters[t]
		if !ok {
			return abLine{}, &ParseError{Text: text, Reason: "unsupported filter: autoboot.txt has only [all], [none] and [tryboot]"}
		}
		l.kind, l.filter = lineSection, f
		return l, nil
	}
	key, value, ok := strings.Cut(t, "=")
	if !ok {
		return l, nil
	}
	l.kind, l.key, l.value = lineSetting, key, value
	switch key {
	case keyBootPartition:
		if _, err := parsePartition(value); err != nil {
			return abLine{}, &ParseError{Key: key, Text: text, Reason: err.Error()}
		}
	case keyTrybootAB:
		if value != "0" && value != "1" {
			return abLine{}, &ParseError{Key: key, Text: text, Reason: "not 0 or 1"}
		}
	}
	return l, nil
}

func parsePartition(v string) (int, error) {
	if v == "" || len(v) > 3 || strings.Trim(v, "0123456789") != "" {
		return 0, fmt.Errorf("not a partition number from 0 to %d", MaxPartition)
	}
	n, _ := strconv.Atoi(v) // at most three digits
	if n > MaxPartition {
		return 0, fmt.Errorf("not a partition number from 0 to %d", MaxPartition)
	}
	return n, nil
}

// Encode returns the file: the lines as read, with the setters' changes,
// each followed by "\n" except the last when the parsed file did not end
// with one (a file a setter added lines to ends with "\n").
func (a Autoboot) Encode() []byte {
	var sb strings.Builder
	for i, l := range a.lines {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(l.text)
	}
	if a.finalNewline && len(a.lines) > 0 {
		sb.WriteByte('\n')
	}
	return []byte(sb.String())
}

// resolve returns the value the bootloader ends up with for key, booting
// with or without the tryboot flag: that of the last line with the key
// under a filter that passes.
func (a Autoboot) resolve(key string, tryboot bool) (string, bool) {
	var v string
	var found bool
	for _, l := range a.lines {
		if l.kind == lineSetting && l.key == key && l.filter.passes(tryboot) {
			v, found = l.value, true
		}
	}
	return v, found
}

// BootPartition returns the partition the bootloader boots with (tryboot
// true) or without the tryboot flag, as the file says; 0 when it names
// none, which to the bootloader means the first bootable FAT partition.
func (a Autoboot) BootPartition(tryboot bool) int {
	v, _ := a.resolve(keyBootPartition, tryboot)
	n, _ := parsePartition(v) // validated by ParseAutoboot and the setters; "" gives 0
	return n
}

// TrybootAB reports whether tryboot_a_b=1 applies to a tryboot boot, the
// only boot it matters to: the tryboot flag then selects a partition
// rather than tryboot.txt.
func (a Autoboot) TrybootAB() bool {
	v, _ := a.resolve(keyTrybootAB, true)
	return v == "1"
}

// SetBootPartition makes a boot without the tryboot flag boot partition n:
// it sets the last boot_partition under [all] (or before any section) to
// n, adding one at the top of the file if there is none, and drops the
// earlier ones so no reader can see another value. A tryboot boot keeps
// its partition if a boot_partition in the tryboot section follows that
// line, and boots n otherwise.
func (a *Autoboot) SetBootPartition(n int) error {
	if n < 0 || n > MaxPartition {
		return fmt.Errorf("tryboot: boot partition %d is not from 0 to %d", n, MaxPartition)
	}
	last := -1
	for i, l := range a.lines {
		if l.is(keyBootPartition, filterAll) {
			last = i
		}
	}
	var out []abLine
	if last < 0 {
		out = append(out, setting(keyBootPartition, filterAll, n))
		if len(a.lines) == 0 {
			a.finalNewline = true
		}
	}
	for i, l := range a.lines {
		switch {
		case i == last:
			out = append(out, setting(keyBootPartition, filterAll, n))
		case l.is(keyBootPartition, filterAll):
			// an earlier line the last one overrides
		default:
			out = append(out, l)
		}
	}
	a.lines = out
	return nil
}

// SetTrybootPartition makes a boot with the tryboot flag boot partition n,
// or, with n 0, the partition a boot without it boots (no trial armed). It
// keeps one boot_partition in the tryboot section, the last one if it
// follows the last one under [all], and drops the others; with none to
// keep it appends a tryboot section with the setting at the end. With n 0
// it drops them all. It also drops tryboot section headers with nothing
// under them.
func (a *Autoboot) SetTrybootPartition(n int) error {
	if n < 0 || n > MaxPartition {
		return fmt.Errorf("tryboot: tryboot partition %d is not from 0 to %d", n, MaxPartition)
	}
	lastAll, keep := -1, -1
	for i, l := range a.lines {
		switch {
		case l.is(keyBootPartition, filterAll):
			lastAll = i
		case l.is(keyBootPartition, filterTryboot):
			keep = i
		}
	}
	if keep < lastAll || n == 0 {
		keep = -1
	}
	out := make([]abLine, 0, len(a.lines)+2)
	for i, l := range a.lines {
		switch {
		case i == keep:
			out = append(out, setting(keyBootPartition, filterTryboot, n))
		case l.is(keyBootPartition, filterTryboot):
		default:
			out = append(out, l)
		}
	}
	out = dropEmptyTryboot(out)
	if n != 0 && keep < 0 {
		if len(out) == 0 || out[len(out)-1].filter != filterTryboot {
			out = append(out, abLine{text: "[tryboot]", kind: lineSection, filter: filterTryboot})
		}
		out = append(out, setting(keyBootPartition, filterTryboot, n))
		a.finalNewline = true
	}
	a.lines = out
	return nil
}

// dropEmptyTryboot removes [tryboot] headers followed directly by another
// header or the end of the file: they apply to no line.
func dropEmptyTryboot(lines []abLine) []abLine {
	out := make([]abLine, 0, len(lines))
	for i, l := range lines {
		empty := i+1 == len(lines) || lines[i+1].kind == lineSection
		if l.kind == lineSection && l.filter == filterTryboot && empty {
			continue
		}
		out = append(out, l)
	}
	return out
}

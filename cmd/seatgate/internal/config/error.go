package config

import (
	"fmt"
	"strings"
)

// Error is one problem in a configuration file. Parse returns an *Error, or
// several joined with errors.Join; use errors.As to get at them.
type Error struct {
	File string // as passed to Parse; "" when validating a Config in memory
	Line int    // 1-based; 0 when not known
	Key  string // path of the key, "readers[2].spi" (indices from 0); "" for the file as a whole
	Msg  string
}

// Error formats e as "seatgate.yaml:14: readers[2].spi: msg", leaving out
// the parts that are not known.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

package fetch

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Parsers of the two Range headers of RFC 9110 §14, for what this package
// needs: a single byte range. Both read outside input (a mirror's
// response, a peer's request) and are fuzzed.

// parseContentRange parses a 206 response's Content-Range,
// "bytes first-last/complete" or "bytes first-last/*", strictly: decimal
// digits only, first ≤ last, and last < complete when complete is known.
// complete is -1 for "*".
func parseContentRange(s string) (first, last, complete int64, err error) {
	bad := func(why string) error { return fmt.Errorf("content-range %q: %s", s, why) }
	unit, spec, ok := strings.Cut(s, " ")
	if !ok || !strings.EqualFold(unit, "bytes") {
		return 0, 0, 0, bad("not a byte range")
	}
	rng, total, ok := strings.Cut(spec, "/")
	if !ok {
		return 0, 0, 0, bad("no complete length")
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, 0, bad("no range")
	}
	if first, err = parseDigits(a); err != nil {
		return 0, 0, 0, bad("first byte: " + err.Error())
	}
	if last, err = parseDigits(b); err != nil {
		return 0, 0, 0, bad("last byte: " + err.Error())
	}
	if first > last {
		return 0, 0, 0, bad("first byte after last")
	}
	complete = -1
	if total != "*" {
		if complete, err = parseDigits(total); err != nil {
			return 0, 0, 0, bad("complete length: " + err.Error())
		}
		if last >= complete {
			return 0, 0, 0, bad("range ends past the complete length")
		}
	}
	return first, last, complete, nil
}

// parseDigits parses a non-negative decimal of 1 to 18 digits (so it fits
// an int64), with no sign, space or other character.
func parseDigits(s string) (int64, error) {
	if s == "" || len(s) > 18 {
		return 0, errors.New("want 1 to 18 decimal digits")
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, errors.New("want 1 to 18 decimal digits")
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

var (
	// errRangeIgnored: the Range header is not a byte-range set this
	// server understands; RFC 9110 §14.2 says to ignore it.
	errRangeIgnored = errors.New("range header ignored")
	// errRangeUnsatisfiable: a valid range that selects no byte of the
	// artifact, or several ranges (this server serves one): 416.
	errRangeUnsatisfiable = errors.New("range not satisfiable")
)

// parseRange parses a request's Range header against an artifact of size
// bytes and returns the one range it selects: "bytes=first-last",
// "bytes=first-" or the suffix form "bytes=-length". A last byte past the
// end is clamped to it. A header that is not a byte-range set gives
// errRangeIgnored; one that selects nothing, or more than one range, gives
// errRangeUnsatisfiable.
func parseRange(h string, size int64) (off, n int64, err error) {
	unit, set, ok := strings.Cut(h, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return 0, 0, errRangeIgnored
	}
	specs := strings.Split(set, ",")
	type spec struct{ first, last int64 } // -1: absent
	var parsed []spec
	for _, s := range specs {
		s = strings.Trim(s, " \t")
		if s == "" {
			continue // RFC 9110 §5.6.1: empty list elements are ignored
		}
		a, b, ok := strings.Cut(s, "-")
		if !ok {
			return 0, 0, errRangeIgnored
		}
		sp := spec{-1, -1}
		if a != "" {
			if sp.first, err = parseDigits(a); err != nil {
				return 0, 0, errRangeIgnored
			}
		}
		if b != "" {
			if sp.last, err = parseDigits(b); err != nil {
				return 0, 0, errRangeIgnored
			}
		}
		if sp.first < 0 && sp.last < 0 || sp.first >= 0 && sp.last >= 0 && sp.first > sp.last {
			return 0, 0, errRangeIgnored
		}
		parsed = append(parsed, sp)
	}
	switch {
	case len(parsed) == 0:
		return 0, 0, errRangeIgnored
	case len(parsed) > 1:
		return 0, 0, errRangeUnsatisfiable
	}
	sp := parsed[0]
	switch {
	case sp.first < 0: // suffix: the last sp.last bytes
		if sp.last == 0 || size == 0 {
			return 0, 0, errRangeUnsatisfiable
		}
		n = min(sp.last, size)
		return size - n, n, nil
	case sp.first >= size:
		return 0, 0, errRangeUnsatisfiable
	case sp.last < 0 || sp.last >= size:
		return sp.first, size - sp.first, nil
	default:
		return sp.first, sp.last - sp.first + 1, nil
	}
}

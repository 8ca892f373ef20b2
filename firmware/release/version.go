package release

import (
	"fmt"
	"strings"
)

// Version numbers are dotted decimal: 1 to maxVersionParts parts, each
// 0 to maxVersionPart, without leading zeros.
const (
	maxVersionParts = 4
	maxVersionPart  = 999999
)

// ValidVersion reports whether s is a release version: 1 to 4 dot-separated
// decimal parts, each 0 to 999999 without leading zeros ("1.4.2", "2",
// "0.10.0.3"; not "1.04", "v1.2", "1..2", "1.2-rc1").
func ValidVersion(s string) error {
	_, err := parseVersion(s)
	return err
}

// parseVersion returns the parts of a valid version, padded with zeros to
// maxVersionParts.
func parseVersion(s string) ([maxVersionParts]int, error) {
	var v [maxVersionParts]int
	if s == "" {
		return v, fmt.Errorf("version is empty")
	}
	rest := s
	for i := 0; ; i++ {
		if i == maxVersionParts {
			return v, fmt.Errorf("version %.40q has more than %d parts", s, maxVersionParts)
		}
		part, tail, more := strings.Cut(rest, ".")
		n, err := parseVersionPart(part)
		if err != nil {
			return v, fmt.Errorf("version %.40q: part %d: %v", s, i+1, err)
		}
		v[i] = n
		if !more {
			return v, nil
		}
		rest = tail
	}
}

func parseVersionPart(p string) (int, error) {
	switch {
	case p == "":
		return 0, fmt.Errorf("empty")
	case len(p) > 6:
		return 0, fmt.Errorf("%.20q is above %d", p, maxVersionPart)
	case len(p) > 1 && p[0] == '0':
		return 0, fmt.Errorf("%q has a leading zero", p)
	}
	n := 0
	for _, c := range []byte(p) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a decimal number", p)
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// CompareVersions returns -1, 0 or +1 as version a is below, equal to or
// above version b. Parts compare as numbers, left to right, and missing
// parts count as 0, so "1.10" > "1.9" and "1.2" == "1.2.0". An invalid
// version sorts below every valid one, and two invalid ones compare as
// strings, so the order is total: a development build whose version is
// "dev" is older than any release.
func CompareVersions(a, b string) int {
	va, erra := parseVersion(a)
	vb, errb := parseVersion(b)
	switch {
	case erra != nil && errb != nil:
		return strings.Compare(a, b)
	case erra != nil:
		return -1
	case errb != nil:
		return +1
	}
	for i := range va {
		if va[i] != vb[i] {
			if va[i] < vb[i] {
				return -1
			}
			return +1
		}
	}
	return 0
}

package dashboard

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/pkfreelance/seatgate/sync/wire"
)

// CentresFile is the conventional name of the centres file, in seathq's
// data or secrets directory.
const CentresFile = "centres.yaml"

// MaxCentresFile is the largest centres file LoadCentres reads.
const MaxCentresFile = 1 << 20

// DefaultTimezone is a centre's time zone when the file gives none, and
// that of every centre it does not list.
const DefaultTimezone = "Asia/Karachi"

// Centre is what HQ's analysts know of a centre beyond its gateways: its
// name, city and tier, and the time zone its days begin in.
type Centre struct {
	ID       string // the centre ID the gateways are enrolled under
	Name     string
	City     string
	Tier     int    // 1, 2 or 3
	Timezone string // IANA name

	loc *time.Location
}

// Location is the centre's time zone.
func (c Centre) Location() *time.Location {
	if c.loc == nil {
		return defaultLocation
	}
	return c.loc
}

var defaultLocation = mustLoad(DefaultTimezone)

func mustLoad(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is linked in by hq/ledger; cannot happen
	}
	return l
}

// Centres is the centres file's content. The nil *Centres knows no centre.
type Centres struct {
	list []Centre // in the file's order
	byID map[string]int
}

// Lookup returns the centre of id, if the file lists it.
func (c *Centres) Lookup(id string) (Centre, bool) {
	if c == nil {
		return Centre{}, false
	}
	i, ok := c.byID[id]
	if !ok {
		return Centre{}, false
	}
	return c.list[i], true
}

// All returns the centres in the file's order.
func (c *Centres) All() []Centre {
	if c == nil {
		return nil
	}
	return slices.Clone(c.list)
}

// CentresError is a problem in a centres file: the file, the line (0 when
// unknown) and what is wrong.
type CentresError struct {
	File string
	Line int
	Msg  string
}

func (e *CentresError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// LoadCentres reads the centres file at path (format in the package
// documentation). A missing file is an error wrapping os.ErrNotExist.
func LoadCentres(path string) (*Centres, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load centres: %w", err)
	}
	defer f.Close()
	return ParseCentres(f, path)
}

// ParseCentres reads a centres file from r; filename is for the errors,
// which are *CentresError naming the line and key. Parsing is strict: an
// unknown or repeated key, a centre listed twice, a tier other than 1, 2
// or 3 and an unknown time zone are errors.
func ParseCentres(r io.Reader, filename string) (*Centres, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxCentresFile+1))
	if err != nil {
		return nil, fmt.Errorf("read centres %s: %w", filename, err)
	}
	bad := func(line int, format string, args ...any) error {
		return &CentresError{File: filename, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) > MaxCentresFile {
		return nil, bad(0, "larger than %d bytes", MaxCentresFile)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return &Centres{byID: map[string]int{}}, nil
	} else if err != nil {
		return nil, bad(0, "YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, bad(next.Line, "more than one YAML document")
	}
	if len(doc.Content) != 1 {
		return nil, bad(doc.Line, "not a YAML document")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, bad(root.Line, "want a mapping with the key centres")
	}
	out := &Centres{byID: map[string]int{}}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "centres" {
			return nil, bad(k.Line, "unknown key %.40q (want centres)", k.Value)
		}
		if list != nil {
			return nil, bad(k.Line, "key centres given twice")
		}
		list = v
	}
	if list == nil || list.Tag == "!!null" {
		return out, nil
	}
	if list.Kind != yaml.SequenceNode {
		return nil, bad(list.Line, "centres: want a list")
	}
	for _, n := range list.Content {
		c, err := parseCentre(n, bad)
		if err != nil {
			return nil, err
		}
		if j, dup := out.byID[c.ID]; dup {
			return nil, bad(n.Line, "centre %s listed twice (also entry %d)", c.ID, j+1)
		}
		out.byID[c.ID] = len(out.list)
		out.list = append(out.list, c)
	}
	return out, nil
}

// parseCentre reads one entry of the list.
func parseCentre(n *yaml.Node, bad func(int, string, ...any) error) (Centre, error) {
	if n.Kind != yaml.MappingNode {
		return Centre{}, bad(n.Line, "a centre: want a mapping of id, name, city, tier and timezone")
	}
	c := Centre{Timezone: DefaultTimezone}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return Centre{}, bad(k.Line, "key %.40q given twice", k.Value)
		}
		seen[k.Value] = true
		if v.Kind != yaml.ScalarNode {
			return Centre{}, bad(v.Line, "%.40s: want a plain value", k.Value)
		}
		text := func(max int) (string, error) {
			s := strings.TrimSpace(v.Value)
			if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				return "", bad(v.Line, "%s: control characters or invalid UTF-8", k.Value)
			}
			if utf8.RuneCountInString(s) > max {
				return "", bad(v.Line, "%s: longer than %d characters", k.Value, max)
			}
			return s, nil
		}
		var err error
		switch k.Value {
		case "id":
			c.ID = v.Value
			if !wire.ValidID(c.ID) {
				return Centre{}, bad(v.Line, "id %.40q: want 1 to 32 characters of a-z, 0-9 and '-'", c.ID)
			}
		case "name":
			c.Name, err = text(100)
		case "city":
			c.City, err = text(60)
		case "tier":
			t, perr := strconv.Atoi(v.Value)
			if perr != nil || t < 1 || t > 3 {
				return Centre{}, bad(v.Line, "tier %.20q: want 1, 2 or 3", v.Value)
			}
			c.Tier = t
		case "timezone":
			c.Timezone = v.Value
		default:
			return Centre{}, bad(k.Line, "unknown key %.40q (want id, name, city, tier or timezone)", k.Value)
		}
		if err != nil {
			return Centre{}, err
		}
	}
	if c.ID == "" {
		return Centre{}, bad(n.Line, "a centre without an id")
	}
	if c.Timezone == "" || c.Timezone == "Local" || strings.ContainsAny(c.Timezone, "\x00\\") || strings.Contains(c.Timezone, "..") {
		return Centre{}, bad(n.Line, "centre %s: timezone %.60q: want an IANA name such as Asia/Karachi", c.ID, c.Timezone)
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return Centre{}, bad(n.Line, "centre %s: timezone %.60q: want an IANA name such as Asia/Karachi", c.ID, c.Timezone)
	}
	c.loc = loc
	return c, nil
}

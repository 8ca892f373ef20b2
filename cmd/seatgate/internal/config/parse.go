package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// MaxSize is the largest configuration file Parse reads.
const MaxSize = 1 << 20

const (
	// maxErrors is how many problems Parse reports before it gives up.
	maxErrors = 50
	// maxValues bounds the keys and values Parse walks, so that a small
	// file whose aliases expand to millions of values cannot stall it.
	maxValues = 100_000
)

// Load reads and parses the configuration file at path. Errors in the file
// name path as the file.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads a YAML configuration from r, fills in the defaults and
// validates it. filename is used in error messages only.
//
// Parsing is strict: an unknown key, a key given twice, a value of the wrong
// type or out of range, or a field that does not apply to a reader's kind is
// an error. Each problem is an *Error naming the file, line and key; when
// there are several, they are joined with errors.Join in line order. An
// error reading r is returned wrapped.
func Parse(r io.Reader, filename string) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", filename, err)
	}
	if len(data) > MaxSize {
		return nil, &Error{File: filename, Msg: fmt.Sprintf("larger than %d bytes", MaxSize)}
	}
	root, err := parseYAML(data, filename)
	if err != nil {
		return nil, err
	}

	cfg := Default()
	d := &decoder{file: filename, lines: map[string]int{}, bad: map[string]bool{}}
	if root != nil {
		d.value(root, "", reflect.ValueOf(cfg).Elem())
	}
	if d.overflow != nil {
		return nil, d.overflow // the other errors of a half-walked file help no one
	}
	d.applyReaderDefaults(cfg)
	v := &validator{file: filename, lines: d.lines, bad: d.bad}
	cfg.validate(v)
	errs := append(d.errs, v.errs...)
	if len(errs) > 0 {
		sortErrors(errs)
		if len(errs) > maxErrors {
			errs = append(errs[:maxErrors:maxErrors],
				&Error{File: filename, Msg: fmt.Sprintf("too many errors; stopped after %d", maxErrors)})
		}
		return nil, joinErrors(errs)
	}
	return cfg, nil
}

// parseYAML returns the root node of the single document in data, or nil
// for an empty document.
func parseYAML(data []byte, filename string) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err == io.EOF {
		return nil, nil
	} else if err != nil {
		return nil, syntaxError(filename, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, &Error{File: filename, Line: next.Line, Msg: "more than one YAML document"}
	} else if err != io.EOF {
		return nil, syntaxError(filename, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &Error{File: filename, Line: doc.Line, Msg: "not a YAML document"}
	}
	return doc.Content[0], nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns an error from the YAML parser into an *Error.
func syntaxError(filename string, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: filename, Line: line, Msg: "YAML: " + m[2]}
	}
	return &Error{File: filename, Msg: "YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// decoder walks the YAML nodes into a Config by the fields' yaml tags,
// recording the line of every key it sees.
type decoder struct {
	file     string
	errs     []error
	lines    map[string]int  // key path → line of the key (of the item, for list items)
	bad      map[string]bool // key paths whose value could not be decoded
	values   int             // keys and values walked
	overflow *Error          // set once values passes maxValues
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	if len(d.errs) > maxErrors {
		return // Parse says it stopped
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: n.Line, Key: path, Msg: fmt.Sprintf(format, args...)})
}

// budget counts one more key or value walked and reports false, once with
// an error, when there have been too many.
func (d *decoder) budget(n *yaml.Node, path string) bool {
	d.values++
	if d.values > maxValues && d.overflow == nil {
		d.overflow = &Error{File: d.file, Line: n.Line, Key: path,
			Msg: fmt.Sprintf("the file expands to more than %d keys and values (aliases?)", maxValues)}
	}
	return d.overflow == nil
}

// fail reports a value that could not be decoded; validation then says
// nothing more about path.
func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.bad[path] = true
	d.errorf(n, path, format, args...)
}

var durationType = reflect.TypeFor[Duration]()

// value decodes n into v. A null value (an empty "key:") leaves v as it is.
func (d *decoder) value(n *yaml.Node, path string, v reflect.Value) {
	if _, ok := d.lines[path]; !ok {
		d.lines[path] = n.Line // where it is used, for an alias
	}
	n = deref(n)
	if !d.budget(n, path) {
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	if v.Type() == durationType {
		s, ok := d.scalar(n, path, "a duration")
		if !ok {
			return
		}
		var dur Duration
		if err := dur.UnmarshalText([]byte(s)); err != nil {
			d.fail(n, path, "want a duration such as 250ms or 16h, got %s", quote(s))
			return
		}
		v.Set(reflect.ValueOf(dur))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(n, path, v)
	case reflect.Slice:
		d.sequence(n, path, v)
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		s, ok := d.scalar(n, path, "true or false")
		if !ok {
			return
		}
		var b bool
		if n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.fail(n, path, "want true or false, got %s", quote(s))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		s, ok := d.scalar(n, path, "a whole number")
		if !ok {
			return
		}
		var i int64
		if n.ShortTag() != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			d.fail(n, path, "want a whole number, got %s", quote(s))
			return
		}
		v.SetInt(i)
	default:
		panic(fmt.Sprintf("config: field %s has unsupported type %s", path, v.Type()))
	}
}

// scalar returns the text of a scalar node, which must be printable.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "want %s, got %s", want, describe(n))
		return "", false
	}
	if !printable(n.Value) {
		d.fail(n, path, "contains control characters or invalid UTF-8")
		return "", false
	}
	return n.Value, true
}

func (d *decoder) mapping(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping of keys, got %s", describe(n))
		return
	}
	fields, names := fieldsOf(v.Type())
	seen := map[string]int{} // key → line of its first appearance
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := deref(n.Content[i]), n.Content[i+1]
		if !d.budget(k, path) {
			return
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "a key must be a plain name, got %s", describe(k))
			continue
		}
		name := k.Value
		kp := join(path, name)
		if first, dup := seen[name]; dup {
			d.errorf(k, kp, "duplicate key (first on line %d)", first)
			continue
		}
		seen[name] = k.Line
		idx, known := fields[name]
		switch {
		case known:
		case k.ShortTag() == "!!merge":
			d.errorf(k, kp, "merge keys (<<) are not supported")
			continue
		default:
			d.errorf(k, kp, "unknown key; valid keys here: %s", strings.Join(names, ", "))
			continue
		}
		d.lines[kp] = k.Line
		d.value(val, kp, v.Field(idx))
	}
}

func (d *decoder) sequence(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "want a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.value(item, fmt.Sprintf("%s[%d]", path, i), s.Index(i))
	}
	v.Set(s)
}

// applyReaderDefaults fills in the defaults that depend on a reader's kind,
// for the keys the file leaves out.
func (d *decoder) applyReaderDefaults(c *Config) {
	for i := range c.Readers {
		r := &c.Readers[i]
		p := fmt.Sprintf("readers[%d]", i)
		switch r.Kind {
		case KindMFRC522:
			if _, set := d.lines[p+".spi_hz"]; !set {
				r.SPIHz = DefaultSPIHz
			}
		case KindEmulated:
			if _, set := d.lines[p+".bus"]; !set {
				r.Bus = DefaultBus
			}
		}
	}
}

// fieldsOf maps the yaml names of t's fields to their indices, and lists
// the names in order.
func fieldsOf(t reflect.Type) (map[string]int, []string) {
	fields := map[string]int{}
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields[name] = i
		names = append(names, name)
	}
	return fields, names
}

// deref follows aliases to the anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return quote(n.Value)
	}
	return "something else"
}

// quote quotes s for a message, shortened if long.
func quote(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "..."
	}
	return strconv.Quote(s)
}

func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return !unicode.IsPrint(r) // IsPrint allows the ASCII space, no other white space
	})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// parent returns the path one level up: "readers[2].spi" → "readers[2]" →
// "readers" → "".
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// sortErrors puts errs (all *Error) in line order.
func sortErrors(errs []error) {
	slices.SortStableFunc(errs, func(a, b error) int {
		return a.(*Error).Line - b.(*Error).Line
	})
}

// joinErrors returns nil, the one error, or all of them joined.
func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

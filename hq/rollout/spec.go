package rollout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // centres' zones wherever HQ runs

	"github.com/pkfreelance/seatgate/firmware/release"
	"github.com/pkfreelance/seatgate/sync/wire"
)

// Defaults of a Spec's zero fields (see Spec.WithDefaults).
const (
	DefaultSuccessThreshold = 0.95
	DefaultFailureThreshold = 0.05
	DefaultStallAfter       = 2 * time.Hour
	DefaultTZ               = "Asia/Karachi"
)

// DefaultPercentages are the cohorts after the canaries when a Spec names
// none.
func DefaultPercentages() []int { return []int{5, 25, 100} }

// Limits of a Spec.
const (
	MaxCanaries    = 100
	MaxPercentages = 20
	MaxCentreTZ    = 10000
	MaxSpecSize    = 1 << 20 // bytes of JSON that ParseSpec reads
	minStallAfter  = time.Minute
)

// GatewayRef names one gateway. Its text form, in JSON too, is
// "centre/gateway".
type GatewayRef struct{ Centre, Gateway string }

// String is "centre/gateway".
func (g GatewayRef) String() string { return g.Centre + "/" + g.Gateway }

// ParseRef parses "centre/gateway", both valid IDs (wire.NewTopics).
func ParseRef(s string) (GatewayRef, error) {
	c, g, ok := strings.Cut(s, "/")
	if !ok {
		return GatewayRef{}, fmt.Errorf("gateway %.80q: want centre/gateway", s)
	}
	if _, err := wire.NewTopics(c, g); err != nil {
		return GatewayRef{}, fmt.Errorf("gateway %.80q: %w", s, err)
	}
	return GatewayRef{Centre: c, Gateway: g}, nil
}

// MarshalText is the String form.
func (g GatewayRef) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// UnmarshalText is ParseRef.
func (g *GatewayRef) UnmarshalText(b []byte) error {
	r, err := ParseRef(string(b))
	if err != nil {
		return err
	}
	*g = r
	return nil
}

// Window is a daily maintenance window in a centre's local time. Start and
// End are "HH:MM" (24-hour); the window holds from Start up to, not
// including, End, and crosses midnight when End is before Start. Both empty
// means any time. TZ is an IANA zone, DefaultTZ when empty.
type Window struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
	TZ    string `json:"tz,omitempty"`
}

// Validate checks the times and that the zone loads.
func (w Window) Validate() error {
	_, _, _, err := w.parse()
	return err
}

// String is the window as a gateway's assignment carries it
// (wire.FirmwareAssign.Window): "02:00-05:00", or "" for any time.
func (w Window) String() string {
	if w.Start == "" && w.End == "" {
		return ""
	}
	return w.Start + "-" + w.End
}

// parse returns the window's bounds in minutes after midnight (both -1 for
// any time) and its zone.
func (w Window) parse() (start, end int, loc *time.Location, err error) {
	loc, err = loadZone(w.TZ)
	if err != nil {
		return 0, 0, nil, err
	}
	if w.Start == "" && w.End == "" {
		return -1, -1, loc, nil
	}
	start, end, err = wire.ParseWindow(w.String())
	return start, end, loc, err
}

// Open reports whether now falls in the window. An invalid window is never
// open.
func (w Window) Open(now time.Time) bool {
	start, end, loc, err := w.parse()
	if err != nil {
		return false
	}
	return start < 0 || wire.InWindow(now.In(loc), start, end)
}

// Next returns when the window next opens: now when it is open, the zero
// time when it is invalid.
func (w Window) Next(now time.Time) time.Time {
	start, end, loc, err := w.parse()
	switch {
	case err != nil:
		return time.Time{}
	case start < 0 || wire.InWindow(now.In(loc), start, end):
		return now
	}
	l := now.In(loc)
	next := time.Date(l.Year(), l.Month(), l.Day(), start/60, start%60, 0, 0, loc)
	if !next.After(now) {
		next = time.Date(l.Year(), l.Month(), l.Day()+1, start/60, start%60, 0, 0, loc)
	}
	return next
}

// openedAt returns when the window opened last if it is open at now, the
// zero time when it is always open or closed.
func (w Window) openedAt(now time.Time) time.Time {
	start, end, loc, err := w.parse()
	if err != nil || start < 0 || !wire.InWindow(now.In(loc), start, end) {
		return time.Time{}
	}
	l := now.In(loc)
	at := time.Date(l.Year(), l.Month(), l.Day(), start/60, start%60, 0, 0, loc)
	if at.After(now) {
		at = time.Date(l.Year(), l.Month(), l.Day()-1, start/60, start%60, 0, 0, loc)
	}
	return at
}

// zones caches loaded locations: Step looks one up for every gateway.
var zones sync.Map // name → *time.Location

// loadZone loads an IANA zone, DefaultTZ for "". "Local" is refused: it
// is whatever zone HQ's machine has, not a centre's.
func loadZone(name string) (*time.Location, error) {
	if name == "" {
		name = DefaultTZ
	}
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	if name == "Local" || len(name) > 64 {
		return nil, fmt.Errorf("time zone %.70q: want an IANA zone such as %s", name, DefaultTZ)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %.70q: %w", name, err)
	}
	zones.Store(name, l)
	return l, nil
}

// Spec is what an operator asks for: which release goes to which channel,
// in which cohorts, under which thresholds and window. Zero thresholds,
// stall time, zone and percentages mean the defaults (WithDefaults).
type Spec struct {
	ID       string // a-z, 0-9 and '-', at most 32 characters
	Version  string // the release version (release.ValidVersion)
	Manifest string // SHA-256 of the artifact, lower-case hex: the release's identity
	Channel  string // the release's channel; only gateways on it are eligible
	// Arch is the release's architecture ("linux/arm64"); gateways that
	// say they are another are not eligible. Empty: any.
	Arch string
	// Canary are the named canaries: cohort 0.
	Canary []GatewayRef
	// Percentages are the cohorts after the canaries: cumulative shares of
	// the eligible fleet, strictly increasing, the last 100.
	Percentages []int
	// SuccessThreshold is the share of a cohort's reachable members that
	// must have succeeded before the next cohort starts.
	SuccessThreshold float64
	// FailureThreshold is the share of the gateways assigned so far whose
	// failure pauses the rollout; one failed canary always does.
	FailureThreshold float64
	// StallAfter is how long an online, assigned gateway may go without a
	// report, inside its window, before it counts as stalled.
	StallAfter time.Duration
	Window     Window
	// CentreTZ overrides Window.TZ for some centres: centre → IANA zone.
	CentreTZ map[string]string
}

// WithDefaults returns s with its zero fields set to the defaults.
func (s Spec) WithDefaults() Spec {
	if s.SuccessThreshold == 0 {
		s.SuccessThreshold = DefaultSuccessThreshold
	}
	if s.FailureThreshold == 0 {
		s.FailureThreshold = DefaultFailureThreshold
	}
	if s.StallAfter == 0 {
		s.StallAfter = DefaultStallAfter
	}
	if len(s.Percentages) == 0 {
		s.Percentages = DefaultPercentages()
	}
	if s.Window.TZ == "" {
		s.Window.TZ = DefaultTZ
	}
	return s
}

// WindowFor is the window of centre: Window in CentreTZ[centre] when
// given. Its String goes into the centre's assignments.
func (s Spec) WindowFor(centre string) Window {
	w := s.Window
	if tz, ok := s.CentreTZ[centre]; ok {
		w.TZ = tz
	}
	return w
}

// Validate checks every field; errors wrap ErrInvalid and name the field.
func (s Spec) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: rollout %.40q: %s: %s", ErrInvalid, s.ID, field, fmt.Sprintf(format, args...))
	}
	if !wire.ValidID(s.ID) {
		return bad("id", "want 1 to 32 characters of a-z, 0-9 and '-'")
	}
	if err := release.ValidVersion(s.Version); err != nil {
		return bad("version", "%v", err)
	}
	if !isSHA256(s.Manifest) {
		return bad("manifest", "%.80q: want the artifact's SHA-256 in lower-case hex", s.Manifest)
	}
	if err := validChannel(s.Channel); err != nil {
		return bad("channel", "%v", err)
	}
	if s.Arch != "" {
		if err := validChannel(s.Arch); err != nil {
			return bad("arch", "%v", err)
		}
	}
	if len(s.Canary) > MaxCanaries {
		return bad("canary", "%d gateways, at most %d", len(s.Canary), MaxCanaries)
	}
	seen := map[GatewayRef]bool{}
	for _, c := range s.Canary {
		if _, err := wire.NewTopics(c.Centre, c.Gateway); err != nil {
			return bad("canary", "%.80q: %v", c.String(), err)
		}
		if seen[c] {
			return bad("canary", "%s named twice", c)
		}
		seen[c] = true
	}
	if len(s.Percentages) > MaxPercentages {
		return bad("percentages", "%d cohorts, at most %d", len(s.Percentages), MaxPercentages)
	}
	for i, p := range s.Percentages {
		switch {
		case p < 1 || p > 100:
			return bad("percentages", "%d%%: want 1 to 100", p)
		case i > 0 && p <= s.Percentages[i-1]:
			return bad("percentages", "%v: want strictly increasing", s.Percentages)
		case i == len(s.Percentages)-1 && p != 100:
			return bad("percentages", "%v: the last cohort must be 100%%", s.Percentages)
		}
	}
	if !(s.SuccessThreshold >= 0 && s.SuccessThreshold <= 1) {
		return bad("success_threshold", "%v: want a fraction in (0, 1], 0 for %v", s.SuccessThreshold, DefaultSuccessThreshold)
	}
	if !(s.FailureThreshold >= 0 && s.FailureThreshold <= 1) {
		return bad("failure_threshold", "%v: want a fraction in (0, 1], 0 for %v", s.FailureThreshold, DefaultFailureThreshold)
	}
	if s.StallAfter != 0 && s.StallAfter < minStallAfter {
		return bad("stall_after", "%v: want at least %v, 0 for %v", s.StallAfter, minStallAfter, DefaultStallAfter)
	}
	if err := s.Window.Validate(); err != nil {
		return bad("window", "%v", err)
	}
	if len(s.CentreTZ) > MaxCentreTZ {
		return bad("centre_tz", "%d centres, at most %d", len(s.CentreTZ), MaxCentreTZ)
	}
	for c, tz := range s.CentreTZ {
		if !wire.ValidID(c) {
			return bad("centre_tz", "centre %.40q: not a centre ID", c)
		}
		if tz == "" {
			return bad("centre_tz", "centre %s: empty zone", c)
		}
		if _, err := loadZone(tz); err != nil {
			return bad("centre_tz", "centre %s: %v", c, err)
		}
	}
	return nil
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// validChannel follows the manifest's rule for names (firmware/release):
// 1 to 64 characters of a-z, 0-9, '.', '/', '-', '_', starting with a
// letter or digit, without "..", "//" or a trailing '/'.
func validChannel(s string) error {
	switch {
	case s == "":
		return errors.New("missing")
	case len(s) > 64:
		return fmt.Errorf("%.20q… is longer than 64 characters", s)
	case strings.Contains(s, "..") || strings.Contains(s, "//") || strings.HasSuffix(s, "/"):
		return fmt.Errorf("%.70q has \"..\", \"//\" or a trailing '/'", s)
	}
	for i := range len(s) {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if i == 0 && !alnum || !alnum && c != '.' && c != '/' && c != '-' && c != '_' {
			return fmt.Errorf("%.70q: want a-z, 0-9, '.', '/', '-', '_', starting with a-z or 0-9", s)
		}
	}
	return nil
}

// specJSON is a Spec's JSON form: snake_case names, stall_after as a Go
// duration ("2h0m0s"), canaries as "centre/gateway".
type specJSON struct {
	ID               string            `json:"id"`
	Version          string            `json:"version"`
	Manifest         string            `json:"manifest"`
	Channel          string            `json:"channel"`
	Arch             string            `json:"arch,omitempty"`
	Canary           []GatewayRef      `json:"canary,omitempty"`
	Percentages      []int             `json:"percentages,omitempty"`
	SuccessThreshold float64           `json:"success_threshold,omitempty"`
	FailureThreshold float64           `json:"failure_threshold,omitempty"`
	StallAfter       string            `json:"stall_after,omitempty"`
	Window           Window            `json:"window,omitzero"`
	CentreTZ         map[string]string `json:"centre_tz,omitempty"`
}

// MarshalJSON writes the JSON form ParseSpec reads.
func (s Spec) MarshalJSON() ([]byte, error) {
	j := specJSON{
		ID: s.ID, Version: s.Version, Manifest: s.Manifest, Channel: s.Channel, Arch: s.Arch, Canary: s.Canary,
		Percentages: s.Percentages, SuccessThreshold: s.SuccessThreshold, FailureThreshold: s.FailureThreshold,
		Window: s.Window, CentreTZ: s.CentreTZ,
	}
	if math.IsNaN(s.SuccessThreshold) || math.IsNaN(s.FailureThreshold) {
		return nil, fmt.Errorf("rollout %.40q: a threshold is not a number", s.ID)
	}
	if s.StallAfter != 0 {
		j.StallAfter = s.StallAfter.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the JSON form leniently (unknown fields are
// ignored, nothing is validated), for records written by another version
// of HQ. Outside input goes through ParseSpec.
func (s *Spec) UnmarshalJSON(b []byte) error {
	var j specJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	spec, err := j.spec()
	if err != nil {
		return err
	}
	*s = spec
	return nil
}

func (j specJSON) spec() (Spec, error) {
	s := Spec{
		ID: j.ID, Version: j.Version, Manifest: j.Manifest, Channel: j.Channel, Arch: j.Arch, Canary: j.Canary,
		Percentages: j.Percentages, SuccessThreshold: j.SuccessThreshold, FailureThreshold: j.FailureThreshold,
		Window: j.Window, CentreTZ: j.CentreTZ,
	}
	if len(s.Canary) == 0 {
		s.Canary = nil
	}
	if len(s.Percentages) == 0 {
		s.Percentages = nil
	}
	if len(s.CentreTZ) == 0 {
		s.CentreTZ = nil
	}
	if j.StallAfter != "" {
		d, err := time.ParseDuration(j.StallAfter)
		if err != nil {
			return Spec{}, fmt.Errorf("stall_after: %w", err)
		}
		s.StallAfter = d
	}
	return s, nil
}

// ParseSpec decodes a Spec from the JSON an operator sent, strictly: one
// object, no unknown field, nothing after it, at most MaxSpecSize bytes;
// then validates it. Errors wrap ErrInvalid. Defaults are not filled in.
//
//	{"id": "r-1-4-2", "version": "1.4.2", "manifest": "<sha256 hex>", "channel": "stable",
//	 "canary": ["lhr-01/gw-1"], "percentages": [5, 25, 100], "stall_after": "2h",
//	 "window": {"start": "02:00", "end": "05:00", "tz": "Asia/Karachi"},
//	 "centre_tz": {"lhr-01": "Europe/London"}}
func ParseSpec(b []byte) (Spec, error) {
	if len(b) > MaxSpecSize {
		return Spec{}, fmt.Errorf("%w: rollout spec of %d bytes, at most %d", ErrInvalid, len(b), MaxSpecSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var j specJSON
	if err := dec.Decode(&j); err != nil {
		return Spec{}, fmt.Errorf("%w: rollout spec: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Spec{}, fmt.Errorf("%w: rollout spec: data after the object", ErrInvalid)
	}
	s, err := j.spec()
	if err != nil {
		return Spec{}, fmt.Errorf("%w: rollout spec: %v", ErrInvalid, err)
	}
	if err := s.Validate(); err != nil {
		return Spec{}, err
	}
	return s, nil
}

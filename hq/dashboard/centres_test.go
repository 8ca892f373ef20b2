package dashboard_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkfreelance/seatgate/hq/dashboard"
)

func TestParseCentres(t *testing.T) {
	c, err := dashboard.ParseCentres(strings.NewReader(centresYAML+`  - id: mux-1
`), "centres.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.All()); got != 4 {
		t.Fatalf("got %d centres, want 4", got)
	}
	lhr, ok := c.Lookup("lhr-1")
	if !ok || lhr.Name != "Gulberg Hub" || lhr.City != "Lahore" || lhr.Tier != 1 || lhr.Timezone != "Asia/Karachi" || lhr.Location().String() != "Asia/Karachi" {
		t.Errorf("lhr-1: got %+v", lhr)
	}
	if mux, _ := c.Lookup("mux-1"); mux.Name != "" || mux.Tier != 0 || mux.Timezone != dashboard.DefaultTimezone {
		t.Errorf("mux-1 with only an id: got %+v", mux)
	}
	if _, ok := c.Lookup("nowhere"); ok {
		t.Errorf("an unlisted centre was found")
	}
	var none *dashboard.Centres
	if _, ok := none.Lookup("lhr-1"); ok || none.All() != nil {
		t.Errorf("the nil Centres knows a centre")
	}
}

func TestParseCentresErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"not a mapping", "- id: a\n", "c.yaml:1: want a mapping with the key centres"},
		{"unknown top key", "centers:\n  - id: a\n", `c.yaml:1: unknown key "centers" (want centres)`},
		{"not a list", "centres: lhr-1\n", "c.yaml:1: centres: want a list"},
		{"unknown key", "centres:\n  - id: a\n    town: Lahore\n", `c.yaml:3: unknown key "town"`},
		{"key twice", "centres:\n  - id: a\n    tier: 1\n    tier: 2\n", `c.yaml:4: key "tier" given twice`},
		{"no id", "centres:\n  - name: Hub\n", "c.yaml:2: a centre without an id"},
		{"bad id", "centres:\n  - id: Lahore Hub\n", `c.yaml:2: id "Lahore Hub"`},
		{"tier 4", "centres:\n  - id: a\n    tier: 4\n", `c.yaml:3: tier "4": want 1, 2 or 3`},
		{"tier word", "centres:\n  - id: a\n    tier: one\n", `c.yaml:3: tier "one"`},
		{"zone", "centres:\n  - id: a\n    timezone: Asia/Lahore\n", `c.yaml:2: centre a: timezone "Asia/Lahore"`},
		{"local zone", "centres:\n  - id: a\n    timezone: Local\n", `timezone "Local"`},
		{"twice", "centres:\n  - id: a\n  - id: b\n  - id: a\n", "c.yaml:4: centre a listed twice (also entry 1)"},
		{"nested", "centres:\n  - id: a\n    city: [Lahore]\n", "c.yaml:3: city: want a plain value"},
		{"control", "centres:\n  - id: a\n    name: \"a\\u0007b\"\n", "c.yaml:3: name: control characters"},
		{"long name", "centres:\n  - id: a\n    name: " + strings.Repeat("x", 101) + "\n", "longer than 100 characters"},
		{"two documents", "centres: []\n---\ncentres: []\n", "more than one YAML document"},
		{"syntax", "centres:\n  - id: [\n", "c.yaml: YAML:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dashboard.ParseCentres(strings.NewReader(tt.yaml), "c.yaml")
			var ce *dashboard.CentresError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *CentresError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseCentresEmpty(t *testing.T) {
	for _, s := range []string{"", "# nothing yet\n", "centres:\n", "centres: []\n"} {
		c, err := dashboard.ParseCentres(strings.NewReader(s), "c.yaml")
		if err != nil || len(c.All()) != 0 {
			t.Errorf("%q: got %v, %v; want no centre, no error", s, c.All(), err)
		}
	}
}

func TestLoadCentresMissing(t *testing.T) {
	_, err := dashboard.LoadCentres(filepath.Join(t.TempDir(), "centres.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want os.ErrNotExist", err)
	}
}

// TestCentresReload: a change to the file shows within the reload
// period; a bad change keeps the centres read before; at New a bad file
// is an error and a missing one is no centre.
func TestCentresReload(t *testing.T) {
	e := newEnv(t, 0)
	e.seed()
	path := filepath.Join(e.dir, dashboard.CentresFile)
	city := func() string {
		for _, g := range e.d.OverviewAt(e.clock.Now()).ByCity {
			if g.Centres == 2 {
				return g.Name
			}
		}
		return ""
	}
	if got := city(); got != "Lahore" {
		t.Fatalf("before: got %q, want Lahore", got)
	}
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(strings.ReplaceAll(centresYAML, "Lahore", "Lahore City"))
	e.clock.Advance(10 * 1e9)
	if got := city(); got != "Lahore City" {
		t.Errorf("after a change: got %q, want Lahore City", got)
	}
	write("centres:\n  - id: a\n    tier: 9\n")
	e.clock.Advance(10 * 1e9)
	if got := city(); got != "Lahore City" {
		t.Errorf("after a bad change: got %q, want the centres read before", got)
	}

	opts := dashboard.Options{Fleet: e.fleet, Ledger: e.ledger, Rollouts: e.rollouts, Registry: e.registry, SecretsDir: e.dir, CentresFile: path}
	if _, err := dashboard.New(opts); err == nil || !strings.Contains(err.Error(), "tier") {
		t.Errorf("New with a bad centres file: got %v, want the tier error", err)
	}
	opts.CentresFile = filepath.Join(e.dir, "none.yaml")
	if _, err := dashboard.New(opts); err != nil {
		t.Errorf("New with no centres file: got %v, want none", err)
	}
}

func FuzzParseCentres(f *testing.F) {
	f.Add(centresYAML)
	f.Add("centres:\n  - id: a\n    tier: 2\n    timezone: Asia/Dubai\n")
	f.Add("centres: &a [*a]\n")
	f.Add("centres:\n  - {id: x, name: \"\\u0000\"}\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := dashboard.ParseCentres(strings.NewReader(s), "f.yaml")
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, x := range c.All() {
			if seen[x.ID] || x.Tier < 0 || x.Tier > 3 || x.Location() == nil {
				t.Fatalf("accepted a bad centre %+v", x)
			}
			seen[x.ID] = true
			if got, ok := c.Lookup(x.ID); !ok || got.ID != x.ID {
				t.Fatalf("Lookup(%q): got %+v, %v", x.ID, got, ok)
			}
		}
	})
}

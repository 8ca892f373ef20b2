package rollout_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/hq/rollout"
)

func TestCohortIsDeterministicNestedAndSized(t *testing.T) {
	const n = 10000
	refs := make([]rollout.GatewayRef, n)
	for i := range refs {
		refs[i] = rollout.GatewayRef{Centre: fmt.Sprintf("centre-%04d", i/3), Gateway: fmt.Sprintf("gw-%d", i%3)}
	}
	in := func(p float64) map[rollout.GatewayRef]bool {
		m := map[rollout.GatewayRef]bool{}
		for _, r := range refs {
			if rollout.Cohort(r) < p {
				m[r] = true
			}
		}
		return m
	}
	for _, r := range refs[:100] {
		if a, b := rollout.Cohort(r), rollout.Cohort(rollout.GatewayRef{Centre: r.Centre, Gateway: r.Gateway}); a != b || a < 0 || a >= 100 {
			t.Fatalf("Cohort(%s) = %v then %v, want one value in [0, 100)", r, a, b)
		}
	}
	prev := map[rollout.GatewayRef]bool{}
	for _, p := range []float64{1, 5, 25, 50, 100} {
		got := in(p)
		for r := range prev {
			if !got[r] {
				t.Fatalf("%s is in a smaller cohort but not in the %v %% one", r, p)
			}
		}
		// Within 4 standard deviations of a binomial draw.
		want := n * p / 100
		if tol := 4 * math.Sqrt(n*p/100*(1-p/100)); math.Abs(float64(len(got))-want) > tol+0.5 {
			t.Errorf("%v %% cohort of %d: %d gateways, want %v ± %.0f", p, n, len(got), want, tol)
		}
		prev = got
	}
	if rollout.Cohort(ref("lhr-01/gw-1")) == rollout.Cohort(ref("lhr-01/gw-2")) {
		t.Error("two gateways have the same position")
	}
}

func TestWindowOpenAndNext(t *testing.T) {
	karachi, _ := time.LoadLocation("Asia/Karachi")
	london, _ := time.LoadLocation("Europe/London")
	at := func(day, h, m int, loc *time.Location) time.Time { return time.Date(2026, 3, day, h, m, 0, 0, loc) }
	for _, tt := range []struct {
		name string
		w    rollout.Window
		now  time.Time
		open bool
		next time.Time
	}{
		{"always", rollout.Window{}, at(10, 13, 0, karachi), true, at(10, 13, 0, karachi)},
		{"inside", rollout.Window{Start: "02:00", End: "05:00"}, at(10, 2, 0, karachi), true, at(10, 2, 0, karachi)},
		{"at the end", rollout.Window{Start: "02:00", End: "05:00"}, at(10, 5, 0, karachi), false, at(11, 2, 0, karachi)},
		{"before, same day", rollout.Window{Start: "02:00", End: "05:00"}, at(10, 1, 59, karachi), false, at(10, 2, 0, karachi)},
		{"default zone is Karachi", rollout.Window{Start: "02:00", End: "05:00"}, at(9, 21, 30, time.UTC), true, at(9, 21, 30, time.UTC)},
		{"given zone", rollout.Window{Start: "02:00", End: "05:00", TZ: "Europe/London"}, at(10, 2, 30, karachi), false, at(10, 2, 0, london)},
		{"across midnight, late", rollout.Window{Start: "22:00", End: "02:00"}, at(10, 23, 0, karachi), true, at(10, 23, 0, karachi)},
		{"across midnight, early", rollout.Window{Start: "22:00", End: "02:00"}, at(11, 1, 59, karachi), true, at(11, 1, 59, karachi)},
		{"across midnight, after", rollout.Window{Start: "22:00", End: "02:00"}, at(11, 2, 0, karachi), false, at(11, 22, 0, karachi)},
		{"spring forward in London", rollout.Window{Start: "01:30", End: "03:00", TZ: "Europe/London"}, at(29, 0, 30, london), false, at(29, 2, 30, london)},
		{"invalid", rollout.Window{Start: "2:00", End: "05:00"}, at(10, 3, 0, karachi), false, time.Time{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.w.Open(tt.now); got != tt.open {
				t.Errorf("Open(%v) = %v, want %v", tt.now, got, tt.open)
			}
			if got := tt.w.Next(tt.now); !got.Equal(tt.next) {
				t.Errorf("Next(%v) = %v, want %v", tt.now, got, tt.next)
			}
		})
	}
	if s := (rollout.Window{Start: "22:00", End: "02:00"}).String(); s != "22:00-02:00" {
		t.Errorf("String = %q", s)
	}
}

func TestSpecValidate(t *testing.T) {
	good := spec("r-1", ref("lhr-01/gw-1"))
	if err := good.Validate(); err != nil {
		t.Fatalf("good spec: %v", err)
	}
	if err := good.WithDefaults().Validate(); err != nil {
		t.Fatalf("good spec with defaults: %v", err)
	}
	for _, tt := range []struct {
		name, field string
		change      func(*rollout.Spec)
	}{
		{"no id", "id", func(s *rollout.Spec) { s.ID = "" }},
		{"upper-case id", "id", func(s *rollout.Spec) { s.ID = "R1" }},
		{"long id", "id", func(s *rollout.Spec) { s.ID = strings.Repeat("r", 33) }},
		{"v-prefixed version", "version", func(s *rollout.Spec) { s.Version = "v1.4.2" }},
		{"short manifest", "manifest", func(s *rollout.Spec) { s.Manifest = manifest[:63] }},
		{"upper-case manifest", "manifest", func(s *rollout.Spec) { s.Manifest = strings.ToUpper(manifest) }},
		{"no channel", "channel", func(s *rollout.Spec) { s.Channel = "" }},
		{"channel with ..", "channel", func(s *rollout.Spec) { s.Channel = "a..b" }},
		{"canary named twice", "canary", func(s *rollout.Spec) { s.Canary = append(s.Canary, s.Canary[0]) }},
		{"canary with reserved id", "canary", func(s *rollout.Spec) { s.Canary = []rollout.GatewayRef{{Centre: "lhr", Gateway: "journal"}} }},
		{"percent 0", "percentages", func(s *rollout.Spec) { s.Percentages = []int{0, 100} }},
		{"percent over 100", "percentages", func(s *rollout.Spec) { s.Percentages = []int{5, 101} }},
		{"percents not increasing", "percentages", func(s *rollout.Spec) { s.Percentages = []int{25, 25, 100} }},
		{"not ending at 100", "percentages", func(s *rollout.Spec) { s.Percentages = []int{5, 50} }},
		{"success over 1", "success_threshold", func(s *rollout.Spec) { s.SuccessThreshold = 1.5 }},
		{"success NaN", "success_threshold", func(s *rollout.Spec) { s.SuccessThreshold = math.NaN() }},
		{"failure negative", "failure_threshold", func(s *rollout.Spec) { s.FailureThreshold = -0.1 }},
		{"stall of a second", "stall_after", func(s *rollout.Spec) { s.StallAfter = time.Second }},
		{"negative stall", "stall_after", func(s *rollout.Spec) { s.StallAfter = -time.Hour }},
		{"window with one end", "window", func(s *rollout.Spec) { s.Window = rollout.Window{Start: "02:00"} }},
		{"window of no length", "window", func(s *rollout.Spec) { s.Window = rollout.Window{Start: "02:00", End: "02:00"} }},
		{"window at 24:00", "window", func(s *rollout.Spec) { s.Window = rollout.Window{Start: "22:00", End: "24:00"} }},
		{"unknown zone", "window", func(s *rollout.Spec) { s.Window.TZ = "Asia/Lahore" }},
		{"Local zone", "window", func(s *rollout.Spec) { s.Window.TZ = "Local" }},
		{"centre zone of a bad centre", "centre_tz", func(s *rollout.Spec) { s.CentreTZ = map[string]string{"LHR": "Europe/London"} }},
		{"empty centre zone", "centre_tz", func(s *rollout.Spec) { s.CentreTZ = map[string]string{"lhr": ""} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := good
			s.Canary = append([]rollout.GatewayRef(nil), good.Canary...)
			tt.change(&s)
			err := s.Validate()
			if !errors.Is(err, rollout.ErrInvalid) || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("got %v, want ErrInvalid naming %s", err, tt.field)
			}
		})
	}
}

const goodSpecJSON = `{"id": "r-1-4-2", "version": "1.4.2", "manifest": "` + manifest + `", "channel": "stable",
 "canary": ["lhr-01/gw-1", "khi-02/gw-3"], "percentages": [5, 25, 100], "success_threshold": 0.9,
 "failure_threshold": 0.02, "stall_after": "90m",
 "window": {"start": "02:00", "end": "05:00", "tz": "Asia/Karachi"}, "centre_tz": {"lhr-01": "Europe/London"}}`

func TestParseSpec(t *testing.T) {
	s, err := rollout.ParseSpec([]byte(goodSpecJSON))
	if err != nil {
		t.Fatal(err)
	}
	want := rollout.Spec{
		ID: "r-1-4-2", Version: "1.4.2", Manifest: manifest, Channel: "stable",
		Canary:      []rollout.GatewayRef{{Centre: "lhr-01", Gateway: "gw-1"}, {Centre: "khi-02", Gateway: "gw-3"}},
		Percentages: []int{5, 25, 100}, SuccessThreshold: 0.9, FailureThreshold: 0.02, StallAfter: 90 * time.Minute,
		Window:   rollout.Window{Start: "02:00", End: "05:00", TZ: "Asia/Karachi"},
		CentreTZ: map[string]string{"lhr-01": "Europe/London"},
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := rollout.ParseSpec(b); err != nil || !reflect.DeepEqual(again, s) {
		t.Fatalf("round trip through %s: %+v, %v", b, again, err)
	}

	for name, in := range map[string]string{
		"unknown field":           `{"id": "r-1", "bogus": 1}`,
		"unknown window field":    strings.Replace(goodSpecJSON, `"tz"`, `"zone"`, 1),
		"two objects":             goodSpecJSON + `{}`,
		"canary as an object":     strings.Replace(goodSpecJSON, `"lhr-01/gw-1"`, `{"centre": "lhr-01", "gateway": "gw-1"}`, 1),
		"canary without a centre": strings.Replace(goodSpecJSON, `"lhr-01/gw-1"`, `"gw-1"`, 1),
		"stall as a number":       strings.Replace(goodSpecJSON, `"90m"`, `5400000000000`, 1),
		"stall not a duration":    strings.Replace(goodSpecJSON, `"90m"`, `"soon"`, 1),
		"invalid spec":            strings.Replace(goodSpecJSON, `"1.4.2"`, `"1.4.2-rc1"`, 1),
		"null":                    `null`,
		"too large":               `{"id": "` + strings.Repeat("r", rollout.MaxSpecSize) + `"}`,
	} {
		if _, err := rollout.ParseSpec([]byte(in)); !errors.Is(err, rollout.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzSpecJSON(f *testing.F) {
	f.Add([]byte(goodSpecJSON))
	f.Add([]byte(`{"id":"r","version":"1","manifest":"` + manifest + `","channel":"beta"}`))
	f.Add([]byte(`{"id":"r","version":"2.0","manifest":"` + manifest + `","channel":"a_b/c","window":{"start":"23:59","end":"00:00","tz":"UTC"},"stall_after":"1m"}`))
	f.Add([]byte(`{"id":"r","percentages":[100],"success_threshold":1e308,"canary":["a/b","a/b"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := rollout.ParseSpec(b)
		if err != nil {
			if !errors.Is(err, rollout.ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("accepted a spec that does not validate: %v", err)
		}
		if err := s.WithDefaults().Validate(); err != nil {
			t.Fatalf("accepted a spec whose defaults do not validate: %v", err)
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("marshal an accepted spec: %v", err)
		}
		again, err := rollout.ParseSpec(out)
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("round trip of %s: %+v, %v; want %+v", out, again, err, s)
		}
	})
}

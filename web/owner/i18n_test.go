package owner

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/pkfreelance/seatgate/access"
)

func TestLabelsAreComplete(t *testing.T) {
	en, ur := languageByCode("en"), languageByCode("ur")
	if d := ur.Dir; d != "rtl" {
		t.Errorf("Urdu direction: got %q, want rtl", d)
	}
	placeholders := regexp.MustCompile(`\{\d\}`)
	for _, k := range slices.Sorted(maps.Keys(en.labels)) {
		u, ok := ur.labels[k]
		if !ok {
			t.Errorf("%s: no Urdu label", k)
			continue
		}
		if a, b := placeholders.FindAllString(en.labels[k], -1), placeholders.FindAllString(u, -1); !sameSet(a, b) {
			t.Errorf("%s: placeholders %v in English, %v in Urdu", k, a, b)
		}
		// Written in Urdu script, except the few labels that are only
		// placeholders.
		if k != "date.short" && !strings.ContainsFunc(u, func(r rune) bool { return unicode.Is(unicode.Arabic, r) }) {
			t.Errorf("%s: Urdu label %q has no Urdu script", k, u)
		}
	}
	for k := range ur.labels {
		if _, ok := en.labels[k]; !ok {
			t.Errorf("%s: Urdu label without an English one", k)
		}
	}
	// Every reason the access package can give has a label.
	reasons := []string{"window_end", "daily_cutoff", "max_session", "member_removed", "seat_removed"}
	for _, r := range append(reasonsOf(), reasons...) {
		if _, ok := en.labels["reason."+r]; !ok {
			t.Errorf("reason %s has no label", r)
		}
	}
}

func sameSet(a, b []string) bool {
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func TestTf(t *testing.T) {
	ur := languageByCode("ur")
	if got, want := ur.Tf("seats.summary", 3, 24), "24 میں سے 3 نشستیں زیرِ استعمال"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := ur.T("no.such.key"); !strings.HasPrefix(got, missingLabel) {
		t.Errorf("a missing key: got %q, want it marked", got)
	}
}

func reasonsOf() []string {
	var out []string
	for _, r := range access.DenyReasons() {
		out = append(out, string(r))
	}
	return out
}

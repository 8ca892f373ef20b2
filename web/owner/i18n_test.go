package owner

import (
	"strings"
	"testing"
	"unicode"

	"github.com/pkfreelance/seatgate/access"
	"github.com/pkfreelance/seatgate/web/i18n"
)

func TestLabelsAreComplete(t *testing.T) {
	for _, p := range languages.Check() {
		t.Error(p)
	}
	en, ur := languages.ByCode("en"), languages.ByCode("ur")
	if d := ur.Dir; d != "rtl" {
		t.Errorf("Urdu direction: got %q, want rtl", d)
	}
	// Written in Urdu script, except the few labels that are only
	// placeholders.
	for k, u := range ur.Labels() {
		if k != "date.short" && !strings.ContainsFunc(u, func(r rune) bool { return unicode.Is(unicode.Arabic, r) }) {
			t.Errorf("%s: Urdu label %q has no Urdu script", k, u)
		}
	}
	// Every reason the access package can give has a label.
	reasons := []string{"window_end", "daily_cutoff", "max_session", "member_removed", "seat_removed"}
	for _, r := range append(reasonsOf(), reasons...) {
		if !en.Has("reason." + r) {
			t.Errorf("reason %s has no label", r)
		}
	}
}

func TestTf(t *testing.T) {
	ur := languages.ByCode("ur")
	if got, want := ur.Tf("seats.summary", 3, 24), "24 میں سے 3 نشستیں زیرِ استعمال"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := ur.T("no.such.key"); !strings.HasPrefix(got, i18n.Missing) {
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

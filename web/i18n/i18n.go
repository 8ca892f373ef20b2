// Package i18n is the labels of the owner's and HQ's dashboards in
// English and Urdu: one JSON object per language (key → text, where {0},
// {1}… stand for Tf's arguments), the language a request asks for (a
// cookie, else the browser's first preference), and the handler that
// switches it.
package i18n

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pkfreelance/seatgate/web/auth"
)

// Language is one set of labels.
type Language struct {
	Code   string // "en", "ur"
	Dir    string // "ltr", "rtl"
	Name   string // the language's own name, for the switch
	labels map[string]string
}

// Set is a dashboard's languages; the first is the default.
type Set struct {
	langs  []*Language
	cookie string
}

// known are the languages of the dashboards, in the order they are
// offered.
var known = []Language{{Code: "en", Dir: "ltr", Name: "English"}, {Code: "ur", Dir: "rtl", Name: "اردو"}}

// MustLoad reads labels/en.json and labels/ur.json from files (a
// dashboard's embedded labels); cookie names the cookie that keeps the
// choice. It panics on a missing or malformed file: they are embedded,
// so that cannot happen in a built binary.
func MustLoad(files fs.FS, cookie string) *Set {
	s := &Set{cookie: cookie}
	for _, l := range known {
		b, err := fs.ReadFile(files, "labels/"+l.Code+".json")
		if err != nil {
			panic(err)
		}
		if err := json.Unmarshal(b, &l.labels); err != nil {
			panic(fmt.Sprintf("labels/%s.json: %v", l.Code, err))
		}
		s.langs = append(s.langs, &l)
	}
	return s
}

// All returns the languages, the default first.
func (s *Set) All() []*Language { return s.langs }

// ByCode returns the language of code, or nil.
func (s *Set) ByCode(code string) *Language {
	for _, l := range s.langs {
		if l.Code == code {
			return l
		}
	}
	return nil
}

// Pick returns the language of a request: the cookie, else Urdu when the
// browser's first preference is Urdu, else the default.
func (s *Set) Pick(r *http.Request) *Language {
	if c, err := r.Cookie(s.cookie); err == nil {
		if l := s.ByCode(c.Value); l != nil {
			return l
		}
	}
	if al := strings.ToLower(strings.TrimSpace(r.Header.Get("Accept-Language"))); strings.HasPrefix(al, "ur") {
		return s.ByCode("ur")
	}
	return s.langs[0]
}

// Choose serves GET /lang/{code}: it remembers the language for a year
// and goes back to the page it was chosen on (?back=, a local path). It
// needs no session (the login page has the switch too) and reveals
// nothing.
func (s *Set) Choose(w http.ResponseWriter, r *http.Request) {
	l := s.ByCode(r.PathValue("code"))
	if l == nil {
		http.Error(w, "no such language", http.StatusNotFound)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookie, Value: l.Code, Path: "/", MaxAge: 365 * 24 * 3600,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, HttpOnly: true})
	http.Redirect(w, r, auth.LocalPath(r.URL.Query().Get("back")), http.StatusSeeOther)
}

// Missing marks a key without a label, so tests can find it.
const Missing = "⟦"

// T returns the label of key.
func (l *Language) T(key string) string {
	if s, ok := l.labels[key]; ok {
		return s
	}
	return Missing + key + "⟧"
}

// Tf returns the label of key with {0}, {1}… replaced by args.
func (l *Language) Tf(key string, args ...any) string {
	s := l.T(key)
	for i, a := range args {
		s = strings.ReplaceAll(s, "{"+strconv.Itoa(i)+"}", fmt.Sprint(a))
	}
	return s
}

// Or returns the label of prefix+key, or key itself when there is none
// (a state, phase or reason this version does not know).
func (l *Language) Or(prefix, key string) string {
	if s, ok := l.labels[prefix+key]; ok {
		return s
	}
	return key
}

// Has reports whether key has a label.
func (l *Language) Has(key string) bool {
	_, ok := l.labels[key]
	return ok
}

// Date writes a civil date as "26 Nov" (labels date.short and month.1…12).
func (l *Language) Date(t time.Time) string {
	return l.Tf("date.short", t.Day(), l.T("month."+strconv.Itoa(int(t.Month()))))
}

// Age writes a duration roughly, in its largest unit (labels age.s,
// age.min, age.h, age.d).
func (l *Language) Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return l.Tf("age.s", int(d/time.Second))
	case d < time.Hour:
		return l.Tf("age.min", int(d/time.Minute))
	case d < 48*time.Hour:
		return l.Tf("age.h", int(d/time.Hour))
	}
	return l.Tf("age.d", int(d/(24*time.Hour)))
}

// placeholder is {0}, {1}… in a label.
var placeholder = regexp.MustCompile(`\{\d\}`)

// Check reports every way the languages' labels differ: a key one has and
// another has not, or a label with other placeholders than the default
// language's. The dashboards' tests call it.
func (s *Set) Check() []string {
	var out []string
	def := s.langs[0]
	for _, l := range s.langs[1:] {
		for _, k := range slices.Sorted(maps.Keys(def.labels)) {
			u, ok := l.labels[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s: no %s label", k, l.Code))
				continue
			}
			if a, b := placeholders(def.labels[k]), placeholders(u); !slices.Equal(a, b) {
				out = append(out, fmt.Sprintf("%s: placeholders %v in %s, %v in %s", k, a, def.Code, b, l.Code))
			}
		}
		for _, k := range slices.Sorted(maps.Keys(l.labels)) {
			if _, ok := def.labels[k]; !ok {
				out = append(out, fmt.Sprintf("%s: %s label without a %s one", k, l.Code, def.Code))
			}
		}
	}
	return out
}

// Labels returns a copy of the language's labels (for tests).
func (l *Language) Labels() map[string]string { return maps.Clone(l.labels) }

// placeholders are the distinct placeholders of a label, sorted.
func placeholders(s string) []string {
	p := placeholder.FindAllString(s, -1)
	slices.Sort(p)
	return slices.Compact(p)
}

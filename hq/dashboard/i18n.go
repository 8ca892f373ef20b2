package dashboard

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	webauth "github.com/pkfreelance/seatgate/web/auth"
)

// The labels of every page, one JSON object per language in labels/:
// key → text, where {0}, {1}… stand for Tf's arguments. Both files have
// the same keys (a test checks).
//
//go:embed labels/*.json
var labelFiles embed.FS

// language is one set of labels.
type language struct {
	Code   string // "en", "ur"
	Dir    string // "ltr", "rtl"
	Name   string // the language's own name, for the switch
	labels map[string]string
}

// languages are the dashboard's languages; the first is the default.
var languages = func() []*language {
	var out []*language
	for _, l := range []struct{ code, dir, name string }{{"en", "ltr", "English"}, {"ur", "rtl", "اردو"}} {
		b, err := labelFiles.ReadFile("labels/" + l.code + ".json")
		if err != nil {
			panic(err) // embedded: cannot happen in a built binary
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("labels/%s.json: %v", l.code, err))
		}
		out = append(out, &language{Code: l.code, Dir: l.dir, Name: l.name, labels: m})
	}
	return out
}()

func languageByCode(code string) *language {
	for _, l := range languages {
		if l.Code == code {
			return l
		}
	}
	return nil
}

// missingLabel marks a key without a label, so tests can find it.
const missingLabel = "⟦"

// T returns the label of key.
func (l *language) T(key string) string {
	if s, ok := l.labels[key]; ok {
		return s
	}
	return missingLabel + key + "⟧"
}

// Tf returns the label of key with {0}, {1}… replaced by args.
func (l *language) Tf(key string, args ...any) string {
	s := l.T(key)
	for i, a := range args {
		s = strings.ReplaceAll(s, "{"+strconv.Itoa(i)+"}", fmt.Sprint(a))
	}
	return s
}

// Or returns the label of prefix+key, or key itself when there is none
// (a state or phase this version does not know).
func (l *language) Or(prefix, key string) string {
	if s, ok := l.labels[prefix+key]; ok {
		return s
	}
	return key
}

// Age writes a duration roughly, in its largest unit.
func (l *language) Age(d time.Duration) string {
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

// langCookie keeps the chosen language for a year.
const langCookie = "seathq_lang"

// lang picks the language of a request: the cookie, else Urdu when the
// browser's first preference is Urdu, else English.
func lang(r *http.Request) *language {
	if c, err := r.Cookie(langCookie); err == nil {
		if l := languageByCode(c.Value); l != nil {
			return l
		}
	}
	if al := strings.ToLower(strings.TrimSpace(r.Header.Get("Accept-Language"))); strings.HasPrefix(al, "ur") {
		return languageByCode("ur")
	}
	return languages[0]
}

// setLang remembers the language chosen and goes back to the page it was
// chosen on. It needs no session (the login page has the switch too) and
// reveals nothing.
func setLang(w http.ResponseWriter, r *http.Request) {
	l := languageByCode(r.PathValue("code"))
	if l == nil {
		http.Error(w, "no such language", http.StatusNotFound)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l.Code, Path: "/", MaxAge: 365 * 24 * 3600,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, HttpOnly: true})
	http.Redirect(w, r, webauth.LocalPath(r.URL.Query().Get("back")), http.StatusSeeOther)
}

package dashboard

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/pkfreelance/seatgate/web/i18n"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// templates are the pages and the fragments the live stream sends.
var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"pct":   pct,
	"hours": hours,
	"clock": func(t time.Time, loc *time.Location) string {
		if t.IsZero() {
			return "—"
		}
		return t.In(loc).Format("15:04:05")
	},
	"datetime": func(t time.Time, loc *time.Location) string {
		if t.IsZero() {
			return "—"
		}
		return t.In(loc).Format("2006-01-02 15:04")
	},
	"ago": func(l *i18n.Language, now, t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return l.Age(max(now.Sub(t), 0))
	},
	"secs": func(l *i18n.Language, s int64) string { return l.Age(time.Duration(s) * time.Second) },
	"join": strings.Join,
	"groupTable": func(l *i18n.Language, groups []Group, kind string) groupTable {
		return groupTable{L: l, Groups: groups, Kind: kind}
	},
}).ParseFS(templateFiles, "templates/*.html"))

// groupTable is the data of the template "groups": the groups by city
// or by tier.
type groupTable struct {
	L      *i18n.Language
	Groups []Group
	Kind   string // "city" or "tier"
}

// Languages are the languages a page offers.
func (p pageData) Languages() []*i18n.Language { return languages.All() }

// pct writes a share as a whole percentage ("—" for NaN or infinity).
func pct(f float64) string {
	if f != f || f > 1e6 || f < -1e6 {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", f*100)
}

// hours writes seat-seconds as hours with one decimal.
func hours(secs int64) string { return fmt.Sprintf("%.1f", float64(secs)/3600) }

// render writes the page template name with p.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name string, p pageData) {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, p); err != nil {
		d.log.Error("dashboard: render", "page", name, "err", err)
		http.Error(w, "internal error (see seathq's log)", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fragment renders the template name with p, for the live stream.
func fragment(name string, p pageData) (string, error) {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, p); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return buf.String(), nil
}

// staticHandler serves the embedded style sheet and script.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // no listings
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

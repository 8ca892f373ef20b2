package owner

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"

	"github.com/pkfreelance/seatgate/web/i18n"
)

// Every page is the layout around one content template. Templates call
// {{.L.T "key"}} for labels, so one parsed set serves both languages.
//
//go:embed templates/*.html
var templateFiles embed.FS

// pageNames are the pages; each is templates/<name>.html.
var pageNames = []string{"seats", "today", "charts", "plans", "health", "login"}

type pageSet map[string]*template.Template

func parsePages() (pageSet, error) {
	ps := pageSet{}
	for _, name := range pageNames {
		t, err := template.New(name).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		ps[name] = t
	}
	return ps, nil
}

// pageData is what the layout and every page see.
type pageData struct {
	L        *i18n.Language
	Langs    []*i18n.Language
	Page     string // the page's name, for the navigation
	Title    string // label key of the title
	Path     string // the request's path and query, to come back to after a language switch
	LoggedIn bool
	CSRF     string
	Emulator bool
	Body     any
}

// render writes a page. It renders into a buffer first, so that a
// template error is a clean 500, not half a page.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, code int, name, title string, body any) {
	s := sessionOf(r)
	data := pageData{L: languages.Pick(r), Langs: languages.All(), Page: name, Title: title, Path: r.URL.RequestURI(),
		LoggedIn: s.CSRF != "", CSRF: s.CSRF, Emulator: d.o.Emulator != nil, Body: body}
	var buf bytes.Buffer
	if err := d.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		d.log.Error("owner dashboard: render page", "page", name, "err", err)
		http.Error(w, "500 the page could not be rendered", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// fail answers a page whose data could not be read.
func (d *Dashboard) fail(w http.ResponseWriter, what string, err error) {
	d.log.Error("owner dashboard: "+what, "err", err)
	http.Error(w, "500 "+what+" failed; see the gateway's log", http.StatusInternalServerError)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (d *Dashboard) seatsPage(w http.ResponseWriter, r *http.Request) {
	l := languages.Pick(r)
	m, err := d.seatMap(l)
	if err != nil {
		d.fail(w, "read the seat map", err)
		return
	}
	body := struct {
		Map   seatMap
		Panel *emulatorPanel
	}{Map: m}
	if d.o.Emulator != nil {
		p, err := d.emulatorPanel(m)
		if err != nil {
			d.fail(w, "read the cards for the emulator", err)
			return
		}
		body.Panel = &p
	}
	d.render(w, r, http.StatusOK, "seats", "seats.title", body)
}

func (d *Dashboard) seatsJSON(w http.ResponseWriter, r *http.Request) {
	m, err := d.seatMap(languages.Pick(r))
	if err != nil {
		d.log.Error("owner dashboard: seat map", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "read the seat map: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (d *Dashboard) todayPage(w http.ResponseWriter, r *http.Request) {
	v, err := d.today(languages.Pick(r))
	if err != nil {
		d.fail(w, "read today's events", err)
		return
	}
	d.render(w, r, http.StatusOK, "today", "today.title", v)
}

func (d *Dashboard) chartsPage(w http.ResponseWriter, r *http.Request) {
	v, err := d.charts(languages.Pick(r))
	if err != nil {
		d.fail(w, "compute the charts", err)
		return
	}
	d.render(w, r, http.StatusOK, "charts", "charts.title", v)
}

func (d *Dashboard) plansPage(w http.ResponseWriter, r *http.Request) {
	v, err := d.plansEnding(languages.Pick(r))
	if err != nil {
		d.fail(w, "read the plans ending", err)
		return
	}
	d.render(w, r, http.StatusOK, "plans", "plans.title", v)
}

func (d *Dashboard) healthPage(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, http.StatusOK, "health", "health.title", d.health(languages.Pick(r)))
}

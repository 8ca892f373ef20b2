package dashboard

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/pkfreelance/seatgate/sync/wire"
	webauth "github.com/pkfreelance/seatgate/web/auth"
	"github.com/pkfreelance/seatgate/web/i18n"
)

// Handler serves the dashboard. Mount it at "/" beside the JSON API: it
// answers no path under /api/ and not /healthz.
//
//	GET  /                    national overview
//	GET  /centres/{centre}    a centre
//	GET  /rollouts            firmware rollouts
//	GET  /events?topic=…      the pages' live stream (SSE)
//	GET  /login, POST /login  log in; POST /logout
//	GET  /lang/{en|ur}        choose the language
//	GET  /static/…            style sheet and script
//
// Every page and the stream need a session; only the login page, the
// language switch and the static files do not. POSTs from another origin
// are refused.
func (d *Dashboard) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.auth.requirePage(d.overviewPage))
	mux.HandleFunc("GET /centres/{centre}", d.auth.requirePage(d.centrePage))
	mux.HandleFunc("GET /rollouts", d.auth.requirePage(d.rolloutsPage))
	mux.HandleFunc("GET /events", d.auth.requireData(d.stream))
	mux.HandleFunc("GET /login", d.loginPage)
	mux.HandleFunc("POST /login", d.login)
	mux.HandleFunc("POST /logout", d.logout)
	mux.HandleFunc("GET /lang/{code}", languages.Choose)
	mux.Handle("GET /static/", staticHandler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "refused: a request from another site", http.StatusForbidden)
	}))
	return securityHeaders(cop.Handler(mux))
}

// contentSecurity allows only the dashboard's own script and style sheet:
// no inline script, no other site.
const contentSecurity = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurity)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

// maxForm bounds the login form: a user, a password and a path.
const maxForm = 8 << 10

func (d *Dashboard) overviewPage(w http.ResponseWriter, r *http.Request) {
	now := d.o.Now()
	ov := d.overview(r.Context(), now)
	p := d.page(r, "overview.title", "/events?topic=overview")
	p.Body = ov
	d.render(w, r, http.StatusOK, "overview", p)
}

func (d *Dashboard) centrePage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("centre")
	if !wire.ValidID(id) {
		d.notFound(w, r)
		return
	}
	now := d.o.Now()
	v := d.centreLive(r.Context(), id, now)
	if !v.Enrolled && !v.Listed {
		d.notFound(w, r)
		return
	}
	d.centreLedger(r.Context(), &v, now)
	p := d.page(r, "", "/events?topic=centre&centre="+id)
	p.Title = centreName(v.Centre)
	p.Loc = v.Centre.Location()
	p.Body = v
	d.render(w, r, http.StatusOK, "centre", p)
}

func centreName(c Centre) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// RolloutsView is the rollouts page: the rollouts, or why they could not
// be read.
type RolloutsView struct {
	Rows  []RolloutRow
	Error bool
}

func (d *Dashboard) rolloutsView(r *http.Request) RolloutsView {
	rows, err := d.rolloutRows(r.Context())
	if err != nil {
		d.rlog.Log(slog.LevelWarn, "rollouts", "dashboard: cannot read the rollouts", "err", err)
		return RolloutsView{Error: true}
	}
	return RolloutsView{Rows: rows}
}

func (d *Dashboard) rolloutsPage(w http.ResponseWriter, r *http.Request) {
	p := d.page(r, "rollouts.title", "/events?topic=rollouts")
	p.Body = d.rolloutsView(r)
	d.render(w, r, http.StatusOK, "rollouts", p)
}

func (d *Dashboard) notFound(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, http.StatusNotFound, "notfound", d.page(r, "notfound.title", ""))
}

// loginView is the login page's body.
type loginView struct {
	Next    string
	User    string
	Message string // why the last attempt failed, localised
}

func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	next := webauth.LocalPath(r.URL.Query().Get("next"))
	if _, ok := d.auth.session(r, false); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	p := d.page(r, "login.title", "")
	p.Body = loginView{Next: next}
	d.render(w, r, http.StatusOK, "login", p)
}

// login checks the form. Every answer but success renders the login
// page again; a locked-out address gets 429 with Retry-After.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	l := languages.Pick(r)
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	next := webauth.LocalPath(r.PostFormValue("next"))
	user := r.PostFormValue("user")
	fail := func(status int, msg string) {
		p := d.page(r, "login.title", "")
		p.Body = loginView{Next: next, User: user, Message: msg}
		d.render(w, r, status, "login", p)
	}
	token, err := d.auth.login(r.Context(), webauth.ClientIP(r), user, r.PostFormValue("password"))
	var locked *lockedError
	switch {
	case errors.As(err, &locked):
		secs := int(math.Ceil(locked.wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		fail(http.StatusTooManyRequests, l.Tf("login.locked", secs))
	case errors.Is(err, errWrongPassword):
		fail(http.StatusUnauthorized, l.T("login.wrong"))
	case errors.Is(err, ErrNoUsers):
		fail(http.StatusServiceUnavailable, l.T("login.nousers"))
	case r.Context().Err() != nil:
		return
	case err != nil:
		d.log.Error("dashboard login", "err", err)
		fail(http.StatusInternalServerError, l.T("login.error"))
	default:
		d.auth.setCookie(w, r, token)
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	d.auth.logout(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// page is the frame of a page: language, title, user and live stream.
func (d *Dashboard) page(r *http.Request, titleKey, stream string) pageData {
	l := languages.Pick(r)
	p := pageData{L: l, Path: r.URL.RequestURI(), Stream: stream, Now: d.o.Now(), Loc: defaultLocation, User: sessionOf(r).User}
	if titleKey != "" {
		p.Title = l.T(titleKey)
	}
	return p
}

// pageData is what every template gets.
type pageData struct {
	L      *i18n.Language
	Title  string
	User   string // "" before login
	Path   string // this page, to come back to after a language switch
	Stream string // the live stream's URL; "" for none
	Now    time.Time
	Loc    *time.Location // times are shown in it
	Body   any
}

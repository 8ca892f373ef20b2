package owner

import (
	"context"
	"crypto/subtle"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/pkfreelance/seatgate/web/auth"
)

type ctxKey struct{}

// sessionOf returns the session that page or data let through.
func sessionOf(r *http.Request) session {
	s, _ := r.Context().Value(ctxKey{}).(session)
	return s
}

func (d *Dashboard) session(r *http.Request, touch bool) (session, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return session{}, false
	}
	return d.sessions.Lookup(c.Value, touch)
}

// page lets a request with a session through to h; any other is sent to
// the login page, which returns here afterwards.
func (d *Dashboard) page(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := d.session(r, true)
		if !ok {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s)))
	}
}

// data lets a request with a session through to h; any other gets 401.
// The live stream does not count as activity: an open seat map alone
// does not keep a session from expiring.
func (d *Dashboard) data(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := d.session(r, r.URL.Path != "/events")
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "log in first: no valid owner session"})
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s)))
	}
}

// csrf requires the session's CSRF token, in the X-CSRF-Token header or
// the csrf form field, on top of the same-origin check every
// state-changing request passes.
func (d *Dashboard) csrf(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("X-CSRF-Token")
		if got == "" {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			got = r.PostFormValue("csrf")
		}
		if want := sessionOf(r).CSRF; want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "missing or wrong CSRF token: reload the page"})
			return
		}
		h(w, r)
	}
}

// maxForm bounds a form: a password and two short fields.
const maxForm = 8 << 10

type loginData struct {
	Next    string
	Message string // why the last attempt failed, localised
}

func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := d.session(r, false); ok {
		http.Redirect(w, r, auth.LocalPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	d.render(w, r, http.StatusOK, "login", "login.title", loginData{Next: auth.LocalPath(r.URL.Query().Get("next"))})
}

// login checks the password. Every answer but success renders the login
// page again; a locked-out client gets 429 with Retry-After and its
// password is not even hashed.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	l := languages.Pick(r)
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	next := auth.LocalPath(r.PostFormValue("next"))
	fail := func(code int, key string, args ...any) {
		d.render(w, r, code, "login", "login.title", loginData{Next: next, Message: l.Tf(key, args...)})
	}
	client := auth.ClientIP(r)
	if wait := d.limiter.Wait(client); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		fail(http.StatusTooManyRequests, "login.locked", secs)
		return
	}
	ok, err := checkPassword(r.Context(), d.verify, d.o.DataDir, r.PostFormValue("password"))
	switch {
	case err != nil && errors.Is(err, r.Context().Err()): // the client has gone
		return
	case errors.Is(err, ErrNoPassword):
		fail(http.StatusServiceUnavailable, "login.nopassword")
		return
	case err != nil:
		d.log.Error("owner login: password file", "err", err)
		fail(http.StatusInternalServerError, "login.error")
		return
	case !ok:
		lock := d.limiter.Failed(client)
		d.log.Warn("owner login: wrong password", "client", client, "lock", lock)
		if lock > 0 {
			secs := int(math.Ceil(lock.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			fail(http.StatusTooManyRequests, "login.locked", secs)
			return
		}
		fail(http.StatusUnauthorized, "login.wrong")
		return
	}
	d.limiter.Succeeded(client)
	token, _ := d.sessions.Create("")
	d.log.Info("owner login", "client", client)
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: token, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(sessionMax / time.Second),
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		d.sessions.End(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

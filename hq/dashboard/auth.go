package dashboard

// The login, kept apart from the pages so that it can move to a package
// shared with the owner dashboard (web/owner): accounts in UsersFile
// (password.go), hashes, sessions in memory and a per-address limit on
// wrong passwords from web/auth. The pages use only newAuth, login,
// session, logout and the requirePage and requireData wrappers.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	webauth "github.com/pkfreelance/seatgate/web/auth"
)

// cookieName is the session cookie.
const cookieName = "seathq_session"

// maxVerifying bounds the Argon2id hashes computed at once: each takes
// 64 MiB (webauth.DefaultParams).
const maxVerifying = 2

// errWrongPassword is a login with an unknown user or a wrong password;
// the two are not told apart.
var errWrongPassword = errors.New("wrong user or password")

// lockedError is a login refused because its address failed too often.
type lockedError struct{ wait time.Duration }

func (e *lockedError) Error() string {
	return fmt.Sprintf("too many wrong passwords from this address: try again in %v", e.wait)
}

// auth checks logins and holds the sessions.
type auth struct {
	usersFile string
	log       *slog.Logger
	sessions  *webauth.Sessions
	limiter   *webauth.Limiter
	verifying *webauth.Verifier
	dummy     webauth.Hash // hashed for an unknown user, so it takes as long as a known one
}

func newAuth(secretsDir string, now func() time.Time, lg *slog.Logger) *auth {
	dummy := webauth.Hash{Params: webauth.DefaultParams, Salt: make([]byte, webauth.SaltLen), Key: make([]byte, webauth.KeyLen)}
	return &auth{
		usersFile: filepath.Join(secretsDir, UsersFile), log: lg,
		sessions: newSessions(now), limiter: webauth.NewLimiter(now),
		verifying: webauth.NewVerifier(maxVerifying), dummy: dummy,
	}
}

// login checks user's password, from client's address, and starts a
// session: its cookie token. Errors: *lockedError (the address must
// wait; the password was not even looked at), errWrongPassword,
// ErrNoUsers, or a problem with the users file.
func (a *auth) login(ctx context.Context, client, user, password string) (string, error) {
	if wait := a.limiter.Wait(client); wait > 0 {
		return "", &lockedError{wait}
	}
	data, err := os.ReadFile(a.usersFile)
	if errors.Is(err, os.ErrNotExist) {
		return "", ErrNoUsers
	}
	if err != nil {
		return "", fmt.Errorf("dashboard accounts: %w", err)
	}
	users, err := parseUsers(data, a.usersFile)
	if err != nil {
		return "", fmt.Errorf("dashboard accounts: %w", err)
	}
	if len(users) == 0 {
		return "", ErrNoUsers
	}
	h, known := users[user]
	if !known || len(password) > MaxPasswordLen {
		h = a.dummy
		for _, u := range users { // as costly as a real account's
			h.Params = u.Params
			break
		}
	}
	matches, err := a.verifying.Matches(ctx, h, password)
	if err != nil {
		return "", err
	}
	if ok := matches && known && len(password) <= MaxPasswordLen; !ok {
		lock := a.limiter.Failed(client)
		a.log.Warn("dashboard login: wrong user or password", "client", client, "user", clip(user, 32), "lock", lock)
		if lock > 0 {
			return "", &lockedError{lock}
		}
		return "", errWrongPassword
	}
	a.limiter.Succeeded(client)
	a.log.Info("dashboard login", "client", client, "user", user)
	token, _ := a.sessions.Create(user)
	return token, nil
}

// setCookie hands the browser its session token.
func (a *auth) setCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: token, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(sessionMax / time.Second),
	})
}

// session returns the request's session if it has a valid one; touch
// counts the request as activity.
func (a *auth) session(r *http.Request, touch bool) (session, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return session{}, false
	}
	return a.sessions.Lookup(c.Value, touch)
}

// valid reports whether the session of r's cookie is still valid, not
// counting it as activity (the live stream asks this every tick).
func (a *auth) valid(r *http.Request) bool {
	_, ok := a.session(r, false)
	return ok
}

// logout ends the request's session and clears its cookie.
func (a *auth) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		a.sessions.End(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

type sessionKey struct{}

// sessionOf returns the session requirePage or requireData let through.
func sessionOf(r *http.Request) session {
	s, _ := r.Context().Value(sessionKey{}).(session)
	return s
}

// requirePage lets a request with a session through to h; any other is
// sent to the login page, which comes back here afterwards.
func (a *auth) requirePage(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := a.session(r, true)
		if !ok {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
	}
}

// requireData lets a request with a session through to h; any other gets
// 401. The request does not count as activity: an open page's live
// stream alone does not keep its session from expiring.
func (a *auth) requireData(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := a.session(r, false)
		if !ok {
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "log in first: no valid dashboard session", http.StatusUnauthorized)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
	}
}

// clip shortens s to at most n bytes for a log line.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

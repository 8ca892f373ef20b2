package dashboard

import (
	"time"

	webauth "github.com/pkfreelance/seatgate/web/auth"
)

// Sessions live in memory only (webauth.Sessions): a restart of seathq logs
// everyone out.
const (
	sessionIdle = 8 * time.Hour  // ended after this long without a request
	sessionMax  = 24 * time.Hour // ended this long after login, however busy
	maxSessions = 1024           // the oldest is ended to make room
)

// session is one logged-in browser; User is the account it logged in as.
type session = webauth.Session

func newSessions(now func() time.Time) *webauth.Sessions {
	return webauth.NewSessions(webauth.SessionLimits{Idle: sessionIdle, Max: sessionMax, Count: maxSessions}, now)
}

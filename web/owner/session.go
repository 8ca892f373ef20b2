package owner

import (
	"time"

	"github.com/pkfreelance/seatgate/web/auth"
)

// Sessions live in memory only (auth.Sessions): a restart logs the owner
// out.
const (
	cookieName  = "seatgate_owner"
	sessionIdle = 12 * time.Hour     // ended after this long without a request
	sessionMax  = 7 * 24 * time.Hour // ended this long after login, however busy
	maxSessions = 64                 // the oldest is ended to make room
)

// session is one logged-in browser. CSRF is the token that its
// state-changing requests must carry.
type session = auth.Session

func newSessions(now func() time.Time) *auth.Sessions {
	return auth.NewSessions(auth.SessionLimits{Idle: sessionIdle, Max: sessionMax, Count: maxSessions}, now)
}

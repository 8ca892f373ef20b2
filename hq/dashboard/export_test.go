package dashboard

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	webauth "github.com/pkfreelance/seatgate/web/auth"
)

// WriteCheapUsers writes UsersFile in dir with name → password hashed at
// the lowest cost parsePHC accepts, so tests log in quickly.
func WriteCheapUsers(dir string, users map[string]string) error {
	var lines []string
	for name, pw := range users {
		h := webauth.HashWith(pw, webauth.CheapestParams, []byte("0123456789abcdef"))
		lines = append(lines, name+":"+h.String())
	}
	slices.Sort(lines)
	return os.WriteFile(filepath.Join(dir, UsersFile), []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

// OverviewAt is the national overview at now.
func (d *Dashboard) OverviewAt(now time.Time) Overview { return d.overview(context.Background(), now) }

// CentreAt is a centre's page at now, ledger included.
func (d *Dashboard) CentreAt(id string, now time.Time) CentreView {
	v := d.centreLive(context.Background(), id, now)
	d.centreLedger(context.Background(), &v, now)
	return v
}

// Session limits, for the expiry tests.
const (
	SessionIdle  = sessionIdle
	SessionMax   = sessionMax
	FreeFailures = webauth.FreeFailures
	FirstLock    = webauth.FirstLock
)

// LabelProblems lists how the languages' labels differ (web/i18n Check).
func LabelProblems() []string { return languages.Check() }

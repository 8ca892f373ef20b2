package auth

import (
	"net"
	"net/http"
	"strings"
)

// ClientIP is the address a request came from, the key of a Limiter.
// Forwarding headers are not believed: the dashboards are served
// directly, and behind a reverse proxy every client would share its
// address, and so its login limit.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// LocalPath returns p if it is a path on this server, else "/": a login
// page's next (or a language switch's back) must not send anyone to
// another site.
func LocalPath(p string) string {
	bad := func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsFunc(p, bad) {
		return "/"
	}
	return p
}

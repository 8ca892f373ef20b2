package dashboard

import (
	"strings"
	"testing"

	webauth "github.com/pkfreelance/seatgate/web/auth"
)

// FuzzParseUsers: parsing never panics, and every account it accepts has
// a valid name and a hash that writes back to itself (web/auth tests
// the hash's bounds).
func FuzzParseUsers(f *testing.F) {
	f.Add("# analysts\nayesha:$argon2id$v=19$m=65536,t=2,p=2$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43) + "\n")
	f.Add("a:$argon2id$v=19$m=8192,t=1,p=1$MDEyMzQ1Njc$AAAAAAAAAAAAAAAAAAAAAA\r\nb:x\n")
	f.Add("a:b:c\n\n")
	f.Fuzz(func(t *testing.T, s string) {
		users, err := parseUsers([]byte(s), "users")
		if err != nil {
			return
		}
		for name, h := range users {
			if ValidUser(name) != nil {
				t.Fatalf("accepted user %q", name)
			}
			if h.Memory < webauth.MinMemory || h.Memory > webauth.MaxMemory || h.Time < 1 || h.Time > webauth.MaxTime || h.Threads < 1 {
				t.Fatalf("accepted parameters m=%d t=%d p=%d", h.Memory, h.Time, h.Threads)
			}
			back, err := webauth.ParseHash(h.String())
			if err != nil || back.String() != h.String() {
				t.Fatalf("%s does not parse back: %v", h.String(), err)
			}
		}
	})
}

package auth_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pkfreelance/seatgate/web/auth"
)

func TestClientIP(t *testing.T) {
	for addr, want := range map[string]string{"192.0.2.7:51000": "192.0.2.7", "[2001:db8::1]:443": "2001:db8::1", "pipe": "pipe"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = addr
		r.Header.Set("X-Forwarded-For", "203.0.113.9")
		if got := auth.ClientIP(r); got != want {
			t.Errorf("%s: got %q, want %q", addr, got, want)
		}
	}
}

// FuzzLocalPath: whatever comes in, what goes out is a path on this
// server.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/", "/charts?x=1", "//evil.example", "/\\evil", "https://evil.example", "/\t/evil", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := auth.LocalPath(s)
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\t\r\n") {
			t.Fatalf("LocalPath(%q) = %q: not a local path", s, p)
		}
		if p != "/" && p != s {
			t.Fatalf("LocalPath(%q) = %q: changed a path it accepted", s, p)
		}
	})
}

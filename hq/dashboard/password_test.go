package dashboard_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/hq/dashboard"
)

func TestSetPasswordRefuses(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, user, pw, want string }{
		{"short", "ayesha", "eleven char", "11 characters is too short"},
		{"short in characters", "ayesha", "پاس ورڈ ہے", "too short"},
		{"long", "ayesha", strings.Repeat("x", dashboard.MaxPasswordLen+1), "too long"},
		{"no user", "", "a long enough password", "want 1 to 32 characters"},
		{"capitals", "Ayesha", "a long enough password", "want a-z"},
		{"colon", "a:b", "a long enough password", "want a-z"},
		{"leading dot", ".ayesha", "a long enough password", "starting with a letter or digit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := dashboard.SetPassword(dir, tt.user, tt.pw)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, dashboard.UsersFile)); !os.IsNotExist(err) {
		t.Errorf("a refused password wrote the file: %v", err)
	}
}

// TestSetPassword sets a password with the real cost, keeps the other
// accounts and comments, and the new password logs in.
func TestSetPassword(t *testing.T) {
	e := newEnv(t, time.Hour)
	path := filepath.Join(e.dir, dashboard.UsersFile)
	old, _ := os.ReadFile(path)
	if err := os.WriteFile(path, append([]byte("# HQ analysts\n"), old...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := dashboard.SetPassword(e.dir, "bilal", "a brand new password"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode: got %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 || lines[0] != "# HQ analysts" || !strings.HasPrefix(lines[1], user+":$argon2id$") ||
		!strings.HasPrefix(lines[2], "bilal:$argon2id$v=19$m=65536,t=2,p=2$") {
		t.Errorf("file:\n%s", b)
	}
	if resp := e.login(e.client(), "bilal", "a brand new password"); resp.StatusCode != 303 {
		t.Errorf("bilal's login: got %s, want 303", resp.Status)
	}
	if resp := e.login(e.client(), user, password); resp.StatusCode != 303 {
		t.Errorf("the other account's login: got %s, want 303", resp.Status)
	}
}

// TestSetPasswordBadFile: a users file that does not parse is not
// overwritten (it may hold accounts a typo would lose).
func TestSetPasswordBadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, dashboard.UsersFile)
	if err := os.WriteFile(path, []byte("ayesha:not a hash\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := dashboard.SetPassword(dir, "bilal", "a brand new password")
	if err == nil || !strings.Contains(err.Error(), dashboard.UsersFile+":1: user ayesha: password hash") {
		t.Errorf("got %v, want the bad line named", err)
	}
}

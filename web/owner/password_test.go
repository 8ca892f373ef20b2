package owner

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParsePHC(t *testing.T) {
	const salt, key = "c2FsdHNhbHRzYWx0c2FsdA", "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	ok := "$argon2id$v=19$m=65536,t=2,p=2$" + salt + "$" + key
	h, err := parsePHC(ok)
	if err != nil {
		t.Fatalf("%s: %v", ok, err)
	}
	if h.memory != 65536 || h.time != 2 || h.threads != 2 || string(h.salt) != "saltsaltsaltsalt" || len(h.key) != 32 {
		t.Errorf("parsed: got %+v", h)
	}
	if h.String() != ok {
		t.Errorf("String: got %q, want %q", h.String(), ok)
	}
	tests := []struct{ name, s, says string }{
		{"empty", "", "not a PHC string"},
		{"argon2i", "$argon2i$v=19$m=65536,t=2,p=2$" + salt + "$" + key, "want argon2id"},
		{"old version", "$argon2id$v=16$m=65536,t=2,p=2$" + salt + "$" + key, "version"},
		{"parameters out of order", "$argon2id$v=19$t=2,m=65536,p=2$" + salt + "$" + key, "want m="},
		{"memory too large", "$argon2id$v=19$m=4194304,t=2,p=2$" + salt + "$" + key, "memory"},
		{"memory too small", "$argon2id$v=19$m=64,t=2,p=2$" + salt + "$" + key, "memory"},
		{"no time", "$argon2id$v=19$m=65536,t=0,p=2$" + salt + "$" + key, "time"},
		{"too many passes", "$argon2id$v=19$m=65536,t=1000,p=2$" + salt + "$" + key, "time"},
		{"no lanes", "$argon2id$v=19$m=65536,t=2,p=0$" + salt + "$" + key, "parallelism"},
		{"negative", "$argon2id$v=19$m=-1,t=2,p=2$" + salt + "$" + key, "not a number"},
		{"padded salt", "$argon2id$v=19$m=65536,t=2,p=2$" + salt + "==$" + key, "salt"},
		{"short salt", "$argon2id$v=19$m=65536,t=2,p=2$c2FsdA$" + key, "salt"},
		{"short hash", "$argon2id$v=19$m=65536,t=2,p=2$" + salt + "$aGFzaA", "hash"},
		{"extra field", ok + "$x", "not a PHC string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parsePHC(tt.s); err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("got %v, want an error saying %q", err, tt.says)
			}
		})
	}
}

func TestCheckPassword(t *testing.T) {
	dir := t.TempDir()
	if _, err := checkPassword(dir, "anything at all"); err != ErrNoPassword {
		t.Errorf("no file: got %v, want ErrNoPassword", err)
	}
	if err := SetPassword(dir, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	for pw, want := range map[string]bool{
		"correct horse battery":               true,
		"correct horse battery ":              false,
		"Correct horse battery":               false,
		"":                                    false,
		strings.Repeat("x", MaxPasswordLen+1): false,
	} {
		if got, err := checkPassword(dir, pw); got != want || err != nil {
			t.Errorf("%.30q: got %v %v, want %v", pw, got, err, want)
		}
	}
	path := filepath.Join(dir, PasswordFile)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte("argon2id"), []byte("bcrypt"), 1), 0o600)
	if _, err := checkPassword(dir, "correct horse battery"); err == nil || !strings.Contains(err.Error(), PasswordFile) {
		t.Errorf("a damaged file: got %v, want an error naming it", err)
	}
}

// FuzzParsePHC: parsing never panics, and whatever parses writes back
// to a string that parses to the same hash.
func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=2,p=2$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
	f.Add("$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2i$v=19$m=65536,t=2,p=2$$")
	f.Add("$argon2id$v=19$m=99999999999,t=2,p=2$a$b")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			return
		}
		again, err := parsePHC(h.String())
		if err != nil {
			t.Fatalf("%q parsed, but its String %q does not: %v", s, h.String(), err)
		}
		if again.String() != h.String() {
			t.Fatalf("round trip: %q became %q", h.String(), again.String())
		}
	})
}

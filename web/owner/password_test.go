package owner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkfreelance/seatgate/web/auth"
)

func TestCheckPassword(t *testing.T) {
	dir := t.TempDir()
	if _, err := checkPassword(context.Background(), auth.NewVerifier(1), dir, "anything at all"); err != ErrNoPassword {
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
		if got, err := checkPassword(context.Background(), auth.NewVerifier(1), dir, pw); got != want || err != nil {
			t.Errorf("%.30q: got %v %v, want %v", pw, got, err, want)
		}
	}
	path := filepath.Join(dir, PasswordFile)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte("argon2id"), []byte("bcrypt"), 1), 0o600)
	if _, err := checkPassword(context.Background(), auth.NewVerifier(1), dir, "correct horse battery"); err == nil || !strings.Contains(err.Error(), PasswordFile) {
		t.Errorf("a damaged file: got %v, want an error naming it", err)
	}
}

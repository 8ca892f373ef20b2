package auth_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pkfreelance/seatgate/web/auth"
)

func TestWriteSecretFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	for _, data := range []string{"first\n", "second\n"} {
		if err := auth.WriteSecretFile(path, []byte(data)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != data {
			t.Errorf("got %q %v, want %q", b, err, data)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("mode: got %v, want 0600", fi.Mode().Perm())
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left %d files in the directory, want 1", len(entries))
	}
	if err := auth.WriteSecretFile(filepath.Join(dir, "missing", "secret"), nil); err == nil {
		t.Errorf("a missing directory: got no error")
	}
}

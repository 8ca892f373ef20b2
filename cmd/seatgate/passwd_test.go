package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPasswdStoresAnArgon2idHash(t *testing.T) {
	cfg := writeConfig(t, "c1")
	var out, errb bytes.Buffer
	if err := cmdPasswd([]string{"--config", cfg}, strings.NewReader("short\n"), &out, &errb); err == nil {
		t.Error("a 5-character password was accepted")
	}
	if err := cmdPasswd([]string{"--config", cfg}, strings.NewReader("correct horse battery\n"), &out, &errb); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(cfg), "data", "owner-password"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "$argon2id$") || strings.Contains(string(b), "correct horse") {
		t.Errorf("password file %q: want an argon2id hash, never the password", b)
	}
	fi, _ := os.Stat(filepath.Join(filepath.Dir(cfg), "data", "owner-password"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %v, want 0600", fi.Mode().Perm())
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPasswdAddsADashboardAccount(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "seathq.yaml")
	os.WriteFile(cfg, []byte("data_dir: "+filepath.Join(dir, "data")+"\nsecrets_dir: "+filepath.Join(dir, "secrets")+"\n"), 0o600)
	var out, errb bytes.Buffer
	if err := cmdPasswd([]string{"--config", cfg, "--user", "analyst"}, strings.NewReader("too short\n"), &out, &errb); err == nil {
		t.Error("a 9-character password was accepted")
	}
	if err := cmdPasswd([]string{"--config", cfg}, strings.NewReader("long enough password\n"), &out, &errb); err == nil {
		t.Error("no --user was accepted")
	}
	if err := cmdPasswd([]string{"--config", cfg, "--user", "analyst"}, strings.NewReader("long enough password\n"), &out, &errb); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "secrets", "dashboard-users"))
	if err != nil || !strings.HasPrefix(string(b), "analyst:$argon2id$") || strings.Contains(string(b), "long enough") {
		t.Errorf("dashboard-users = %q, %v: want analyst with an argon2id hash", b, err)
	}
}

package identity

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v, want 0600", err, st.Mode().Perm())
	}
	k2, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Public().Equal(k2.Public()) || k1.ID() != k2.ID() || len(k1.ID()) != 16 {
		t.Errorf("second load gave another key: %s vs %s", k1.ID(), k2.ID())
	}
	msg := []byte("batch")
	if !ed25519.Verify(k2.Public(), msg, ed25519.Sign(k1.Private, msg)) {
		t.Error("signature by the created key does not verify with the loaded one")
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestDamagedKeyIsNotReplaced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, KeyFile)
	os.WriteFile(path, []byte("garbage"), 0o600)
	_, err := LoadOrCreate(dir)
	if err == nil || !strings.Contains(err.Error(), "re-enrol") {
		t.Fatalf("damaged key: err = %v, want an error saying what to do", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "garbage" {
		t.Error("damaged key file was overwritten")
	}
}

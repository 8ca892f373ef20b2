package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pkfreelance/seatgate/cmd/seatgate/internal/config"
	"github.com/pkfreelance/seatgate/sync/journal"
)

func runCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestCommands(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantOut   string
		wantUsage bool
	}{
		{"version", []string{"version"}, "seatgate dev", false},
		{"help", []string{"help"}, "seatgate run --config FILE", false},
		{"no command", nil, "", true},
		{"unknown command", []string{"serve"}, "", true},
		{"members without import", []string{"members", "export"}, "", true},
		{"run with arguments", []string{"run", "--config", "x.yaml", "extra"}, "", true},
		{"run with a bad flag", []string{"run", "--konfig", "x.yaml"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runCmd(t, tt.args...)
			if got := errors.Is(err, errUsage); got != tt.wantUsage {
				t.Fatalf("err = %v, want usage error %v", err, tt.wantUsage)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout %q does not contain %q", out, tt.wantOut)
			}
		})
	}
}

var hqPub, hqKey, _ = ed25519.GenerateKey(nil)

func writeConfig(t *testing.T, centre string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "seatgate.yaml")
	cfg := "centre: " + centre + "\ngateway: gw-1\ndata_dir: " + filepath.Join(dir, "data") +
		"\nreaders:\n  - {id: desk-1, seat: A-01, zone: A, kind: emulated}\n" +
		"hq:\n  hq_key: " + base64.StdEncoding.EncodeToString(hqPub) + "\n"
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunRejectsBadConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(p, []byte("centre: c1\ngateway: g1\nreaders: []\nlisten: x\n"), 0o600)
	_, _, err := runCmd(t, "run", "--config", p)
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *config.Error", err)
	}
	if !strings.Contains(err.Error(), "bad.yaml:") {
		t.Errorf("error %q does not name the file and line", err)
	}
}

func TestMembersImport(t *testing.T) {
	cfg := writeConfig(t, "lhr-01")
	snap := filepath.Join(t.TempDir(), "snap.json")
	good := `{"centre":"lhr-01","revision":3,"generated_at":"2026-11-26T09:00:00+05:00",
"plans":[{"id":"day","name":"Day","days":["mon"],"windows":[{"start":"09:00","end":"18:00"}],"grace_days":1,"price_pkr":3500}],
"members":[{"id":"m-1","name":"A","status":"active","plan":"day","valid_from":"2026-11-01","valid_until":"2026-11-30","seats":{"kind":"any"},
"cards":[{"uid":"04a1b2c3","revoked":false},{"uid":"04:A1:B2:C4","revoked":true}]}]}`
	os.WriteFile(snap, []byte(good), 0o600)
	// Not signed: refused, unless the development flag says so (loudly).
	if _, _, err := runCmd(t, "members", "import", "--config", cfg, snap); !errors.Is(err, journal.ErrSnapshotSignature) {
		t.Fatalf("unsigned import: %v, want ErrSnapshotSignature", err)
	}
	if _, stderr, err := runCmd(t, "members", "import", "--allow-unsigned", "--config", cfg, snap); err != nil || !strings.Contains(stderr, "WARNING") {
		t.Fatalf("unsigned import with --allow-unsigned: %v, stderr %q", err, stderr)
	}
	// Signed by HQ: accepted; tampered after signing: refused.
	os.WriteFile(snap+journal.SigSuffix, journal.SignSnapshotFile(hqKey, []byte(good)), 0o600)
	out, _, err := runCmd(t, "members", "import", "--config", cfg, snap)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	os.WriteFile(snap, []byte(strings.Replace(good, `"price_pkr":3500`, `"price_pkr":1`, 1)), 0o600)
	if _, _, err := runCmd(t, "members", "import", "--config", cfg, snap); !errors.Is(err, journal.ErrSnapshotSignature) {
		t.Errorf("tampered snapshot: %v, want ErrSnapshotSignature", err)
	}
	os.WriteFile(snap, []byte(good), 0o600)
	if want := "imported 1 members, 2 cards, 1 plans"; !strings.Contains(out, want) {
		t.Errorf("output %q, want %q", out, want)
	}

	other := writeConfig(t, "khi-02")
	if _, _, err := runCmd(t, "members", "import", "--config", other, snap); err == nil || !strings.Contains(err.Error(), `centre "lhr-01"`) {
		t.Errorf("import for another centre: err = %v, want a centre mismatch", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(strings.Replace(good, `"04a1b2c3"`, `"04a1b2"`, 1)), 0o600)
	if _, _, err := runCmd(t, "members", "import", "--allow-unsigned", "--config", cfg, bad); err == nil || !strings.Contains(err.Error(), "cards[0].uid") {
		t.Errorf("import of a bad UID: err = %v, want it to name the card", err)
	}
}

func TestDemoRunsScriptedTaps(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"demo", "--listen", "127.0.0.1:0", "--taps", "6", "--interval", "50ms", "--seed", "3"}, &out, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	lines := 0
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, " → ") {
			lines++
		}
	}
	if lines != 6 {
		t.Errorf("demo printed %d tap lines, want 6:\n%s", lines, out.String())
	}
	if !strings.Contains(out.String(), "/api/v1/seats") {
		t.Errorf("demo did not print where to look")
	}
	if !strings.Contains(out.String(), "took its membership from HQ") {
		t.Errorf("demo did not run with its HQ:\n%s", out.String())
	}
	// Both dashboards, with the password that opens them.
	owner := regexp.MustCompile(`Owner dashboard: (http://\S+)/\s+password: (\S+)`).FindStringSubmatch(out.String())
	hq := regexp.MustCompile(`HQ dashboard:\s+(http://\S+)/\s+user: demo\s+password: (\S+)`).FindStringSubmatch(out.String())
	if owner == nil || hq == nil || owner[2] != hq[2] || len(owner[2]) < 12 {
		t.Errorf("demo did not print both dashboards with a password:\n%s", out.String())
	}
}

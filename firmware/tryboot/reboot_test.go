package tryboot

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRebootCommand(t *testing.T) {
	tests := []struct {
		arg  string
		want []string
	}{
		{"0 tryboot", []string{"systemctl", "reboot", "--reboot-argument=0 tryboot"}},
		{"0", []string{"systemctl", "reboot", "--reboot-argument=0"}},
		{"", []string{"systemctl", "reboot"}},
	}
	for _, tt := range tests {
		cmd := rebootCommand(tt.arg)
		if !slices.Equal(cmd.Args, tt.want) {
			t.Errorf("rebootCommand(%q).Args = %q, want %q", tt.arg, cmd.Args, tt.want)
		}
		if filepath.Base(cmd.Path) != "systemctl" {
			t.Errorf("rebootCommand(%q).Path = %q, want systemctl", tt.arg, cmd.Path)
		}
	}
}

func TestWriteRebootParam(t *testing.T) {
	path := filepath.Join(t.TempDir(), "systemd", "reboot-param")
	read := func() string {
		t.Helper()
		b, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			return "<none>"
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	steps := []struct {
		arg     string
		wantErr bool
		want    string
	}{
		{"0 tryboot", false, "0 tryboot"},
		{"0", false, "0"},
		{"0\ntryboot", true, "0"},
		{strings.Repeat("1", 256), true, "0"},
		{"0 tryböot", true, "0"},
		{"", false, "<none>"},
		{"", false, "<none>"}, // removing what is not there
	}
	for _, s := range steps {
		err := writeRebootParam(path, s.arg)
		if (err != nil) != s.wantErr {
			t.Errorf("writeRebootParam(%q): %v, want error %v", s.arg, err, s.wantErr)
		}
		if got := read(); got != s.want {
			t.Errorf("after writeRebootParam(%q) the file holds %q, want %q", s.arg, got, s.want)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(entries) != 0 {
		t.Errorf("left behind: %v, %v", entries, err)
	}
}

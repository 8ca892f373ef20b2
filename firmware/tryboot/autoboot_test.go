package tryboot

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAutobootResolves(t *testing.T) {
	tests := []struct {
		name         string
		in           string
		normal, tryb int
		ab           bool
	}{
		{"documented layout", layoutDoc, 2, 3, true},
		{"committed 3", "[all]\ntryboot_a_b=1\nboot_partition=3\n[tryboot]\nboot_partition=2\n", 3, 2, true},
		{"no trial armed", layoutIdle, 2, 2, true},
		{"lines before any section are [all]", "tryboot_a_b=1\nboot_partition=3\n", 3, 3, true},
		{"[none] is never applied", "[all]\nboot_partition=2\n[none]\nboot_partition=3\ntryboot_a_b=1\n", 2, 2, false},
		{"a later [all] overrides [tryboot]", "[tryboot]\nboot_partition=3\n[all]\nboot_partition=2\ntryboot_a_b=1\n", 2, 2, true},
		{"last line wins", "boot_partition=2\nboot_partition=3\ntryboot_a_b=0\ntryboot_a_b=1\n", 3, 3, true},
		{"tryboot_a_b under [tryboot]", "boot_partition=2\n[tryboot]\ntryboot_a_b=1\n", 2, 2, true},
		{"tryboot_a_b=0", "[all]\ntryboot_a_b=0\nboot_partition=2\n", 2, 2, false},
		{"comments, blanks, CRLF, indent", "# A/B\r\n\r\n[all]\r\n  tryboot_a_b=1\r\n\tboot_partition=3 \r\n", 3, 3, true},
		{"unknown keys and text are ignored", "[all]\nfoo=bar\ninclude x\nboot_partition=2\n", 2, 2, false},
		{"spaces around = make another key", "[all]\nboot_partition = 3\nboot_partition=2\n", 2, 2, false},
		{"no boot_partition", "[all]\ntryboot_a_b=1\n", 0, 0, true},
		{"empty file", "", 0, 0, false},
		{"no final newline", "boot_partition=2", 2, 2, false},
		{"512 bytes", "boot_partition=2\n" + strings.Repeat("#", 512-len("boot_partition=2\n")), 2, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAutoboot([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseAutoboot: %v", err)
			}
			if got := a.BootPartition(false); got != tt.normal {
				t.Errorf("BootPartition(false) = %d, want %d", got, tt.normal)
			}
			if got := a.BootPartition(true); got != tt.tryb {
				t.Errorf("BootPartition(true) = %d, want %d", got, tt.tryb)
			}
			if got := a.TrybootAB(); got != tt.ab {
				t.Errorf("TrybootAB() = %v, want %v", got, tt.ab)
			}
			if got := string(a.Encode()); got != tt.in {
				t.Errorf("Encode() = %q, want the input %q", got, tt.in)
			}
		})
	}
}

func TestParseAutobootRefuses(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
		key  string
	}{
		{"longer than 512 bytes", "boot_partition=2\n" + strings.Repeat("#", 512), 0, ""},
		{"zero bytes of a cut write", "[all]\nboot_partition=2\n\x00\x00\x00\x00", 3, ""},
		{"control character", "[all]\nboot_part\x01ition=2\n", 2, ""},
		{"DEL", "[all]\x7f\n", 1, ""},
		{"unsupported filter", "[all]\nboot_partition=2\n[pi4]\n", 3, ""},
		{"filter in other case", "[ALL]\n", 1, ""},
		{"filter with a comment", "[all] # x\n", 1, ""},
		{"partition not a number", "boot_partition=two\n", 1, "boot_partition"},
		{"partition empty", "boot_partition=\n", 1, "boot_partition"},
		{"partition negative", "boot_partition=-1\n", 1, "boot_partition"},
		{"partition hex", "boot_partition=0x3\n", 1, "boot_partition"},
		{"partition too high", "boot_partition=129\n", 1, "boot_partition"},
		{"partition too long", "boot_partition=0003\n", 1, "boot_partition"},
		{"partition with a comment", "tryboot_a_b=1\nboot_partition=3 # B\n", 2, "boot_partition"},
		{"tryboot_a_b not 0 or 1", "tryboot_a_b=yes\n", 1, "tryboot_a_b"},
		{"bad value under [none] too", "[none]\ntryboot_a_b=2\n", 2, "tryboot_a_b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseAutoboot([]byte(tt.in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseAutoboot: got %v, want a *ParseError", err)
			}
			if pe.Line != tt.line || pe.Key != tt.key {
				t.Errorf("got line %d key %q, want line %d key %q (%v)", pe.Line, pe.Key, tt.line, tt.key, err)
			}
		})
	}
}

func TestParseErrorSaysWhere(t *testing.T) {
	_, err := ParseAutoboot([]byte("[all]\ntryboot_a_b=1\nboot_partition=x\n"))
	want := `autoboot.txt line 3: boot_partition: not a partition number from 0 to 128 ("boot_partition=x")`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestSetTrybootPartition(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"arm: a section is appended", layoutIdle, 3,
			layoutIdle + "[tryboot]\nboot_partition=3\n"},
		{"arm: the documented line is changed in place", layoutDoc, 2,
			"[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=2\n"},
		{"arm: appended to a trailing [tryboot]", layoutIdle + "[tryboot]\n# trial\n", 3,
			layoutIdle + "[tryboot]\n# trial\nboot_partition=3\n"},
		{"arm: one before [all]'s line would be overridden, so it is replaced",
			"[tryboot]\nboot_partition=2\n[all]\ntryboot_a_b=1\nboot_partition=2\n", 3,
			"[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n"},
		{"arm: duplicates are dropped, the last kept", layoutDoc + "boot_partition=2\n# end\n", 3,
			"[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n# end\n"},
		{"arm: a file without a final newline", "tryboot_a_b=1\nboot_partition=2", 3,
			"tryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n"},
		{"disarm: the line and its empty section go", layoutDoc, 0, layoutIdle},
		{"disarm: a section with comments stays", layoutIdle + "[tryboot]\n# t\nboot_partition=3\n", 0,
			layoutIdle + "[tryboot]\n# t\n"},
		{"disarm: nothing armed", layoutIdle, 0, layoutIdle},
		{"comments and unknown keys are kept", "# A/B\n[all]\nfoo=1\ntryboot_a_b=1\r\nboot_partition=2\r\n", 3,
			"# A/B\n[all]\nfoo=1\ntryboot_a_b=1\r\nboot_partition=2\r\n[tryboot]\nboot_partition=3\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustParse(t, tt.in)
			before := a.BootPartition(false)
			if err := a.SetTrybootPartition(tt.n); err != nil {
				t.Fatal(err)
			}
			if got := string(a.Encode()); got != tt.want {
				t.Errorf("Encode() =\n%q\nwant\n%q", got, tt.want)
			}
			re := mustParse(t, string(a.Encode()))
			wantTry := tt.n
			if tt.n == 0 {
				wantTry = before
			}
			if got := re.BootPartition(true); got != wantTry {
				t.Errorf("BootPartition(true) = %d, want %d", got, wantTry)
			}
			if got := re.BootPartition(false); got != before {
				t.Errorf("BootPartition(false) = %d, want it unchanged, %d", got, before)
			}
		})
	}
}

func TestSetBootPartition(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"commit: changed in place, [tryboot] untouched", layoutDoc, 3,
			"[all]\ntryboot_a_b=1\nboot_partition=3\n[tryboot]\nboot_partition=3\n"},
		{"duplicates are dropped, the last changed", "boot_partition=2\n[all]\nboot_partition=2\ntryboot_a_b=1\n", 3,
			"[all]\nboot_partition=3\ntryboot_a_b=1\n"},
		{"added at the top when missing", "[all]\ntryboot_a_b=1\n", 3,
			"boot_partition=3\n[all]\ntryboot_a_b=1\n"},
		{"empty file", "", 2, "boot_partition=2\n"},
		{"[none] is not [all]", "[none]\nboot_partition=2\n", 3,
			"boot_partition=3\n[none]\nboot_partition=2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustParse(t, tt.in)
			if err := a.SetBootPartition(tt.n); err != nil {
				t.Fatal(err)
			}
			if got := string(a.Encode()); got != tt.want {
				t.Errorf("Encode() =\n%q\nwant\n%q", got, tt.want)
			}
			if got := mustParse(t, string(a.Encode())).BootPartition(false); got != tt.n {
				t.Errorf("BootPartition(false) = %d, want %d", got, tt.n)
			}
		})
	}
}

func TestSettersRefuseBadPartitions(t *testing.T) {
	a := mustParse(t, layoutIdle)
	for _, n := range []int{-1, MaxPartition + 1} {
		if err := a.SetBootPartition(n); err == nil {
			t.Errorf("SetBootPartition(%d): no error", n)
		}
		if err := a.SetTrybootPartition(n); err == nil {
			t.Errorf("SetTrybootPartition(%d): no error", n)
		}
	}
	if got := string(a.Encode()); got != layoutIdle {
		t.Errorf("a refused set changed the file to %q", got)
	}
}

func TestSettersDoNotChangeCopies(t *testing.T) {
	a := mustParse(t, layoutDoc)
	b := a
	if err := b.SetBootPartition(3); err != nil {
		t.Fatal(err)
	}
	if err := b.SetTrybootPartition(0); err != nil {
		t.Fatal(err)
	}
	if got := string(a.Encode()); got != layoutDoc {
		t.Errorf("the copy's setters changed the original to %q", got)
	}
}

func mustParse(t *testing.T, s string) Autoboot {
	t.Helper()
	a, err := ParseAutoboot([]byte(s))
	if err != nil {
		t.Fatalf("ParseAutoboot(%q): %v", s, err)
	}
	return a
}

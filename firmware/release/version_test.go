package release_test

import (
	"testing"

	"github.com/pkfreelance/seatgate/firmware/release"
)

func TestValidVersion(t *testing.T) {
	for _, tt := range []struct {
		v  string
		ok bool
	}{
		{"1.4.2", true},
		{"0", true},
		{"2", true},
		{"0.10.0.3", true},
		{"999999.0.0.999999", true},
		{"", false},
		{"1.04", false},
		{"01", false},
		{"v1.2", false},
		{"1..2", false},
		{"1.2.", false},
		{".1", false},
		{"1.2-rc1", false},
		{"1.2.3.4.5", false},
		{"1000000", false},
		{"1.2 ", false},
		{"+1", false},
		{"-1", false},
		{"١", false}, // Arabic-Indic digit one
	} {
		t.Run(tt.v, func(t *testing.T) {
			err := release.ValidVersion(tt.v)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidVersion(%q) = %v, want ok %v", tt.v, err, tt.ok)
			}
		})
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"1.4.2", "1.4.2", 0},
		{"1.4.2", "1.4.10", -1},
		{"1.10", "1.9", +1},
		{"1.2", "1.2.0", 0},
		{"1.2", "1.2.0.1", -1},
		{"2", "1.999999.999999.999999", +1},
		{"0.0.0.1", "0", +1},
		{"dev", "0", -1},        // invalid below valid
		{"1.04", "0.0.0.0", -1}, // invalid below valid
		{"", "0", -1},
		{"dev", "dev", 0},
		{"abc", "abd", -1}, // two invalid: as strings
	} {
		t.Run(tt.a+"_"+tt.b, func(t *testing.T) {
			if got := release.CompareVersions(tt.a, tt.b); got != tt.want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := release.CompareVersions(tt.b, tt.a); got != -tt.want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
			}
		})
	}
}

package iso14443

import (
	"errors"
	"testing"
)

func TestCRCA(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want [2]byte
	}{
		{"00 00", []byte{0x00, 0x00}, [2]byte{0xA0, 0x1E}},
		{"12 34", []byte{0x12, 0x34}, [2]byte{0x26, 0xCF}},
		{"HLTA", []byte{0x50, 0x00}, [2]byte{0x57, 0xCD}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CRCA(tt.in); got != tt.want {
				t.Errorf("CRCA(% X) = % X, want % X", tt.in, got, tt.want)
			}
			if !CheckCRCA(AppendCRCA(append([]byte{}, tt.in...))) {
				t.Errorf("CheckCRCA rejects its own frame")
			}
		})
	}
	if CheckCRCA([]byte{0x50, 0x00, 0x57, 0xCE}) {
		t.Errorf("CheckCRCA accepted a corrupted HLTA")
	}
}

func TestBCC(t *testing.T) {
	if got := BCC([]byte{0x88, 0x04, 0xA1, 0xB2}); got != 0x88^0x04^0xA1^0xB2 {
		t.Errorf("BCC = %02X", got)
	}
}

func TestParseUID(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"04a1b2c3", "04A1B2C3", false},
		{"04:A1:B2:C3:D4:E5:F6", "04A1B2C3D4E5F6", false},
		{"00 00 00 01", "00000001", false},
		{"0102030405060708090A", "0102030405060708090A", false},
		{"", "", true},
		{"04A1B2", "", true},
		{"zz112233", "", true},
		{"88112233", "", true},
		{"04A1B2C3D4", "", true},
		{"04A1B2883D4E5F", "", true},       // uid3 of a double-size UID
		{"04A1B2C3D4E588112233", "", true}, // uid6 of a triple-size UID
		{"0488B2C3D4E5F6", "0488B2C3D4E5F6", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := CanonicalUID(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("CanonicalUID(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("CanonicalUID(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if _, err := ParseUID("010203"); !errors.Is(err, ErrUIDLength) {
		t.Errorf("ParseUID(3 bytes) error = %v, want ErrUIDLength", err)
	}
}

func TestCascadeLevel(t *testing.T) {
	u := UID{0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18, 0x29}
	want := [][4]byte{{0x88, 0x04, 0xA1, 0xB2}, {0x88, 0xC3, 0xD4, 0xE5}, {0xF6, 0x07, 0x18, 0x29}}
	for i, w := range want {
		if got := u.CascadeLevel(i + 1); got != w {
			t.Errorf("CascadeLevel(%d) = % X, want % X", i+1, got, w)
		}
	}
	u7 := UID{0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6}
	if got := u7.CascadeLevel(2); got != [4]byte{0xC3, 0xD4, 0xE5, 0xF6} {
		t.Errorf("7-byte CascadeLevel(2) = % X", got)
	}
}

func FuzzParseUID(f *testing.F) {
	for _, s := range []string{"04A1B2C3", "04:a1:b2:c3:d4:e5:f6", "", "88000000", "0102030405060708090A0B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUID(s)
		if err != nil {
			return
		}
		if !u.Valid() {
			t.Fatalf("ParseUID(%q) returned invalid uid % X", s, []byte(u))
		}
		again, err := ParseUID(u.String())
		if err != nil || !again.Equal(u) {
			t.Fatalf("canonical form %q does not round-trip: %v", u.String(), err)
		}
	})
}

package tryboot

import (
	"reflect"
	"testing"
)

// FuzzParseAutoboot: ParseAutoboot never panics; what it accepts encodes
// to the same bytes and parses to the same value; and the setters keep
// the file parseable and do what they say.
func FuzzParseAutoboot(f *testing.F) {
	for _, s := range []string{
		layoutIdle, layoutDoc, "", "\n", "boot_partition=2",
		"# c\r\n[all]\r\ntryboot_a_b=1\r\nboot_partition=3\r\n",
		"[tryboot]\nboot_partition=3\n[all]\nboot_partition=2\n[none]\nfoo=bar\n",
		"[pi4]\n", "boot_partition=0x3\n", "\x00\x00", "[tryboot]\n\n[tryboot]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAutoboot(data)
		if err != nil {
			return
		}
		enc := a.Encode()
		if string(enc) != string(data) {
			t.Fatalf("Encode() = %q, want the input %q", enc, data)
		}
		b, err := ParseAutoboot(enc)
		if err != nil {
			t.Fatalf("ParseAutoboot(Encode()): %v", err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("ParseAutoboot(Encode()) = %#v, want %#v", b, a)
		}
		for _, n := range []int{0, 2, 3} {
			normal := a.BootPartition(false)
			c := a
			if err := c.SetTrybootPartition(n); err != nil {
				t.Fatal(err)
			}
			want := n
			if n == 0 {
				want = normal
			}
			check(t, c, normal, want)

			c = a
			if err := c.SetBootPartition(n); err != nil {
				t.Fatal(err)
			}
			if err := c.SetTrybootPartition(0); err != nil {
				t.Fatal(err)
			}
			check(t, c, n, n)
		}
		if got := string(a.Encode()); got != string(data) {
			t.Fatalf("the setters of copies changed the original to %q", got)
		}
	})
}

// check parses c's encoding, when the bootloader could read it, and
// checks both partitions.
func check(t *testing.T, c Autoboot, normal, tryboot int) {
	t.Helper()
	enc := c.Encode()
	if len(enc) > MaxAutobootSize {
		return
	}
	re, err := ParseAutoboot(enc)
	if err != nil {
		t.Fatalf("ParseAutoboot(%q) after a setter: %v", enc, err)
	}
	if got := re.BootPartition(false); got != normal {
		t.Fatalf("%q: BootPartition(false) = %d, want %d", enc, got, normal)
	}
	if got := re.BootPartition(true); got != tryboot {
		t.Fatalf("%q: BootPartition(true) = %d, want %d", enc, got, tryboot)
	}
}

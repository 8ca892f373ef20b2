package auth_test

import (
	"strings"
	"testing"

	"github.com/pkfreelance/seatgate/web/auth"
)

func TestParseHash(t *testing.T) {
	const salt, key = "c2FsdHNhbHRzYWx0c2FsdA", "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	ok := "$argon2id$v=19$m=65536,t=2,p=2$" + salt + "$" + key
	h, err := auth.ParseHash(ok)
	if err != nil {
		t.Fatalf("%s: %v", ok, err)
	}
	if h.Memory != 65536 || h.Time != 2 || h.Threads != 2 || string(h.Salt) != "saltsaltsaltsalt" || len(h.Key) != 32 {
		t.Errorf("parsed: got %+v", h)
	}
	if h.String() != ok {
		t.Errorf("String: got %q, want %q", h.String(), ok)
	}
	good := "$argon2id$v=19$m=65536,t=2,p=2$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43)
	if _, err := auth.ParseHash(good); err != nil {
		t.Fatalf("%s: %v", good, err)
	}
	tests := []struct{ name, s, says string }{
		{"empty", "", "not a PHC string"},
		{"plain", "plain", "not a PHC string"},
		{"argon2i", "$argon2i$v=19$m=65536,t=2,p=2$" + salt + "$" + key, "want argon2id"},
		{"argon2i algorithm", "$argon2i$v=19$m=65536,t=2,p=2$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43), "algorithm"},
		{"old version", "$argon2id$v=16$m=65536,t=2,p=2$" + salt + "$" + key, "version"},
		{"parameters out of order", "$argon2id$v=19$t=2,m=65536,p=2$" + salt + "$" + key, "want m="},
		{"memory too large", "$argon2id$v=19$m=4194304,t=2,p=2$" + salt + "$" + key, "memory"},
		{"memory 1 GiB", "$argon2id$v=19$m=1048576,t=2,p=2$" + salt + "$" + key, "memory"},
		{"memory too small", "$argon2id$v=19$m=64,t=2,p=2$" + salt + "$" + key, "memory"},
		{"no time", "$argon2id$v=19$m=65536,t=0,p=2$" + salt + "$" + key, "time"},
		{"100 passes", "$argon2id$v=19$m=65536,t=100,p=2$" + salt + "$" + key, "time"},
		{"too many passes", "$argon2id$v=19$m=65536,t=1000,p=2$" + salt + "$" + key, "time"},
		{"no lanes", "$argon2id$v=19$m=65536,t=2,p=0$" + salt + "$" + key, "parallelism"},
		{"too many lanes", "$argon2id$v=19$m=65536,t=2,p=17$" + salt + "$" + key, "parallelism"},
		{"negative", "$argon2id$v=19$m=-1,t=2,p=2$" + salt + "$" + key, "not a number"},
		{"padded salt", "$argon2id$v=19$m=65536,t=2,p=2$" + salt + "==$" + key, "salt"},
		{"short salt", "$argon2id$v=19$m=65536,t=2,p=2$c2FsdA$" + key, "salt"},
		{"3-byte salt", "$argon2id$v=19$m=65536,t=2,p=2$MDEy$" + key, "salt"},
		{"short hash", "$argon2id$v=19$m=65536,t=2,p=2$" + salt + "$aGFzaA", "hash"},
		{"3-byte hash", "$argon2id$v=19$m=65536,t=2,p=2$" + salt + "$AAAA", "hash"},
		{"extra field", ok + "$x", "not a PHC string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := auth.ParseHash(tt.s)
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("got %v, want an error saying %q", err, tt.says)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "password hash: ") {
				t.Errorf("got %q, want it to start %q", err, "password hash: ")
			}
		})
	}
}

func TestHashRoundTrip(t *testing.T) {
	h := auth.HashWith("a long enough password", auth.CheapestParams, []byte("0123456789abcdef"))
	back, err := auth.ParseHash(h.String())
	if err != nil {
		t.Fatal(err)
	}
	if !back.Matches("a long enough password") || back.Matches("a long enough passworD") {
		t.Errorf("the parsed hash does not tell the password from another")
	}
	if (auth.Hash{}).Matches("") {
		t.Errorf("the zero Hash matched the empty password")
	}
}

// TestNewHash uses the real cost once: the default parameters, a random
// salt, and only the password matches.
func TestNewHash(t *testing.T) {
	h, err := auth.NewHash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if s := h.String(); !strings.HasPrefix(s, "$argon2id$v=19$m=65536,t=2,p=2$") || strings.Count(s, "$") != 5 {
		t.Errorf("got %q, want $argon2id$v=19$m=65536,t=2,p=2$salt$hash", s)
	}
	if len(h.Salt) != auth.SaltLen || len(h.Key) != auth.KeyLen {
		t.Errorf("salt %d and key %d bytes, want %d and %d", len(h.Salt), len(h.Key), auth.SaltLen, auth.KeyLen)
	}
	for pw, want := range map[string]bool{"correct horse battery": true, "correct horse battery ": false, "Correct horse battery": false, "": false} {
		if got := h.Matches(pw); got != want {
			t.Errorf("%q: got %v, want %v", pw, got, want)
		}
	}
	again, _ := auth.NewHash("correct horse battery")
	if string(again.Salt) == string(h.Salt) {
		t.Errorf("two hashes share the salt %x", h.Salt)
	}
}

// FuzzParseHash: parsing never panics, whatever parses is within the
// bounds, and it writes back to a string that parses to the same hash.
func FuzzParseHash(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=2,p=2$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
	f.Add("$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2i$v=19$m=65536,t=2,p=2$$")
	f.Add("$argon2id$v=19$m=99999999999,t=2,p=2$a$b")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := auth.ParseHash(s)
		if err != nil {
			return
		}
		if h.Memory < auth.MinMemory || h.Memory > auth.MaxMemory || h.Time < 1 || h.Time > auth.MaxTime || h.Threads < 1 || h.Threads > auth.MaxLanes {
			t.Fatalf("accepted parameters m=%d t=%d p=%d", h.Memory, h.Time, h.Threads)
		}
		again, err := auth.ParseHash(h.String())
		if err != nil {
			t.Fatalf("%q parsed, but its String %q does not: %v", s, h.String(), err)
		}
		if again.String() != h.String() {
			t.Fatalf("round trip: %q became %q", h.String(), again.String())
		}
	})
}

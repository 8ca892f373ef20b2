package dashboard

import (
	"strings"
	"testing"
)

func TestParsePHC(t *testing.T) {
	good := "$argon2id$v=19$m=65536,t=2,p=2$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43)
	if _, err := parsePHC(good); err != nil {
		t.Fatalf("%s: %v", good, err)
	}
	for _, tt := range []struct{ hash, want string }{
		{"$argon2i$v=19$m=65536,t=2,p=2$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43), "algorithm"},
		{"$argon2id$v=16$m=65536,t=2,p=2$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43), "version"},
		{"$argon2id$v=19$m=1048576,t=2,p=2$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43), "memory"},
		{"$argon2id$v=19$m=65536,t=100,p=2$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43), "time"},
		{"$argon2id$v=19$m=65536,t=2,p=0$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43), "parallelism"},
		{"$argon2id$v=19$t=2,m=65536,p=2$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43), "want m="},
		{"$argon2id$v=19$m=65536,t=2,p=2$MDEy$" + strings.Repeat("A", 43), "salt"},
		{"$argon2id$v=19$m=65536,t=2,p=2$MDEyMzQ1Njc4OWFiY2RlZg$AAAA", "hash"},
		{"$argon2id$v=19$m=65536,t=2,p=2$MDEyMzQ1Njc4OWFiY2RlZg==$" + strings.Repeat("A", 43), "salt"},
		{"plain", "not a PHC string"},
	} {
		if _, err := parsePHC(tt.hash); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error about %s", tt.hash, err, tt.want)
		}
	}
}

func TestPHCRoundTrip(t *testing.T) {
	h := phc{time: 1, memory: minArgonMemory, threads: 1, salt: []byte("0123456789abcdef")}
	h.key = h.derive("a long enough password", keyLen)
	back, err := parsePHC(h.String())
	if err != nil {
		t.Fatal(err)
	}
	if !back.matches("a long enough password") || back.matches("a long enough passworD") {
		t.Errorf("the parsed hash does not tell the password from another")
	}
}

func FuzzParseUsers(f *testing.F) {
	f.Add("# analysts\nayesha:$argon2id$v=19$m=65536,t=2,p=2$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43) + "\n")
	f.Add("a:$argon2id$v=19$m=8192,t=1,p=1$MDEyMzQ1Njc$AAAAAAAAAAAAAAAAAAAAAA\r\nb:x\n")
	f.Add("a:b:c\n\n")
	f.Fuzz(func(t *testing.T, s string) {
		users, err := parseUsers([]byte(s), "users")
		if err != nil {
			return
		}
		for name, h := range users {
			if ValidUser(name) != nil {
				t.Fatalf("accepted user %q", name)
			}
			if h.memory < minArgonMemory || h.memory > maxArgonMemory || h.time < 1 || h.time > maxArgonTime || h.threads < 1 {
				t.Fatalf("accepted parameters m=%d t=%d p=%d", h.memory, h.time, h.threads)
			}
			back, err := parsePHC(h.String())
			if err != nil || back.String() != h.String() {
				t.Fatalf("%s does not parse back: %v", h.String(), err)
			}
		}
	})
}

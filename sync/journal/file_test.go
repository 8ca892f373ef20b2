package journal_test

import (
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/pkfreelance/seatgate/sync/journal"
)

func TestSnapshotFileSignature(t *testing.T) {
	data := []byte(`{"centre":"lhr-01"}`)
	sig := journal.SignSnapshotFile(hqKey, data)
	if err := journal.VerifySnapshotFile(hqPub, data, sig); err != nil {
		t.Fatalf("good signature: %v", err)
	}
	otherPub, _, _ := ed25519.GenerateKey(nil)
	for name, tc := range map[string]struct {
		pub  ed25519.PublicKey
		data []byte
		sig  []byte
	}{
		"file changed":  {hqPub, []byte(`{"centre":"lhr-02"}`), sig},
		"another key":   {otherPub, data, sig},
		"garbage sig":   {hqPub, data, []byte("not base64!")},
		"empty sig":     {hqPub, data, nil},
		"short pub key": {hqPub[:10], data, sig},
	} {
		if err := journal.VerifySnapshotFile(tc.pub, tc.data, tc.sig); !errors.Is(err, journal.ErrSnapshotSignature) {
			t.Errorf("%s: %v, want ErrSnapshotSignature", name, err)
		}
	}
}

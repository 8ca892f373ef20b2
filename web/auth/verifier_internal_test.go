package auth

import (
	"context"
	"errors"
	"testing"
)

// TestVerifierBounds: with every slot taken a Verifier does not hash but
// returns when the context ends; with a slot free it hashes, and gives
// the slot back.
func TestVerifierBounds(t *testing.T) {
	for n, want := range map[int]int{-1: 1, 0: 1, 1: 1, 3: 3} {
		if got := cap(NewVerifier(n).slots); got != want {
			t.Errorf("NewVerifier(%d): %d slots, want %d", n, got, want)
		}
	}
	h := HashWith("pw", CheapestParams, []byte("0123456789abcdef"))
	v := NewVerifier(1)
	v.slots <- struct{}{} // another login is hashing
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if ok, err := v.Matches(ctx, h, "pw"); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("no free slot, context ended: got %v, %v, want false, context.Canceled", ok, err)
	}
	<-v.slots
	for pw, want := range map[string]bool{"pw": true, "pW": false} {
		if ok, err := v.Matches(context.Background(), h, pw); ok != want || err != nil {
			t.Errorf("%q with a free slot: got %v, %v, want %v, nil", pw, ok, err, want)
		}
	}
	if len(v.slots) != 0 {
		t.Errorf("%d slots still taken after Matches returned, want 0", len(v.slots))
	}
}

package live_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pkfreelance/seatgate/web/live"
)

// TestHub: a full hub refuses a stream; a burst of Notify is one signal
// per stream; a stream that left gets none.
func TestHub(t *testing.T) {
	h := live.NewHub(2)
	a, leaveA, ok1 := h.Subscribe()
	b, leaveB, ok2 := h.Subscribe()
	if _, _, ok := h.Subscribe(); !ok1 || !ok2 || ok {
		t.Fatalf("subscribe: %v %v, third %v; want true true false", ok1, ok2, ok)
	}
	leaveB()
	for range 5 {
		h.Notify()
	}
	if n := len(a); n != 1 {
		t.Errorf("after a burst: %d signals pending, want 1", n)
	}
	if n := len(b); n != 0 {
		t.Errorf("a stream that left got %d signals", n)
	}
	if _, _, ok := h.Subscribe(); !ok {
		t.Error("a place freed by leaving was not given again")
	}
	leaveA()
}

// TestStream: the headers and retry; one event at once; comments only
// every keepAlive quiet refreshes; a signal pushes again; an ended
// session sends "expired" and ends the stream.
func TestStream(t *testing.T) {
	w := httptest.NewRecorder()
	s, err := live.Open(w, 3)
	if s == nil || err != nil {
		t.Fatalf("Open: %v, %v", s, err)
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	changed := make(chan struct{}, 1)
	pushes, alive := 0, true
	push := func() error {
		pushes++
		switch pushes {
		case 1:
			return s.Send("seats", []byte(`{"n":1}`))
		case 8:
			alive = false // the session ends before the next refresh
		}
		return s.Quiet()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(context.Background(), nil, changed, time.Millisecond, func() bool { return alive }, push)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end with the session")
	}
	want := "retry: 2000\n\nevent: seats\ndata: {\"n\":1}\n\n" + strings.Repeat(": still here\n\n", 2) + "event: expired\ndata: {}\n\n"
	if got := w.Body.String(); got != want {
		t.Errorf("stream:\n%q\nwant\n%q", got, want)
	}
}

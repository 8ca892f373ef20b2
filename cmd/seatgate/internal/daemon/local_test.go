package daemon

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAPIOpenOnlyToThisMachine(t *testing.T) {
	open := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	guarded := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	h := localOr(guarded, open)
	for addr, want := range map[string]int{"127.0.0.1:5000": 200, "[::1]:5000": 200, "10.0.0.5:5000": 401,
		"192.168.1.20:40000": 401, "garbage": 401} {
		r := httptest.NewRequest("GET", "/api/v1/seats", nil)
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("from %s: %d, want %d", addr, w.Code, want)
		}
	}
}

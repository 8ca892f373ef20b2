package i18n_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pkfreelance/seatgate/web/i18n"
)

func labels(en, ur string) fstest.MapFS {
	return fstest.MapFS{"labels/en.json": {Data: []byte(en)}, "labels/ur.json": {Data: []byte(ur)}}
}

func TestPickAndChoose(t *testing.T) {
	s := i18n.MustLoad(labels(`{"a":"A"}`, `{"a":"ا"}`), "x_lang")
	for _, tc := range []struct {
		cookie, accept, want string
	}{
		{"", "", "en"},
		{"", "ur-PK,en;q=0.5", "ur"},
		{"", "en-GB,ur;q=0.9", "en"},
		{"ur", "en", "ur"},
		{"fr", "ur", "ur"}, // an unknown cookie is ignored
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if tc.cookie != "" {
			r.AddCookie(&http.Cookie{Name: "x_lang", Value: tc.cookie})
		}
		r.Header.Set("Accept-Language", tc.accept)
		if got := s.Pick(r).Code; got != tc.want {
			t.Errorf("cookie %q, Accept-Language %q: got %s, want %s", tc.cookie, tc.accept, got, tc.want)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /lang/{code}", s.Choose)
	for _, tc := range []struct {
		path, location string
		code           int
	}{
		{"/lang/ur?back=/seats", "/seats", http.StatusSeeOther},
		{"/lang/en?back=https://evil.example/", "/", http.StatusSeeOther},
		{"/lang/fr", "", http.StatusNotFound},
	} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", tc.path, nil))
		if w.Code != tc.code || w.Header().Get("Location") != tc.location {
			t.Errorf("%s: got %d to %q, want %d to %q", tc.path, w.Code, w.Header().Get("Location"), tc.code, tc.location)
		}
		if c := w.Result().Cookies(); tc.code == http.StatusSeeOther && (len(c) != 1 || c[0].Name != "x_lang" || !c[0].HttpOnly) {
			t.Errorf("%s: cookies %v, want one HttpOnly x_lang", tc.path, c)
		}
	}
}

func TestLabelsAndCheck(t *testing.T) {
	s := i18n.MustLoad(labels(`{"n":"{0} of {1}","only.en":"x","date.short":"{0} {1}","month.11":"Nov","age.min":"{0} min"}`,
		`{"n":"{1} میں سے {0}","bad":"{0}","date.short":"{0} {1}","month.11":"نومبر","age.min":"{0} منٹ"}`), "x_lang")
	en, ur := s.ByCode("en"), s.ByCode("ur")
	if got := ur.Tf("n", 3, 24); got != "24 میں سے 3" {
		t.Errorf("Tf: got %q", got)
	}
	if got := en.T("nope"); got != i18n.Missing+"nope⟧" {
		t.Errorf("T of a missing key: got %q", got)
	}
	if got := en.Or("state.", "weird"); got != "weird" {
		t.Errorf("Or without a label: got %q", got)
	}
	if got := ur.Date(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)); got != "26 نومبر" {
		t.Errorf("Date: got %q", got)
	}
	if got := en.Age(5 * time.Minute); got != "5 min" {
		t.Errorf("Age: got %q", got)
	}
	want := []string{"only.en: no ur label", "bad: ur label without a en one"}
	if got := s.Check(); !slices.Equal(got, want) {
		t.Errorf("Check: got %q, want %q", got, want)
	}
	s = i18n.MustLoad(labels(`{"n":"{0}"}`, `{"n":"{1}"}`), "x_lang")
	if got := s.Check(); len(got) != 1 {
		t.Errorf("Check of other placeholders: got %q, want one problem", got)
	}
}

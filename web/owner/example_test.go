package owner_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/pkfreelance/seatgate/access/store"
	"github.com/pkfreelance/seatgate/web/api"
	"github.com/pkfreelance/seatgate/web/owner"
)

// The dashboard is mounted at "/" beside the gateway's JSON API; pages
// ask for the owner's password first.
func Example() {
	dir, err := os.MkdirTemp("", "owner-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(filepath.Join(dir, "seatgate.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	if err := owner.SetPassword(dir, "a long enough password"); err != nil { // seatgate passwd
		log.Fatal(err)
	}
	dash, err := owner.New(owner.Options{Store: st, DataDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer dash.Close() // or http.Server.RegisterOnShutdown(dash.Close)

	apiHandler := api.New(api.Options{Store: st})
	mux := http.NewServeMux()
	mux.Handle("/healthz", apiHandler)
	mux.Handle("/api/v1/", apiHandler)
	mux.Handle("/", dash.Handler())
	// ... and dash.Notify() after every event the gateway commits.

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/today", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location"))
	// Output: 303 /login?next=%2Ftoday
}

package dashboard_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/pkfreelance/seatgate/hq/dashboard"
	"github.com/pkfreelance/seatgate/hq/dashboard/dashboardtest"
)

// ExampleDashboard_Handler mounts the dashboard at "/" beside the JSON
// API, as seathq does. Without a session every page sends the browser to
// the login page.
func ExampleDashboard_Handler() {
	secrets, err := os.MkdirTemp("", "seathq-secrets")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(secrets)

	// seathq passes its *fleet.Tracker, *ledger.Ledger, *rollout.Store and
	// *registry.Registry.
	d, err := dashboard.New(dashboard.Options{
		Fleet: dashboardtest.NewFleet(), Ledger: dashboardtest.NewLedger(),
		Rollouts: &dashboardtest.Rollouts{}, Registry: &dashboardtest.Registry{},
		SecretsDir: secrets, CentresFile: secrets + "/" + dashboard.CentresFile,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	api := http.NotFoundHandler() // httpapi.Handler's
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("/healthz", api)
	mux.Handle("/", d.Handler())

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/centres/lhr-1", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location"))
	// Output: 303 /login?next=%2Fcentres%2Flhr-1
}

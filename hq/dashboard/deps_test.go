package dashboard_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies: the dashboard reads HQ's parts through its own small
// interfaces; it does not reach into seathq's service or JSON API, the
// owner dashboard, or anything that loads from another site.
func TestDependencies(t *testing.T) {
	bad := []string{"github.com/pkfreelance/seatgate/hq/service", "github.com/pkfreelance/seatgate/hq/httpapi",
		"github.com/pkfreelance/seatgate/web/owner", "github.com/pkfreelance/seatgate/web/api", "github.com/chromedp/", "periph.io/", "github.com/eclipse/paho"}
	for _, pkg := range []string{"github.com/pkfreelance/seatgate/hq/dashboard", "github.com/pkfreelance/seatgate/hq/dashboard/dashboardtest"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range bad {
				if strings.HasPrefix(dep, b) {
					t.Errorf("%s depends on %s, want no %s*", pkg, dep, b)
				}
			}
		}
	}
}

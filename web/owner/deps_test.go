package owner

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies: the dashboard reads the store and nothing else of
// the gateway: no reader hardware, no HQ link or firmware agent, no
// browser driver.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "github.com/pkfreelance/seatgate/web/owner").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"periph.io/", "github.com/eclipse/paho", "github.com/nats-io/", "github.com/chromedp/",
			"github.com/pkfreelance/seatgate/sync", "github.com/pkfreelance/seatgate/firmware",
			"github.com/pkfreelance/seatgate/hq", "github.com/pkfreelance/seatgate/cmd"} {
			if strings.HasPrefix(dep, bad) {
				t.Errorf("web/owner depends on %s", dep)
			}
		}
	}
}

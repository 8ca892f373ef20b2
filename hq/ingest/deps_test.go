package ingest_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies: HQ's ingest and ledger know nothing of readers
// (periph), MQTT clients (paho) or the gateway's runtime (its MQTT link and
// outbox); they meet gateways only through sync/wire.
func TestDependencies(t *testing.T) {
	bad := []string{"periph.io/", "github.com/eclipse/paho", "github.com/pkfreelance/seatgate/sync/link",
		"github.com/pkfreelance/seatgate/sync/outbox", "github.com/pkfreelance/seatgate/hq/broker"}
	for _, pkg := range []string{"github.com/pkfreelance/seatgate/hq/ingest", "github.com/pkfreelance/seatgate/hq/ledger"} {
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

package access_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies checks the direction of dependencies: access knows
// nothing of readers (periph), MQTT (paho) or the database (bbolt, which
// only access/store may use).
func TestDependencies(t *testing.T) {
	forbidden := map[string][]string{
		"github.com/pkfreelance/seatgate/access":            {"periph.io/", "github.com/eclipse/paho", "go.etcd.io/bbolt"},
		"github.com/pkfreelance/seatgate/access/accesstest": {"periph.io/", "github.com/eclipse/paho", "go.etcd.io/bbolt"},
		"github.com/pkfreelance/seatgate/access/store":      {"periph.io/", "github.com/eclipse/paho"},
	}
	for pkg, bad := range forbidden {
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

// Package seatgate_test holds repository-wide checks.
package seatgate_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection enforces the architecture: access knows nothing
// of hardware or MQTT, device knows nothing of the database, MQTT or HQ.
func TestDependencyDirection(t *testing.T) {
	// iso14443 is pure protocol arithmetic (CRC, UID form) that access
	// shares so a UID typed at HQ and one read at a desk compare equal.
	allowed := map[string]bool{"github.com/pkfreelance/seatgate/device/iso14443": true}
	rules := []struct {
		pkgs      string
		forbidden []string
	}{
		{"./access/...", []string{"periph.io/", "github.com/eclipse/paho.mqtt.golang", "github.com/nats-io/",
			"github.com/pkfreelance/seatgate/device/", "github.com/pkfreelance/seatgate/sync", "github.com/pkfreelance/seatgate/hq"}},
		{"./device/...", []string{"go.etcd.io/bbolt", "github.com/eclipse/paho.mqtt.golang", "github.com/nats-io/",
			"github.com/pkfreelance/seatgate/access", "github.com/pkfreelance/seatgate/sync", "github.com/pkfreelance/seatgate/hq"}},
		// The gateway's side of the link knows nothing of HQ's code: they
		// share only the protocol (sync/wire).
		{"./sync/...", []string{"github.com/pkfreelance/seatgate/hq", "github.com/nats-io/nats-server"}},
		// The update path trusts only signatures: it knows nothing of the
		// broker, HQ's code or the hardware (the daemon wires it).
		// The login the two dashboards share knows nothing of either side.
		{"./web/auth/...", []string{"github.com/pkfreelance/seatgate/hq", "github.com/pkfreelance/seatgate/device",
			"github.com/pkfreelance/seatgate/sync", "github.com/pkfreelance/seatgate/web/owner"}},
		{"./firmware/...", []string{"github.com/pkfreelance/seatgate/hq", "github.com/pkfreelance/seatgate/sync",
			"github.com/pkfreelance/seatgate/device", "github.com/eclipse/paho.mqtt.golang", "github.com/nats-io/", "periph.io/"}},
	}
	for _, r := range rules {
		t.Run(r.pkgs, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "-test", "-json=ImportPath,Deps,Standard", r.pkgs).Output()
			if err != nil {
				t.Fatalf("go list %s: %v", r.pkgs, err)
			}
			dec := json.NewDecoder(strings.NewReader(string(out)))
			seen := 0
			for dec.More() {
				var p struct {
					ImportPath string
					Standard   bool
				}
				if err := dec.Decode(&p); err != nil {
					t.Fatal(err)
				}
				seen++
				for _, f := range r.forbidden {
					if strings.HasPrefix(p.ImportPath, f) && !allowed[p.ImportPath] {
						t.Errorf("%s depends on %s", r.pkgs, p.ImportPath)
					}
				}
			}
			if seen == 0 {
				t.Fatalf("go list %s listed nothing", r.pkgs)
			}
		})
	}
}

package bridgebench_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the test binary as a gateway process when asked to (see
// startGateway), and otherwise runs the tests, checking for goroutines
// left behind.
func TestMain(m *testing.M) {
	if cfg := os.Getenv(gatewayEnv); cfg != "" {
		os.Exit(gatewayMain(cfg))
	}
	goleak.VerifyTestMain(m)
}

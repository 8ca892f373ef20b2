package broker_test

import (
	"log/slog"
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testLogger sends the broker's log to the test log when
// SEATHQ_TEST_BROKER_LOG is set, and nowhere otherwise.
func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("SEATHQ_TEST_BROKER_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

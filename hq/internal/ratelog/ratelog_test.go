package ratelog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLimitsPerKeyAndCountsSuppressed(t *testing.T) {
	var buf bytes.Buffer
	l := New(slog.New(slog.NewTextHandler(&buf, nil)), 30*time.Millisecond)
	for range 5 {
		l.Log(slog.LevelWarn, "a", "bad batch")
	}
	l.Log(slog.LevelWarn, "b", "other gateway")
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("%d lines, want one per key:\n%s", n, buf.String())
	}
	time.Sleep(40 * time.Millisecond)
	l.Log(slog.LevelWarn, "a", "bad batch")
	if !strings.Contains(buf.String(), "suppressed=4") {
		t.Errorf("log does not count the 4 suppressed lines:\n%s", buf.String())
	}
}

package broker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
)

// serverLog adapts nats-server's Logger to slog. It also remembers the
// first fatal message, which nats-server reports only through its logger,
// so that Start can return it as an error. With a nil slog.Logger it logs
// nothing.
type serverLog struct {
	l     *slog.Logger
	debug bool

	mu         sync.Mutex
	firstFatal string
}

func newServerLog(l *slog.Logger, serverName string) *serverLog {
	sl := &serverLog{}
	if l != nil {
		sl.l = l.With("component", "nats-server", "server", serverName)
		sl.debug = l.Enabled(context.Background(), slog.LevelDebug)
	}
	return sl
}

func (s *serverLog) fatal() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstFatal
}

func (s *serverLog) log(level slog.Level, format string, v []any) {
	if s.l != nil {
		s.l.Log(context.Background(), level, fmt.Sprintf(format, v...))
	}
}

func (s *serverLog) Noticef(format string, v ...any) { s.log(slog.LevelInfo, format, v) }
func (s *serverLog) Warnf(format string, v ...any)   { s.log(slog.LevelWarn, format, v) }
func (s *serverLog) Errorf(format string, v ...any)  { s.log(slog.LevelError, format, v) }
func (s *serverLog) Debugf(format string, v ...any)  { s.log(slog.LevelDebug, format, v) }
func (s *serverLog) Tracef(format string, v ...any)  { s.log(slog.LevelDebug-4, format, v) }

// Fatalf never exits the process: the embedding program decides.
func (s *serverLog) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	s.mu.Lock()
	if s.firstFatal == "" {
		s.firstFatal = msg
	}
	s.mu.Unlock()
	s.log(slog.LevelError, "%s", []any{msg})
}

// Command child stands in for the seatgate binary in the tests of package
// slots. Copies of it in the slots act as versions 1 and 2; what each does
// is read from child.json next to it at every start:
//
//	{"version": "2", "mode": "commit", "after_ms": 50, "code": 75, "reason": "…"}
//
// Modes: run (until SIGTERM), crash (a panic-like line on stderr, exit 2),
// rollback (reason on stderr, exit 76), rollback-state (reason into the
// state's Detail, as the agent does, exit 76), commit (slots.Commit after
// after_ms, then run), update (slots.RequestTrial, exit 75), exit (exit
// with code), hang (run, ignoring SIGTERM).
//
// Every start appends a line to the file given by -log:
//
//	start version=2 slot=b trial=1 notify=… extra=… fallback=… pid=…
//
// (fallback: SEATGATE_FALLBACK with its spaces as underscores).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pkfreelance/seatgate/firmware/slots"
	"github.com/pkfreelance/seatgate/firmware/state"
)

type behaviour struct {
	Version string `json:"version"`
	Mode    string `json:"mode"`
	AfterMS int    `json:"after_ms"`
	Code    int    `json:"code"`
	Reason  string `json:"reason"`
}

func main() {
	dir := flag.String("dir", "", "firmware directory")
	logPath := flag.String("log", "", "file to append a line to at every start")
	flag.Parse()
	if err := run(*dir, *logPath); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
}

func run(dir, logPath string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(exe), "child.json"))
	if err != nil {
		return err
	}
	var bh behaviour
	if err := json.Unmarshal(b, &bh); err != nil {
		return err
	}
	ctx := context.Background()
	if bh.Mode == "hang" {
		signal.Ignore(syscall.SIGTERM)
	} else {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, syscall.SIGTERM)
		defer stop()
	}
	line := fmt.Sprintf("start version=%s slot=%s trial=%s notify=%s extra=%s fallback=%s pid=%d\n", bh.Version,
		os.Getenv(slots.EnvSlot), os.Getenv(slots.EnvTrial), os.Getenv("NOTIFY_SOCKET"), os.Getenv("TESTCHILD_EXTRA"),
		strings.ReplaceAll(os.Getenv(slots.EnvFallback), " ", "_"), os.Getpid())
	if err := appendLine(logPath, line); err != nil {
		return err
	}
	s, err := slots.Open(dir)
	if err != nil {
		return err
	}
	switch bh.Mode {
	case "run", "hang":
	case "crash":
		fmt.Fprintf(os.Stderr, "starting version %s\npanic: boom in version %s\n", bh.Version, bh.Version)
		os.Exit(2)
	case "rollback":
		fmt.Fprintf(os.Stderr, "trial running\n%s\n", bh.Reason)
		os.Exit(slots.ExitRollback)
	case "rollback-state":
		if _, err := s.State().Update(func(st *state.State) error { st.Detail = bh.Reason; return nil }); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "asking for a rollback")
		os.Exit(slots.ExitRollback)
	case "commit":
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Duration(bh.AfterMS) * time.Millisecond):
		}
		if err := s.Commit(time.Now()); err != nil {
			return err
		}
		if err := appendLine(logPath, fmt.Sprintf("committed version=%s\n", bh.Version)); err != nil {
			return err
		}
	case "update":
		if err := s.RequestTrial(time.Now()); err != nil {
			return err
		}
		os.Exit(slots.ExitUpdate)
	case "exit":
		os.Exit(bh.Code)
	default:
		return fmt.Errorf("unknown mode %q", bh.Mode)
	}
	<-ctx.Done()
	return appendLine(logPath, fmt.Sprintf("stopped version=%s\n", bh.Version))
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

package slots

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// maxLine bounds the line lastLine keeps.
const maxLine = 256

// lastLine passes the child's standard error on to w and keeps its last
// non-blank line (at most maxLine bytes of it), which says why a child
// ended more often than not.
type lastLine struct {
	w io.Writer

	mu   sync.Mutex
	cur  []byte // the line being written
	done string // the last complete non-blank line
}

// Write passes p on and never fails: a lost log must not block the child.
func (l *lastLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	for rest := p; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			l.add(rest)
			break
		}
		l.add(rest[:i])
		if s := strings.TrimSpace(string(l.cur)); s != "" {
			l.done = s
		}
		l.cur = l.cur[:0]
		rest = rest[i+1:]
	}
	l.mu.Unlock()
	if l.w != nil {
		l.w.Write(p)
	}
	return len(p), nil
}

func (l *lastLine) add(b []byte) {
	if n := maxLine - len(l.cur); n > 0 {
		l.cur = append(l.cur, b[:min(n, len(b))]...)
	}
}

// last is the last non-blank line, the unfinished one included.
func (l *lastLine) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := strings.TrimSpace(string(l.cur)); s != "" {
		return strings.ToValidUTF8(s, "?")
	}
	return strings.ToValidUTF8(l.done, "?")
}

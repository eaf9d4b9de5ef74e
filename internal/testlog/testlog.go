// Package testlog gives a test a logger that writes into the test's own log, at debug level: what a component
// logged shows next to the failure it explains, and only when the test fails or runs with -v. Only _test.go files
// may import it.
package testlog

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
)

// New returns a logger writing each record, as text, to t.Log. A record logged after the test has ended (by a
// goroutine the test left behind, such as an executor's thread tidying up after its last job) goes to standard
// error, named after the test: testing forbids t.Log then, and the race detector reports it.
func New(t testing.TB) *slog.Logger {
	w := &writer{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.ended = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type writer struct {
	t     testing.TB
	mu    sync.Mutex
	ended bool
}

func (w *writer) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		fmt.Fprintf(os.Stderr, "%s (logged after the test ended): %s\n", w.t.Name(), line)
		return len(p), nil
	}
	w.t.Log(line)
	return len(p), nil
}

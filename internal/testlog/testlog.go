// Package testlog gives a test a logger that writes into the test's own log, at debug level: what a component
// logged shows next to the failure it explains, and only when the test fails or runs with -v. Only _test.go files
// may import it.
package testlog

import (
	"log/slog"
	"strings"
	"testing"
)

// New returns a logger writing each record, as text, to t.Log.
func New(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(writer{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type writer struct{ t testing.TB }

func (w writer) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

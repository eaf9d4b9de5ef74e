//go:build linux

package local_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/gitsource"
)

func TestMain(m *testing.M) {
	local.MaybeRunLauncher()
	os.Exit(m.Run())
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newExecutor returns an executor with the given isolation, its own work dir and git cache.
func newExecutor(t testing.TB, isolation string, gitOpts gitsource.Options) *local.Executor {
	t.Helper()
	gitOpts.Logger = testLogger(t)
	cache, err := gitsource.New(filepath.Join(t.TempDir(), "git"), gitOpts)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := local.New(local.Options{
		WorkDir:   filepath.Join(t.TempDir(), "work"),
		Git:       cache,
		Isolation: isolation,
		Logger:    testLogger(t),
	})
	if err != nil {
		t.Fatalf("local.New(%s): %v", isolation, err)
	}
	return ex
}

//go:build linux

package local_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/testlog"
)

func TestMain(m *testing.M) {
	local.MaybeRunLauncher()
	os.Exit(m.Run())
}

// newExecutor returns an executor with the given isolation, its own work dir and git cache.
func newExecutor(t testing.TB, isolation string, gitOpts gitsource.Options) *local.Executor {
	t.Helper()
	gitOpts.Logger = testlog.New(t)
	cache, err := gitsource.New(filepath.Join(t.TempDir(), "git"), gitOpts)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := local.New(local.Options{
		WorkDir:   filepath.Join(t.TempDir(), "work"),
		Git:       cache,
		Isolation: isolation,
		Logger:    testlog.New(t),
	})
	if err != nil {
		t.Fatalf("local.New(%s): %v", isolation, err)
	}
	return ex
}

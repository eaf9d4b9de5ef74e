package podman_test

import (
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/podman"
	"github.com/runplane/runplane/internal/executor/podman/podmantest"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/testlog"
)

// testLabel marks the containers of one test's executor, so that the test removes whatever it leaves behind.
const testLabel = "runplane.dev/test"

// newExecutor returns an executor with its own work dir and git cache, whose containers the test removes at its
// end. It skips the test without podman (outside CI).
func newExecutor(t testing.TB, tweak func(*podman.Options)) *podman.Executor {
	t.Helper()
	podmantest.BuildImage(t)
	cache, err := gitsource.New(filepath.Join(t.TempDir(), "git"), gitsource.Options{Logger: testlog.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	mark := hex.EncodeToString(b[:])
	opts := podman.Options{
		WorkDir: filepath.Join(t.TempDir(), "work"),
		Git:     cache,
		Labels:  map[string]string{testLabel: mark},
		Logger:  testlog.New(t),
	}
	if tweak != nil {
		tweak(&opts)
	}
	ex, err := podman.New(opts)
	if err != nil {
		t.Fatalf("podman.New: %v", err)
	}
	t.Cleanup(func() {
		podmantest.RemoveLabelled(t, testLabel, mark)
		_ = ex.Close()
	})
	return ex
}

// repo makes a repository with one file on main.
func repo(t testing.TB, files map[string]string) executor.Repo {
	t.Helper()
	return executor.Repo{URL: gittest.URL(gittest.NewRepo(t, files))}
}

const testTimeout = 2 * time.Minute

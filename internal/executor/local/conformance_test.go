//go:build linux

package local_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/executortest"
	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/testlog"
)

func TestConformance(t *testing.T) {
	tests := []struct {
		name string
		opts local.Options
	}{
		{local.IsolationNamespace, local.Options{Isolation: local.IsolationNamespace}},
		// The other places a namespace job's workspace can be (workspace.go).
		{"namespace-tmpfs-per-job", local.Options{Isolation: local.IsolationNamespace, WorkspaceSize: 64 << 20}},
		{"namespace-on-disk", local.Options{Isolation: local.IsolationNamespace, WorkspaceOnDisk: true}},
		{local.IsolationLauncher, local.Options{Isolation: local.IsolationLauncher}},
		{local.IsolationNone, local.Options{Isolation: local.IsolationNone}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			executortest.Run(t, executortest.Config{
				New: func(t *testing.T) executor.Executor {
					cache, err := gitsource.New(filepath.Join(t.TempDir(), "git"), gitsource.Options{Logger: testlog.New(t)})
					if err != nil {
						t.Fatal(err)
					}
					opts := tc.opts
					opts.WorkDir, opts.Git, opts.Logger = filepath.Join(t.TempDir(), "work"), cache, testlog.New(t)
					ex, err := local.New(opts)
					if err != nil {
						t.Fatalf("local.New(%+v): %v", opts, err)
					}
					want := opts.Isolation
					if want == local.IsolationNamespace && os.Geteuid() != 0 {
						want = local.IsolationLauncher // namespaces through the launcher in a user namespace
					}
					if got := ex.Isolation(); got != want {
						t.Fatalf("Isolation() = %q, want %q", got, want)
					}
					return ex
				},
				Repo:           executortest.FileRepo,
				LocalProcesses: true,
			})
		})
	}
}

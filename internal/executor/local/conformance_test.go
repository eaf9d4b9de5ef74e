//go:build linux

package local_test

import (
	"os"
	"testing"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/executortest"
	"github.com/runplane/runplane/internal/executor/local"
	"github.com/runplane/runplane/internal/gitsource"
)

func TestConformance(t *testing.T) {
	for _, iso := range []string{local.IsolationNamespace, local.IsolationLauncher, local.IsolationNone} {
		t.Run(iso, func(t *testing.T) {
			t.Parallel()
			executortest.Run(t, executortest.Config{
				New: func(t *testing.T) executor.Executor {
					ex := newExecutor(t, iso, gitsource.Options{})
					want := iso
					if iso == local.IsolationNamespace && os.Geteuid() != 0 {
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

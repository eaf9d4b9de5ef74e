package podman_test

import (
	"testing"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/executortest"
	"github.com/runplane/runplane/internal/executor/podman/podmantest"
)

func TestConformance(t *testing.T) {
	podmantest.Need(t)
	executortest.Run(t, executortest.Config{
		New:      func(t *testing.T) executor.Executor { return newExecutor(t, nil) },
		Repo:     executortest.FileRepo,
		AllowEnv: []string{"HOSTNAME"}, // podman sets it in every container
		// The containers' processes are this host's: the suite checks in /proc that Stop leaves none.
		LocalProcesses: true,
		Image:          podmantest.Image,
		Timeout:        testTimeout,
	})
}

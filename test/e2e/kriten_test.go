package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

const kritenSuite = "../../hack/kriten-suite.sh"

// TestKritenSuite runs Kriten's own pytest API suite (kriten-io/kriten, directory tests/) against the real binary,
// once on each store, through hack/kriten-suite.sh: it copies the suite, starts `runplane serve`, points the suite's
// conftest.py at it and stops it. The suite is Kriten's, not part of this repository: the test runs where the script
// finds one (KRITEN_TESTS, else a Kriten git repository at KRITEN_REPO, by default the machine's snapshot of
// Kriten) and is skipped where there is none; a KRITEN_TESTS that holds no suite fails it.
func TestKritenSuite(t *testing.T) {
	where, err := exec.Command("bash", kritenSuite, "--where").Output()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		t.Skipf("%s", bytes.TrimSpace(exit.Stderr))
	case errors.As(err, &exit):
		t.Fatalf("kriten-suite.sh --where: %s", bytes.TrimSpace(exit.Stderr))
	case err != nil:
		t.Fatal(err)
	}
	t.Logf("Kriten's suite: %s", bytes.TrimSpace(where))

	for _, tc := range []struct {
		name  string
		store func(t *testing.T) string // RUNPLANE_STORE; "" for the default
	}{
		{name: "sqlite", store: func(*testing.T) string { return "" }},
		{name: "postgres", store: func(t *testing.T) string { return pgtest.NewDatabase(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := append(os.Environ(), "RUNPLANE_BIN="+binary, "RUNPLANE_STORE="+tc.store(t),
				"KRITEN_SERVER_LOG="+filepath.Join(t.TempDir(), "server.log"))
			runKritenSuite(t, env)
		})
	}
}

// runKritenSuite runs hack/kriten-suite.sh with env and fails t if the suite does not pass.
func runKritenSuite(t *testing.T, env []string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "bash", kritenSuite, "-p", "no:warnings")
	// The script stops its server on SIGTERM; a kill would leave it running.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	t.Logf("kriten-suite.sh:\n%s", out)
	if err != nil {
		for _, kv := range env {
			if log, ok := strings.CutPrefix(kv, "KRITEN_SERVER_LOG="); ok {
				if b, rerr := os.ReadFile(log); rerr == nil {
					t.Logf("server log:\n%s", b)
				}
			}
		}
		t.Fatalf("Kriten's API suite failed: %v", err)
	}
}

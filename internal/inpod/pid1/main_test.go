package pid1_test

import (
	"os"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/inpod/pid1"
)

// testMainEnv makes the test binary, re-executed by a test, act as runplane-pid1.
const testMainEnv = "PID1_TEST_MAIN"

// deadline bounds every wait on a real process; a healthy one takes a fraction of it.
const deadline = 30 * time.Second

func TestMain(m *testing.M) {
	if os.Getenv(testMainEnv) == "run" {
		os.Exit(pid1.Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

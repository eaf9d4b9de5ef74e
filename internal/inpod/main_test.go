package inpod_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/inpod"
)

// testMainEnv makes the test binary, re-executed by a test, act as `runplane pod checkout`.
const testMainEnv = "INPOD_TEST_MAIN"

// deadline bounds every wait on a real process; a healthy one takes a fraction of it.
const deadline = 30 * time.Second

func TestMain(m *testing.M) {
	switch os.Getenv(testMainEnv) {
	case "checkout":
		os.Exit(inpod.RunCheckout(context.Background(), os.Getenv, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// envMap is a getenv over a map, for running the commands in the test process.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

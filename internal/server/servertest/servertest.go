// Package servertest starts a real runplane server in-process for other packages' tests, the way net/http/httptest
// starts an HTTP server: on 127.0.0.1:0, with a fresh data dir, stopped when the test ends.
//
// It is test support: only _test.go files may import it, and it must never grow fakes.
package servertest

import (
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/runplane/runplane/internal/server"
)

// RootPassword is the root user's password on every server Start returns.
const RootPassword = "root-password-for-tests"

// Scripts is a repository for test runners: hello.sh returns its input as a ^JSON result, fail.sh exits 3,
// slow.sh runs for two minutes.
var Scripts = map[string]string{
	"hello.sh": "#!/bin/sh\necho \"hello from $RUNPLANE_TASK\"\necho '^JSON'\n" +
		"echo \"{\\\"greeting\\\":\\\"hello\\\",\\\"input\\\":${EXTRA_VARS:-null}}\"\necho '^JSON'\n",
	"fail.sh": "#!/bin/sh\necho 'about to fail'\nexit 3\n",
	"slow.sh": "#!/bin/sh\necho started\nsleep 120\necho never\n",
}

// MaybeRunLauncher makes the test binary act as the local executor's job launcher when it is re-executed as one.
// Call it first in TestMain.
func MaybeRunLauncher() {
	if len(os.Args) > 1 && os.Args[1] == server.LauncherArg {
		os.Exit(server.RunLauncher())
	}
}

// Start runs a real server until the test ends and returns its base URL. edit adjusts the config first.
func Start(t testing.TB, edit ...func(*server.Config)) string {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	if err := os.Chmod(cfg.DataDir, 0o700); err != nil { // the server warns about a group-readable data dir
		t.Fatal(err)
	}
	cfg.RootPassword = RootPassword
	for _, e := range edit {
		e(&cfg)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.Open(t.Context(), cfg, logger, io.Discard)
	if err != nil {
		t.Fatalf("server.Open: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(t.Context()) }()
	t.Cleanup(func() {
		if err := <-done; err != nil && !strings.Contains(err.Error(), "context canceled") {
			t.Errorf("server.Run: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("server.Close: %v", err)
		}
	})
	return srv.URL()
}

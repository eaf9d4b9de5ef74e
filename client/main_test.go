package client_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/server"
)

func TestMain(m *testing.M) {
	// Jobs re-execute this test binary as their launcher.
	if len(os.Args) > 1 && os.Args[1] == server.LauncherArg {
		os.Exit(server.RunLauncher())
	}
	os.Exit(m.Run())
}

const rootPassword = "root-password-for-tests"

// scripts is the repository the test runner points at.
var scripts = map[string]string{
	"hello.sh": "#!/bin/sh\necho \"hello from $RUNPLANE_TASK\"\necho '^JSON'\n" +
		"echo \"{\\\"greeting\\\":\\\"hello\\\",\\\"input\\\":${EXTRA_VARS:-null}}\"\necho '^JSON'\n",
	"fail.sh": "#!/bin/sh\necho 'about to fail'\nexit 3\n",
	"slow.sh": "#!/bin/sh\necho started\nsleep 120\necho never\n",
}

const greetSchema = `{"type":"object","properties":{"name":{"type":"string"},"count":{"type":"integer"}},"required":["name"]}`

// startServer runs a real server on a free port with a fresh data dir until the test ends.
func startServer(t *testing.T, edit ...func(*server.Config)) string {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	if err := os.Chmod(cfg.DataDir, 0o700); err != nil { // the server warns about a group-readable data dir
		t.Fatal(err)
	}
	cfg.RootPassword = rootPassword
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
	return "http://" + srv.Addr()
}

// newClient returns a client for url logged in as root.
func newClient(t *testing.T, url string) *client.Client {
	t.Helper()
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(t.Context(), api.Login{Username: "root", Password: rootPassword}); err != nil {
		t.Fatalf("Login: %v", err)
	}
	return c
}

// fixture is a server with runner "scripts" and tasks hello (synchronous), fail, slow and greet (with a schema).
type fixture struct {
	url    string
	gitURL string
	c      *client.Client
}

func setup(t *testing.T, edit ...func(*server.Config)) fixture {
	t.Helper()
	f := fixture{url: startServer(t, edit...), gitURL: gittest.URL(gittest.NewRepo(t, scripts))}
	f.c = newClient(t, f.url)
	ctx := t.Context()
	if _, err := f.c.CreateRunner(ctx, api.Runner{Name: "scripts", Image: "alpine", GitURL: f.gitURL}); err != nil {
		t.Fatalf("CreateRunner: %v", err)
	}
	for _, task := range []api.Task{
		{Name: "hello", Runner: "scripts", Command: "./hello.sh", Synchronous: true},
		{Name: "fail", Runner: "scripts", Command: "./fail.sh", Synchronous: true},
		{Name: "slow", Runner: "scripts", Command: "./slow.sh"},
		{Name: "greet", Runner: "scripts", Command: "./hello.sh", Synchronous: true, Schema: json.RawMessage(greetSchema)},
	} {
		if _, err := f.c.CreateTask(ctx, task); err != nil {
			t.Fatalf("CreateTask(%s): %v", task.Name, err)
		}
	}
	return f
}

// checkStatus fails the test unless err is an *client.Error with the given status code.
func checkStatus(t *testing.T, what string, err error, want int) *client.Error {
	t.Helper()
	ce, ok := err.(*client.Error)
	if !ok {
		t.Fatalf("%s: error = %v (%T), want *client.Error with status %d", what, err, err, want)
	}
	if ce.StatusCode != want {
		t.Fatalf("%s: status = %d (%v), want %d", what, ce.StatusCode, ce, want)
	}
	if ce.Message == "" {
		t.Errorf("%s: empty message", what)
	}
	return ce
}

package client_test

import (
	"encoding/json"
	"github.com/runplane/runplane/internal/server/servertest"
	"os"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/server"
)

func TestMain(m *testing.M) {
	servertest.MaybeRunLauncher()
	os.Exit(m.Run())
}

const rootPassword = servertest.RootPassword

var scripts = servertest.Scripts

const greetSchema = `{"type":"object","properties":{"name":{"type":"string"},"count":{"type":"integer"}},"required":["name"]}`

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
	f := fixture{url: servertest.Start(t, edit...), gitURL: gittest.URL(gittest.NewRepo(t, scripts))}
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

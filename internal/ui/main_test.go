package ui_test

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/server"
	"github.com/runplane/runplane/internal/server/servertest"
)

func TestMain(m *testing.M) {
	servertest.MaybeRunLauncher()
	os.Exit(m.Run())
}

// greetSchema exercises the form renderer: a required string with a pattern, an integer with bounds and a
// default, an enum, a boolean, a secret, a nested object and an array (whose maxItems only the server checks).
const greetSchema = `{"type":"object","required":["name"],"properties":{
 "name":{"type":"string","description":"who to greet","pattern":"^[a-z]+$"},
 "count":{"type":"integer","minimum":1,"maximum":5,"default":2},
 "colour":{"enum":["red","green"]},
 "loud":{"type":"boolean"},
 "password":{"type":"string","format":"password"},
 "place":{"type":"object","properties":{"city":{"type":"string"}}},
 "tags":{"type":"array","items":{"type":"string"},"maxItems":1}}}`

// viewerPassword is the password of "viewer", who may read every task and job but run none.
const viewerPassword = "viewer-password-1234"

// fixture is a server (its config adjusted by setup's edits) with runner "scripts", tasks hello (synchronous), greet (synchronous, with greetSchema)
// and slow (asynchronous), and a user "viewer" who may read them all and run none.
type fixture struct {
	url string
	c   *client.Client // root
}

func setup(t *testing.T, edit ...func(*server.Config)) fixture {
	t.Helper()
	f := fixture{url: servertest.Start(t, edit...)}
	c, err := client.New(f.url)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := c.Login(ctx, api.Login{Username: "root", Password: servertest.RootPassword}); err != nil {
		t.Fatalf("Login: %v", err)
	}
	f.c = c
	git := gittest.URL(gittest.NewRepo(t, servertest.Scripts))
	if _, err := c.CreateRunner(ctx, api.Runner{Name: "scripts", Image: "alpine", GitURL: git, Token: "runner-token-never-shown"}); err != nil {
		t.Fatalf("CreateRunner: %v", err)
	}
	for _, task := range []api.Task{
		{Name: "hello", Runner: "scripts", Command: "./hello.sh", Synchronous: true},
		{Name: "greet", Runner: "scripts", Command: "./hello.sh", Synchronous: true, Schema: json.RawMessage(greetSchema)},
		{Name: "slow", Runner: "scripts", Command: "printf '\\033[31mred line\\033[0m\\n'; for i in $(seq 1 600); do echo tick $i; sleep 0.2; done"},
	} {
		if _, err := c.CreateTask(ctx, task); err != nil {
			t.Fatalf("CreateTask(%s): %v", task.Name, err)
		}
	}
	u, err := c.CreateUser(ctx, api.User{Username: "viewer", Password: viewerPassword, Provider: api.ProviderLocal})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	g, err := c.CreateGroup(ctx, api.Group{Name: "viewers", Provider: api.ProviderLocal, UserIDs: []string{u.ID}})
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	for _, res := range []string{api.ResourceTasks, api.ResourceJobs} {
		r, err := c.CreateRole(ctx, api.Role{Name: "read-" + res, Resource: res, ResourceIDs: []string{"*"}, Access: api.AccessRead})
		if err != nil {
			t.Fatalf("CreateRole: %v", err)
		}
		if _, err := c.CreateRoleBinding(ctx, api.RoleBinding{Name: "viewers-" + res, RoleID: r.ID, GroupID: g.ID}); err != nil {
			t.Fatalf("CreateRoleBinding: %v", err)
		}
	}
	return f
}

// browser is an HTTP client with a cookie jar, signed in as user through the login API (as the UI's page does).
func (f fixture) browser(t *testing.T, user, password string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	body := `{"username":"` + user + `","password":"` + password + `","provider":"local"}`
	req, err := http.NewRequestWithContext(t.Context(), "POST", f.url+"/api/v1/login", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", f.url)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s: status %d", user, resp.StatusCode)
	}
	return hc
}

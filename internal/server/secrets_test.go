package server

import (
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// TestSecretsNeverLeak runs jobs from a private repository with a token and a secret, reads everything the API
// shows about them, and checks that neither the token nor the secret value appears in any answer or in any log
// line, while the job did get both.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const (
		token    = "tok-SEKRET-1234567"
		badToken = "tok-WRONG-7654321"
		apiKey   = "val-SEKRET-abcdefg"
	)
	ts := startServer(t)
	private := gittest.ServeHTTP(t, gittest.NewRepo(t, repoFiles), "", token)
	ts.createRunner(t, api.Runner{Name: "private", GitURL: private, Token: token, Secret: map[string]string{"API_KEY": apiKey}})
	ts.createRunner(t, api.Runner{Name: "locked", GitURL: private, Token: badToken})
	ts.createTask(t, api.Task{Name: "check", Runner: "private", Command: "sh secret.sh " + sha256Hex(apiKey), Synchronous: true})
	ts.createTask(t, api.Task{Name: "denied", Runner: "locked", Command: "sh hello.sh", Synchronous: true})

	ok := finished(t, ts.submit(t, "/api/v1/jobs/check", "", nil))
	if ok.Status != api.JobSucceeded || !strings.Contains(ok.Stdout, "secrets ok") {
		t.Fatalf("secret check job = %+v, want succeeded with \"secrets ok\"", ok)
	}
	bad := finished(t, ts.submit(t, "/api/v1/jobs/denied", "", nil))
	if bad.Status != api.JobFailed {
		t.Errorf("job with a wrong repository token = %s, want failed", bad.Status)
	}

	for _, path := range []string{
		"/api/v1/runners", "/api/v1/runners/private", "/api/v1/runners/private/secret", "/api/v1/runners/locked",
		"/api/v1/tasks", "/api/v1/jobs", "/api/v1/jobs/" + ok.ID, "/api/v1/jobs/" + ok.ID + "/log",
		"/api/v1/jobs/" + bad.ID, "/api/v1/jobs/" + bad.ID + "/log",
	} {
		ts.do(t, req{method: "GET", path: path}).want(t, 200)
	}
	// Updates answer masked objects too.
	ts.do(t, req{method: "PATCH", path: "/api/v1/runners/private", body: `{"image":"x"}`}).want(t, 200)
	ts.do(t, req{method: "POST", path: "/api/v1/runners/private/secret", body: `{"OTHER":"o"}`}).want(t, 200)

	for _, secret := range []string{token, badToken, apiKey} {
		if strings.Contains(ts.seen.String(), secret) {
			t.Errorf("an API answer contains the secret %q", secret)
		}
		if strings.Contains(ts.logs.String(), secret) {
			t.Errorf("the server log contains the secret %q", secret)
		}
	}
}

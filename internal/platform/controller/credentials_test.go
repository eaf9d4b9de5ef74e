package controller_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/platform/controller"
)

// A GitStateStore written as Kratix writes it, with a secretRef and no credentials, pushes with the username and
// password (or token) of the secret of the runner the reference names; the password shows in no status.
func TestGitStoreSecretRef(t *testing.T) {
	const password = "s3cret-Passw0rd-xyz"
	for _, tc := range []struct {
		name   string
		secret map[string]string
	}{
		{"basic auth", map[string]string{"username": "bot", "password": password}},
		{"token", map[string]string{"username": "bot", "token": password}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, false)
			bare := filepath.Join(t.TempDir(), "remote.git")
			gitRun(t, "", "init", "-q", "--bare", "-b", "main", bare)
			gitRun(t, bare, "config", "http.receivepack", "true")
			url := gittest.ServePushHTTP(t, bare, "bot", password)
			if err := e.st.CreateRunner(t.Context(), api.Runner{Name: "git-creds", GitURL: "file:///nonexistent.git",
				Secret: tc.secret}); err != nil {
				t.Fatal(err)
			}
			s := api.StateStore{Kind: api.KindGitStateStore, Name: "remote", URL: url,
				SecretRef: &api.SecretReference{Name: "git-creds", Namespace: "default"}}
			s.Default()
			if err := e.st.CreateStateStore(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			d := api.Destination{Name: "remote-dev", Labels: map[string]string{"environment": "dev", "store": "remote"},
				StateStoreRef: api.StateStoreRef{Kind: api.KindGitStateStore, Name: "remote"}}
			d.Default()
			if err := e.st.CreateDestination(t.Context(), d); err != nil {
				t.Fatal(err)
			}
			c, _ := e.controller(t, controller.Options{})
			render := e.pipeline("render", `echo "name: $KRATIX_OBJECT_NAME" > "$RUNPLANE_OUTPUT_DIR/cache.yaml"
printf -- '- matchLabels: {store: remote}\n' > "$RUNPLANE_METADATA_DIR/destination-selectors.yaml"`)
			p := e.promise(t, api.PromiseWorkflows{Resource: api.WorkflowActions{Configure: []api.Pipeline{render}}})
			e.request(t, c, p, "cache", `{}`, nil)
			st := e.waitFor(t, "cache", "configure completes", completed)
			outs := outputsOf(st)
			if len(outs) != 1 || outs[0].Destination != "remote-dev" || len(outs[0].Version) != 40 {
				t.Fatalf("outputs = %+v, want the file pushed to remote-dev", outs)
			}
			if got := gitRun(t, bare, "cat-file", "blob", "main:"+outs[0].Files[0]); got != "name: cache\n" {
				t.Errorf("%s = %q", outs[0].Files[0], got)
			}
			r, _, _ := e.get(t, "cache")
			if bytes.Contains(r.Status, []byte(password)) {
				t.Errorf("the request's status holds the password: %s", r.Status)
			}
		})
	}
}

// TestGitStoreSecretRefMissing: in embedded mode, while the runner a secretRef names, or its password, is missing,
// or the remote refuses the password, the request's WorksSucceeded condition says so (Kratix's WorksFailing) and
// the write is retried; once the runner's secret holds the password the output is pushed and the condition turns
// True.
func TestGitStoreSecretRefMissing(t *testing.T) {
	const password = "s3cret-Passw0rd-missing"
	e := newEnv(t, false)
	bare := filepath.Join(t.TempDir(), "remote.git")
	gitRun(t, "", "init", "-q", "--bare", "-b", "main", bare)
	gitRun(t, bare, "config", "http.receivepack", "true")
	url := gittest.ServePushHTTP(t, bare, "bot", password)
	s := api.StateStore{Kind: api.KindGitStateStore, Name: "remote", URL: url,
		SecretRef: &api.SecretReference{Name: "git-creds", Namespace: "default"}}
	s.Default()
	if err := e.st.CreateStateStore(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	d := api.Destination{Name: "remote-dev", Labels: map[string]string{"environment": "dev", "store": "remote"},
		StateStoreRef: api.StateStoreRef{Kind: api.KindGitStateStore, Name: "remote"}}
	d.Default()
	if err := e.st.CreateDestination(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	c, _ := e.controller(t, controller.Options{})
	render := e.pipeline("render", `echo "name: $KRATIX_OBJECT_NAME" > "$RUNPLANE_OUTPUT_DIR/cache.yaml"
printf -- '- matchLabels: {store: remote}\n' > "$RUNPLANE_METADATA_DIR/destination-selectors.yaml"`)
	p := e.promise(t, api.PromiseWorkflows{Resource: api.WorkflowActions{Configure: []api.Pipeline{render}}})
	e.request(t, c, p, "cache", `{}`, nil)

	failing := func(want string) func(map[string]any) bool {
		return func(st map[string]any) bool {
			status, reason, msg := condition(st, "WorksSucceeded")
			return status == "False" && reason == "WorksFailing" && strings.Contains(msg, want)
		}
	}
	st := e.waitFor(t, "cache", "WorksSucceeded False naming the missing runner", failing(`no runner "git-creds"`))
	if completed(st) {
		t.Fatal("the request completed while its output could not be written")
	}
	r := api.Runner{Name: "git-creds", GitURL: "file:///nonexistent.git", Secret: map[string]string{"username": "bot"}}
	if err := e.st.CreateRunner(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, "cache", "WorksSucceeded False naming the missing key", failing(`runner "git-creds"'s secret has no key "password"`))
	// A password the remote refuses: its answer shows, the password does not.
	r.Secret["password"] = "wrong-Passw0rd-refused"
	if err := e.st.UpdateRunner(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	st = e.waitFor(t, "cache", "WorksSucceeded False saying the remote refused the password", failing("authentication required"))
	if _, _, msg := condition(st, "WorksSucceeded"); strings.Contains(msg, "wrong-Passw0rd") {
		t.Errorf("WorksSucceeded's message shows the password: %s", msg)
	}
	r.Secret["password"] = password
	if err := e.st.UpdateRunner(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	st = e.waitFor(t, "cache", "configure completes once the secret holds the password", completed)
	if status, _, msg := condition(st, "WorksSucceeded"); status != "True" {
		t.Errorf("WorksSucceeded = %s %q once written, want True", status, msg)
	}
	if outs := outputsOf(st); len(outs) != 1 || len(outs[0].Version) != 40 {
		t.Fatalf("outputs = %+v, want the file pushed", outs)
	}
	req, _, _ := e.get(t, "cache")
	if bytes.Contains(req.Status, []byte(password)) {
		t.Errorf("the request's status holds the password: %s", req.Status)
	}
}

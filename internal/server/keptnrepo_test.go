package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// keptnEvent posts a Keptn .triggered event of type typ with id, naming commit as its gitcommitid ("": none).
func (ts *testServer) keptnEvent(t *testing.T, id, typ, commit string) {
	t.Helper()
	h := map[string]string{"ce-specversion": "1.0", "ce-id": id, "ce-source": "shipyard", "ce-type": typ,
		"ce-shkeptncontext": "ctx-" + id, "Content-Type": "application/json"}
	if commit != "" {
		h["ce-gitcommitid"] = commit
	}
	ts.do(t, req{method: "POST", path: "/api/v1/events", header: h,
		body: `{"project":"shop","stage":"staging","service":"basket"}`}).want(t, http.StatusAccepted)
}

// keptnAnswer is the data of a .finished answer.
type keptnAnswer struct{ Status, Result, Message string }

// keptnFinished waits for n .finished answers to the event id (one per rule set handling it) and returns them.
func (ts *testServer) keptnFinished(t *testing.T, id, typ string, n int) []keptnAnswer {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var list []api.Event
		ts.do(t, req{method: "GET", path: "/api/v1/events?source=runplane&type=" + strings.TrimSuffix(typ, ".triggered") + ".finished"}).
			want(t, http.StatusOK).decode(t, &list)
		var out []keptnAnswer
		for _, e := range list {
			if e.Extensions["triggeredid"] == id {
				var d keptnAnswer
				if err := json.Unmarshal(e.Data, &d); err != nil {
					t.Fatal(err)
				}
				out = append(out, d)
			}
		}
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d .finished answers to event %s, want %d", len(out), id, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hasAnswer reports whether one of answers has status and a message containing message.
func hasAnswer(answers []keptnAnswer, status, message string) bool {
	for _, a := range answers {
		if a.Status == status && strings.Contains(a.Message, message) {
			return true
		}
	}
	return false
}

// TestKeptnTaskFiles: a task's files (Keptn's files from the configuration repository) are read from the rule
// set's runner's repository at the event's commit, files and whole directories, and the task finds them under
// $RUNPLANE_INPUT_DIR/<path> (and /keptn/<path> where the executor mounts); a file missing at that commit answers
// the event errored in the job-executor's words, and starts nothing.
func TestKeptnTaskFiles(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	bare := gittest.NewRepo(t, map[string]string{
		"locust/basic.py": "print('v1')\n", "locust/locust.conf": "users = 1\n",
		"helm/Chart.yaml": "name: basket\n", "helm/templates/deploy.yaml": "kind: Deployment\n", "unrelated.txt": "no\n",
	})
	first := gittest.Head(t, bare, "main")
	gittest.Commit(t, bare, map[string]string{"locust/basic.py": "print('v2')\n"})
	second := gittest.Head(t, bare, "main")
	ts.createRunner(t, api.Runner{Name: "config", GitURL: gittest.URL(bare)})
	rules := `name: loadtest
runner: config
apiVersion: v2
actions:
  - name: "Run tests using locust"
    events:
      - name: "sh.keptn.event.test.triggered"
    tasks:
      - name: "Run locust"
        files:
          - locust/basic.py
          - /helm
        image: "locustio/locust"
        cmd: ["sh", "-c"]
        args: ['cd "$RUNPLANE_INPUT_DIR" && find . -type f | sort && cat locust/basic.py helm/templates/deploy.yaml']
  - name: "Missing"
    events:
      - name: "sh.keptn.event.evaluation.triggered"
    tasks:
      - name: "Needs a file"
        image: alpine
        files: [locust/missing.py]
        cmd: ["echo", "never"]
`
	ts.do(t, req{method: "POST", path: "/api/v1/event_rules", body: rules, header: map[string]string{"Content-Type": "application/yaml"}}).
		want(t, http.StatusOK)

	tests := []struct {
		name, id, typ, commit string
		status, message       string
	}{
		{"older commit", "t-1", "sh.keptn.event.test.triggered", first, "succeeded",
			"Task 'Run locust' finished successfully!\n\nLogs:\n./helm/Chart.yaml\n./helm/templates/deploy.yaml\n./locust/basic.py\nprint('v1')\nkind: Deployment\n\n"},
		{"newer commit", "t-2", "sh.keptn.event.test.triggered", second, "succeeded", "print('v2')"},
		{"no commit: the branch head", "t-3", "sh.keptn.event.test.triggered", "", "succeeded", "print('v2')"},
		{"missing file", "e-1", "sh.keptn.event.evaluation.triggered", first, "errored",
			"Error while creating job: could not find file or directory locust/missing.py for task Needs a file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts.keptnEvent(t, tc.id, tc.typ, tc.commit)
			if got := ts.keptnFinished(t, tc.id, tc.typ, 1); !hasAnswer(got, tc.status, tc.message) {
				t.Errorf("event %s: .finished %+v, want %s with %q", tc.id, got, tc.status, tc.message)
			}
		})
	}
	var runs []api.Run
	ts.do(t, req{method: "GET", path: "/api/v1/runs?workflow=loadtest"}).want(t, http.StatusOK).decode(t, &runs)
	if len(runs) != 3 {
		t.Errorf("%d runs of loadtest, want 3 (none for the missing file)", len(runs))
	}

	// Files need a runner to read them from.
	noRunner := strings.Replace(rules, "runner: config\n", "", 1)
	res := ts.do(t, req{method: "PUT", path: "/api/v1/event_rules/loadtest", body: noRunner, header: map[string]string{"Content-Type": "application/yaml"}})
	res.want(t, http.StatusBadRequest)
	if !strings.Contains(string(res.body), "actions[0].tasks[0].files") {
		t.Errorf("rules with files and no runner: %s, want a 400 naming the files", res.body)
	}
}

// TestKeptnConfigFromRunner: a rule set naming a path instead of actions reads Keptn's job/config.yaml from its
// runner's repository at each event's commit (the branch head without one); a config missing or invalid there
// answers the event errored with the job-executor's message (the parser's, for an invalid one).
func TestKeptnConfigFromRunner(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	config := func(word string) string {
		return `apiVersion: v2
actions:
  - name: "Deploy"
    events:
      - name: "sh.keptn.event.deployment.triggered"
    tasks:
      - name: "Say"
        image: alpine
        cmd: ["echo", "` + word + `"]
`
	}
	bare := gittest.NewRepo(t, map[string]string{"job/config.yaml": config("one")})
	one := gittest.Head(t, bare, "main")
	gittest.Commit(t, bare, map[string]string{"job/config.yaml": config("two")})
	two := gittest.Head(t, bare, "main")
	gittest.Commit(t, bare, map[string]string{"job/config.yaml": "apiVersion: v2\nactions: []\nunknown: 1\n"})
	invalid := gittest.Head(t, bare, "main")
	gittest.Commit(t, bare, map[string]string{"job/config.yaml": config("three")})
	ts.createRunner(t, api.Runner{Name: "config", GitURL: gittest.URL(bare)})

	var got api.EventRules
	ts.do(t, req{method: "POST", path: "/api/v1/event_rules", json: map[string]string{"name": "fromrepo", "runner": "config", "path": "job/config.yaml"}}).
		want(t, http.StatusOK).decode(t, &got)
	if got.Path != "job/config.yaml" || got.Runner != "config" || len(got.Actions) != 0 {
		t.Fatalf("stored = %+v, want the path and runner, no actions", got)
	}
	ts.do(t, req{method: "POST", path: "/api/v1/event_rules", json: map[string]string{"name": "nofile", "runner": "config", "path": "other/config.yaml"}}).
		want(t, http.StatusOK) // the file need not exist when the rules are saved

	const typ = "sh.keptn.event.deployment.triggered"
	tests := []struct {
		name, id, commit, status, message string
	}{
		{"first commit", "d-1", one, "succeeded", "Task 'Say' finished successfully!\n\nLogs:\none\n\n"},
		{"second commit", "d-2", two, "succeeded", "Logs:\ntwo\n"},
		{"branch head", "d-3", "", "succeeded", "Logs:\nthree\n"},
		{"invalid config", "d-4", invalid, "errored",
			"could not retrieve config for job-executor-service: error parsing job configuration: config: unmarshal errors:\n  line 3: field unknown not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts.keptnEvent(t, tc.id, typ, tc.commit)
			// Two answers: this rule set's, and the one of the rule set whose file is missing.
			got := ts.keptnFinished(t, tc.id, typ, 2)
			if !hasAnswer(got, tc.status, tc.message) {
				t.Errorf("event %s: .finished %+v, want %s with %q", tc.id, got, tc.status, tc.message)
			}
			if !hasAnswer(got, "errored", "could not retrieve config for job-executor-service: error retrieving job config: unable to find job configuration") {
				t.Errorf("event %s: .finished %+v, want one errored for the missing config", tc.id, got)
			}
		})
	}
	bad := []struct {
		name string
		body map[string]any
		want string
	}{
		{"no runner", map[string]any{"name": "x", "path": "job/config.yaml"}, "name the runner"},
		{"path and actions", map[string]any{"name": "x", "runner": "config", "path": "job/config.yaml", "apiVersion": "v2",
			"actions": []any{}}, "give path or actions"},
		{"outside the repository", map[string]any{"name": "x", "runner": "config", "path": "../config.yaml"}, "not a file path inside"},
		{"unknown runner", map[string]any{"name": "x", "runner": "nope", "path": "job/config.yaml"}, `not found`},
	}
	for _, tc := range bad {
		res := ts.do(t, req{method: "POST", path: "/api/v1/event_rules", json: tc.body})
		if res.status != http.StatusBadRequest || !strings.Contains(string(res.body), tc.want) {
			t.Errorf("%s: %d %s, want 400 saying %q", tc.name, res.status, res.body, tc.want)
		}
	}
}

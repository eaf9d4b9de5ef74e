package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// deployRules is a Keptn job-executor config (v2) as a rule set "deploy": on a deployment.triggered event, two
// tasks, in order. Their image is ignored by the local process executor; each runs sh.
const deployRules = `kind: EventRules
name: deploy
apiVersion: v2
actions:
  - name: "Deploy the service"
    events:
      - name: "sh.keptn.event.deployment.triggered"
    tasks:
      - name: "Prepare release"
        image: "alpine:3.20"
        env:
          - name: SERVICE
            value: "$.data.service"
            valueFrom: event
        cmd: ["sh"]
        args: ["-c", "echo preparing $(SERVICE)"]
      - name: "Roll out"
        image: "alpine:3.20"
        env:
          - name: STAGE
            value: /tmp/stage
            valueFrom: string
        cmd: ["sh", "-c"]
        args: ["echo rolled out to $KEPTN_STAGE"]
`

// binaryEvent posts a CloudEvent in binary mode as user token (root's when empty).
func (ts *testServer) binaryEvent(t *testing.T, id, typ, source, data, as string) *resp {
	t.Helper()
	return ts.do(t, req{method: "POST", path: "/api/v1/events", body: data, as: as, header: map[string]string{
		"ce-specversion": "1.0", "ce-id": id, "ce-source": source, "ce-type": typ,
		"ce-shkeptncontext": "ctx-" + id, "ce-gitcommitid": "c0ffee", "Content-Type": "application/json"}})
}

// waitEvent waits for the event of source and id to be stored, and returns it.
func (ts *testServer) waitEvent(t *testing.T, source, id string, within time.Duration) api.Event {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		res := ts.do(t, req{method: "GET", path: "/api/v1/events/" + id + "?source=" + source})
		if res.status == http.StatusOK {
			var e api.Event
			res.decode(t, &e)
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("event %s from %s not stored within %v", id, source, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKeptnTriggeredRunsTasksInOrder: a sh.keptn.event.deployment.triggered event runs the rule set's two tasks
// in order, as one workflow run recorded as started by the event, and is answered with .started and .finished in
// Keptn's shapes; the same event again starts nothing.
func TestKeptnTriggeredRunsTasksInOrder(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	var rules api.EventRules
	ts.do(t, req{method: "POST", path: "/api/v1/event_rules", body: deployRules,
		header: map[string]string{"Content-Type": "application/yaml"}}).want(t, http.StatusOK).decode(t, &rules)
	if rules.Owner != "root" || len(rules.Actions) != 1 || len(rules.Actions[0].Tasks) != 2 {
		t.Fatalf("stored rules = %+v", rules)
	}
	const data = `{"project":"shop","stage":"staging","service":"basket"}`
	res := ts.binaryEvent(t, "deploy-1", "sh.keptn.event.deployment.triggered", "shipyard", data, "").want(t, http.StatusAccepted)
	var acc api.EventsAccepted
	res.decode(t, &acc)
	if len(acc.Events) != 1 || acc.Events[0].Duplicate {
		t.Fatalf("accepted = %+v, want one new event", acc)
	}

	// The answers are stored (and emitted) under the runplane source.
	var list []api.Event
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ts.do(t, req{method: "GET", path: "/api/v1/events?source=runplane"}).want(t, http.StatusOK).decode(t, &list)
		if len(list) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(list) != 2 {
		t.Fatalf("answers = %d events, want .started and .finished", len(list))
	}
	finished, started := list[0], list[1]
	if started.Type != "sh.keptn.event.deployment.started" || finished.Type != "sh.keptn.event.deployment.finished" {
		t.Fatalf("answers = %s, %s; want .started then .finished", started.Type, finished.Type)
	}
	for _, e := range []api.Event{started, finished} {
		if e.Extensions["shkeptncontext"] != "ctx-deploy-1" || e.Extensions["triggeredid"] != "deploy-1" ||
			e.Extensions["gitcommitid"] != "c0ffee" || !e.Produced {
			t.Errorf("%s extensions = %v, want shkeptncontext, triggeredid and gitcommitid carried", e.Type, e.Extensions)
		}
	}
	var fin struct{ Project, Stage, Service, Status, Result, Message string }
	if err := json.Unmarshal(finished.Data, &fin); err != nil {
		t.Fatal(err)
	}
	wantMsg := "Task 'Prepare release' finished successfully!\n\nLogs:\npreparing basket\n\n" +
		"Task 'Roll out' finished successfully!\n\nLogs:\nrolled out to staging\n\n"
	if fin.Status != "succeeded" || fin.Result != "pass" || fin.Message != wantMsg || fin.Service != "basket" {
		t.Errorf(".finished data = %+v, want succeeded/pass with message %q", fin, wantMsg)
	}

	// One run, started by the event, its steps in order.
	var runs []api.Run
	ts.do(t, req{method: "GET", path: "/api/v1/runs?workflow=deploy"}).want(t, http.StatusOK).decode(t, &runs)
	if len(runs) != 1 {
		t.Fatalf("%d runs of deploy, want 1", len(runs))
	}
	var run api.Run
	ts.do(t, req{method: "GET", path: "/api/v1/runs/" + runs[0].ID}).want(t, http.StatusOK).decode(t, &run)
	want := api.Trigger{Kind: api.TriggerEvent, Name: "deploy", Delivery: "deploy-1", Source: "shipyard"}
	if run.Trigger == nil || *run.Trigger != want || run.Owner != "root" || run.Status != api.RunSucceeded {
		t.Errorf("run = %s owner %s trigger %+v, want succeeded, root, %+v", run.Status, run.Owner, run.Trigger, want)
	}
	if len(run.Steps) != 2 || run.Steps[1].StartTime == nil || run.Steps[0].CompletionTime == nil ||
		run.Steps[1].StartTime.Before(*run.Steps[0].CompletionTime) {
		t.Errorf("steps = %+v, want the second started after the first completed", run.Steps)
	}
	// A run an event started can be run again by hand, as it was defined (no workflow of its name is stored).
	var again api.RunCreated
	ts.do(t, req{method: "POST", path: "/api/v1/runs/" + run.ID + "/rerun"}).want(t, http.StatusOK).decode(t, &again)
	var rerun api.Run
	ts.do(t, req{method: "GET", path: "/api/v1/runs/" + again.ID + "?wait=1m"}).want(t, http.StatusOK).decode(t, &rerun)
	if rerun.Workflow != "deploy" || len(rerun.Steps) != 2 {
		t.Errorf("rerun = %+v, want a run of deploy's two steps", rerun)
	}
	// The event is marked dispatched; sent again, it is a duplicate that starts nothing.
	if e := ts.waitEvent(t, "shipyard", "deploy-1", time.Second); e.DispatchTime == nil || e.Produced {
		t.Errorf("stored event = %+v, want dispatched", e)
	}
	ts.binaryEvent(t, "deploy-1", "sh.keptn.event.deployment.triggered", "shipyard", data, "").want(t, http.StatusAccepted).decode(t, &acc)
	if !acc.Events[0].Duplicate {
		t.Errorf("second post = %+v, want a duplicate", acc)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/runs?workflow=deploy"}).want(t, http.StatusOK).decode(t, &runs)
	if len(runs) != 2 {
		t.Errorf("after the duplicate, %d runs, want 2 (the event's and the rerun)", len(runs))
	}
}

// TestPostEventModes: binary, structured and batched events are accepted (202) and listed with filters; a
// malformed one is a 400 naming the attribute, and stores nothing.
func TestPostEventModes(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.binaryEvent(t, "b-1", "com.example.build", "ci", `{"n":1}`, "").want(t, http.StatusAccepted)
	ts.do(t, req{method: "POST", path: "/api/v1/events", header: map[string]string{"Content-Type": "application/cloudevents+json"},
		body: `{"specversion":"1.0","id":"s-1","source":"ci","type":"com.example.test","data":{"n":2}}`}).want(t, http.StatusAccepted)
	var acc api.EventsAccepted
	ts.do(t, req{method: "POST", path: "/api/v1/events", header: map[string]string{"Content-Type": "application/cloudevents-batch+json"},
		body: `[{"specversion":"1.0","id":"m-1","source":"cd","type":"com.example.build"},{"specversion":"1.0","id":"s-1","source":"ci","type":"com.example.test"}]`}).
		want(t, http.StatusAccepted).decode(t, &acc)
	if len(acc.Events) != 2 || acc.Events[0].Duplicate || !acc.Events[1].Duplicate {
		t.Errorf("batch accepted = %+v, want m-1 new and s-1 a duplicate", acc)
	}
	tests := []struct {
		name, headers, body, wantErr string
	}{
		{"binary without id", "binary", "", "attribute id"},
		{"structured without source", "application/cloudevents+json", `{"specversion":"1.0","id":"x","type":"t"}`, "attribute source"},
		{"batch entry without type", "application/cloudevents-batch+json", `[{"specversion":"1.0","id":"y","source":"ci","type":"t"},{"specversion":"1.0","id":"z","source":"ci"}]`, "event 1: missing or invalid attribute type"},
		{"no CloudEvent", "application/json", `{"id":"q"}`, "missing attribute specversion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{"Content-Type": tt.headers}
			if tt.headers == "binary" {
				h = map[string]string{"ce-specversion": "1.0", "ce-source": "ci", "ce-type": "t", "Content-Type": "application/json"}
				tt.body = "{}"
			}
			res := ts.do(t, req{method: "POST", path: "/api/v1/events", header: h, body: tt.body}).want(t, http.StatusBadRequest)
			if e := res.apiError(t); !strings.Contains(e.Error, tt.wantErr) {
				t.Errorf("error = %q, want it to name %q", e.Error, tt.wantErr)
			}
		})
	}
	var list []api.Event
	ts.do(t, req{method: "GET", path: "/api/v1/events?source=ci"}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 2 { // b-1, s-1; nothing of the refused batch
		t.Errorf("events of ci = %d, want 2 (a refused batch stores nothing)", len(list))
	}
	ts.do(t, req{method: "GET", path: "/api/v1/events?type=com.example.build"}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 2 || list[0].ID != "m-1" || list[1].ID != "b-1" {
		t.Errorf("events of type build = %v, want m-1, b-1", list)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	ts.do(t, req{method: "GET", path: "/api/v1/events?since=" + future}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 0 {
		t.Errorf("events since an hour from now = %d, want 0", len(list))
	}
	ts.do(t, req{method: "GET", path: "/api/v1/events?since=yesterday"}).want(t, http.StatusBadRequest)
	var e api.Event
	ts.do(t, req{method: "GET", path: "/api/v1/events/b-1"}).want(t, http.StatusOK).decode(t, &e)
	if string(e.Data) != `{"n":1}` || e.Type != "com.example.build" {
		t.Errorf("event b-1 = %+v", e)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/events/nope"}).want(t, http.StatusNotFound)
	// The body is bounded.
	big := fmt.Sprintf(`{"x":"%s"}`, strings.Repeat("a", int(DefaultConfig().MaxBodyBytes)))
	ts.binaryEvent(t, "big", "t", "ci", big, "").want(t, http.StatusRequestEntityTooLarge)
}

// TestEventsRBAC: events are authorized by source; event rules by name, and saving rules needs write on the runs
// they start, so that no one starts through rules what they could not start by hand.
func TestEventsRBAC(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ci := makePersona(t, ts, "ci-bot", &api.Role{Resource: api.ResourceEvents, ResourceIDs: []string{"ci"}, Access: api.AccessWrite})
	ts.binaryEvent(t, "1", "t", "ci", `{}`, ci).want(t, http.StatusAccepted)
	res := ts.binaryEvent(t, "2", "t", "elsewhere", `{}`, ci).want(t, http.StatusForbidden)
	if e := res.apiError(t); !strings.Contains(e.Error, `events of source "elsewhere"`) {
		t.Errorf("403 = %q", e.Error)
	}
	ts.binaryEvent(t, "3", "t", "elsewhere", `{}`, "").want(t, http.StatusAccepted)
	var list []api.Event
	ts.do(t, req{method: "GET", path: "/api/v1/events", as: ci}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 1 || list[0].Source != "ci" {
		t.Errorf("ci-bot lists %v, want its source's event only", list)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/events/3", as: ci}).want(t, http.StatusNotFound)
	nobody := makePersona(t, ts, "nobody", nil)
	ts.binaryEvent(t, "4", "t", "ci", `{}`, nobody).want(t, http.StatusForbidden)

	// Rules: event_rules write alone does not let one save rules whose runs one may not start.
	author := makePersona(t, ts, "author", &api.Role{Resource: api.ResourceEventRules, ResourceIDs: []string{"*"}, Access: api.AccessWrite})
	body := strings.Replace(deployRules, "name: deploy", "name: deploy", 1)
	res = ts.do(t, req{method: "POST", path: "/api/v1/event_rules", body: body, as: author,
		header: map[string]string{"Content-Type": "application/yaml"}}).want(t, http.StatusForbidden)
	if e := res.apiError(t); !strings.Contains(e.Error, "write access to those runs required") {
		t.Errorf("403 = %q", e.Error)
	}
	ts.do(t, req{method: "POST", path: "/api/v1/event_rules", body: body, as: ci,
		header: map[string]string{"Content-Type": "application/yaml"}}).want(t, http.StatusForbidden)
}

// TestEventRulesAPI: rule sets are saved from YAML or JSON, strictly; read, replaced and deleted by name.
func TestEventRulesAPI(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.ImageAllowlist = []string{"alpine*", "docker.io/library/*"} })
	yaml := map[string]string{"Content-Type": "application/yaml"}
	ts.do(t, req{method: "POST", path: "/api/v1/event_rules", body: deployRules, header: yaml}).want(t, http.StatusOK)
	ts.do(t, req{method: "POST", path: "/api/v1/event_rules", body: deployRules, header: yaml}).want(t, http.StatusConflict)
	// A Keptn file as it is, named by ?name=.
	keptn := "apiVersion: v2\nactions:\n  - name: a\n    events: [{name: x}]\n    tasks: [{name: t, image: alpine, cmd: [true]}]\n"
	var got api.EventRules
	ts.do(t, req{method: "POST", path: "/api/v1/event_rules?name=plain", body: keptn, header: yaml}).want(t, http.StatusOK).decode(t, &got)
	if got.Name != "plain" {
		t.Errorf("name = %q, want plain", got.Name)
	}
	bad := []struct{ name, body, ct, want string }{
		{"unknown key", keptn + "extra: 1\n", "application/yaml", "field extra not found"},
		{"apiVersion v1", strings.Replace(keptn, "v2", "v1", 1), "application/yaml", "apiVersion v1 is not supported, use v2"},
		{"json unknown key", `{"name":"j","apiVersion":"v2","actions":[],"extra":1}`, "application/json", `unknown field "extra"`},
		{"image not allowed", strings.Replace(keptn, "image: alpine", "image: quay.io/evil", 1), "application/yaml", "actions[0].tasks[0].image"},
		{"privileged", strings.Replace(keptn, "cmd: [true]", "cmd: [true], securityContext: {privileged: true}", 1), "application/yaml", "privileged tasks are not allowed"},
		{"bad name", keptn, "application/yaml", "name"},
		{"secret without a runner", strings.Replace(keptn, "cmd: [true]", "cmd: [true], env: [{name: token, valueFrom: secret}]", 1), "application/yaml", "name the rule set's runner"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			path := "/api/v1/event_rules?name=x"
			if b.name == "bad name" {
				path = "/api/v1/event_rules?name=Not%20OK"
			}
			res := ts.do(t, req{method: "POST", path: path, body: b.body, header: map[string]string{"Content-Type": b.ct}}).
				want(t, http.StatusBadRequest)
			if e := res.apiError(t); !strings.Contains(e.Error, b.want) {
				t.Errorf("error = %q, want %q", e.Error, b.want)
			}
		})
	}
	var list []api.EventRules
	ts.do(t, req{method: "GET", path: "/api/v1/event_rules"}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 2 || list[0].Name != "deploy" || list[1].Name != "plain" {
		t.Errorf("list = %d sets, want deploy and plain", len(list))
	}
	// What a GET answers can be sent back with PUT.
	ts.do(t, req{method: "GET", path: "/api/v1/event_rules/plain"}).want(t, http.StatusOK).decode(t, &got)
	got.Multiple = true
	ts.do(t, req{method: "PUT", path: "/api/v1/event_rules/plain", json: got}).want(t, http.StatusOK).decode(t, &got)
	if !got.Multiple {
		t.Errorf("replaced = %+v, want multiple", got)
	}
	ts.do(t, req{method: "PUT", path: "/api/v1/event_rules/none", json: got}).want(t, http.StatusBadRequest) // name differs
	ts.do(t, req{method: "DELETE", path: "/api/v1/event_rules/plain"}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/event_rules/plain"}).want(t, http.StatusNotFound)
}

// TestKeptnRuleWithRunner: a rule set naming a runner runs its tasks in the runner's checkout (its files), an env entry
// valueFrom secret reading the runner's secret; an event that is not a .triggered one gets no answers.
func TestKeptnRuleWithRunner(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.do(t, req{method: "PUT", path: "/api/v1/runners/repo/secret", json: map[string]string{"deploy_token": "s3cret-value"}}).
		want(t, http.StatusOK)
	rules := `name: notify
runner: repo
apiVersion: v2
actions:
  - name: "Notify"
    events:
      - name: "^com\\.example\\.release$"
    tasks:
      - name: "Check the token"
        image: alpine
        env:
          - {name: deploy_token, valueFrom: secret}
        cmd: ["sh", "-c", "test \"$deploy_token\" = s3cret-value && test -f hello.sh && echo token ok"]
`
	ts.do(t, req{method: "POST", path: "/api/v1/event_rules", body: rules, header: map[string]string{"Content-Type": "application/yaml"}}).
		want(t, http.StatusOK)
	ts.binaryEvent(t, "r-1", "com.example.release", "ci", `{"version":"1.2.3"}`, "").want(t, http.StatusAccepted)
	var runs []api.Run
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ts.do(t, req{method: "GET", path: "/api/v1/runs?workflow=notify"}).want(t, http.StatusOK).decode(t, &runs)
		if (len(runs) == 1 && runs[0].Status.Final()) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(runs) != 1 || runs[0].Status != api.RunSucceeded {
		if len(runs) == 1 && len(runs[0].Steps) == 1 {
			var job api.Job
			ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + runs[0].Steps[0].Job}).decode(t, &job)
			t.Logf("step's job output: %s", job.Stdout)
		}
		t.Fatalf("runs of notify = %+v, want one succeeded", runs)
	}
	var list []api.Event
	ts.do(t, req{method: "GET", path: "/api/v1/events?source=runplane"}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 0 {
		t.Errorf("answers to a non-triggered event = %d, want none", len(list))
	}
}

// TestKeptnTaskFails: the first task that fails ends the action: the tasks after it do not run, and .finished is
// errored/fail naming it, with its logs.
func TestKeptnTaskFails(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	rules := strings.NewReplacer(`args: ["echo rolled out to $KEPTN_STAGE"]`, `args: ["echo cannot roll out; exit 3"]`).Replace(deployRules) +
		`      - name: "Never runs"
        image: "alpine:3.20"
        cmd: ["sh", "-c", "echo never"]
`
	ts.do(t, req{method: "POST", path: "/api/v1/event_rules", body: rules, header: map[string]string{"Content-Type": "application/yaml"}}).
		want(t, http.StatusOK)
	ts.binaryEvent(t, "bad-1", "sh.keptn.event.deployment.triggered", "shipyard", `{"service":"basket"}`, "").want(t, http.StatusAccepted)
	var list []api.Event
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ts.do(t, req{method: "GET", path: "/api/v1/events?type=sh.keptn.event.deployment.finished"}).want(t, http.StatusOK).decode(t, &list)
		if len(list) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(list) != 1 {
		t.Fatalf("no .finished answer")
	}
	var fin struct{ Status, Result, Message string }
	if err := json.Unmarshal(list[0].Data, &fin); err != nil {
		t.Fatal(err)
	}
	if fin.Status != "errored" || fin.Result != "fail" || fin.Message != "Task 'Roll out' failed: exit code 3\n\nLogs: \ncannot roll out" {
		t.Errorf(".finished data = %+v, want errored/fail naming Roll out with its logs", fin)
	}
	var runs []api.Run
	ts.do(t, req{method: "GET", path: "/api/v1/runs?workflow=deploy"}).want(t, http.StatusOK).decode(t, &runs)
	var run api.Run
	ts.do(t, req{method: "GET", path: "/api/v1/runs/" + runs[0].ID}).want(t, http.StatusOK).decode(t, &run)
	if run.Status != api.RunFailed || len(run.Steps) != 3 || run.Steps[2].Job != "" {
		t.Errorf("run = %s, steps %+v; want failed with the third step never run", run.Status, run.Steps)
	}
}

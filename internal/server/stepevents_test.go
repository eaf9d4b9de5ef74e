package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// stepEventRules: an event com.example.built from workflow emitter's steps runs a task that announces it, itself
// through the metadata API (a run started by a rule acts for the rule set's owner), and the announcement runs a
// task of a second rule set.
const stepEventRules = `name: on-built
apiVersion: v2
actions:
  - name: announce
    events:
      - name: '^com\.example\.built$'
        jsonpath: {property: '$.source', match: 'runplane/workflows/emitter'}
    tasks:
      - name: announce
        image: alpine
        env:
          - {name: ART, value: '$.data.artifact', valueFrom: event}
        cmd: ['sh', '-c']
        args:
          - 'echo announcing $ART; curl -sSf -X POST -H "Authorization: Bearer $RUNPLANE_STEP_TOKEN" -H "Content-Type: application/json" --data "{\"data\":{\"artifact\":\"$ART\"},\"type\":\"com.example.announced\"}" "$RUNPLANE_METADATA_URL/events"'
`

const stepEventRules2 = `name: on-announced
apiVersion: v2
actions:
  - name: record
    events:
      - name: '^com\.example\.announced$'
        jsonpath: {property: '$.source', match: 'runplane/workflows/on-built'}
    tasks:
      - name: record
        image: alpine
        env:
          - {name: ART, value: '$.data.artifact', valueFrom: event}
        cmd: ['sh', '-c', 'echo recorded $ART']
`

// emitScript posts the same event twice (a retry), then another one, and reports the answers' codes.
const emitScript = `auth="Authorization: Bearer $RUNPLANE_STEP_TOKEN"; u="$RUNPLANE_METADATA_URL/events"
code() { curl -s -o /dev/null -w '%{http_code}' -X POST -H "$auth" -H 'Content-Type: application/json' "$@" "$u"; }
a=$(code --data '{"data":{"artifact":"app-1.0"},"type":"com.example.built"}')
b=$(code --data '{"data": {"artifact": "app-1.0"}, "type": "com.example.built"}')
c=$(code --data '{"data":{"type":"com.example.tested"},"key":"t1"}')
bad=$(code --data '{"key":"no data"}')
printf '^JSON {"a": %s, "b": %s, "c": %s, "bad": %s} ^JSON\n' "$a" "$b" "$c" "$bad"
`

// TestStepEventsMatchRules: a workflow step's POST /api/v1/metadata/events enters the event bus as a CloudEvent
// of source runplane/workflows/<workflow>, stored once however often the step retries it, and matches event
// rules, whose task runs; a run a rule started sends events in its rule set's owner's name. A run whose owner
// may not post events of that source has its step's event refused (403) and stored nowhere. On both stores.
func TestStepEventsMatchRules(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		store func(t *testing.T) string
	}{
		{"sqlite", func(*testing.T) string { return StoreSQLite }},
		{"postgres", func(t *testing.T) string { return pgtest.NewDatabase(t) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dsn := tt.store(t)
			testStepEventsMatchRules(t, startServer(t, func(c *Config) { c.Store = dsn }))
		})
	}
}

func testStepEventsMatchRules(t *testing.T, ts *testServer) {
	for _, rules := range []string{stepEventRules, stepEventRules2} {
		ts.do(t, req{method: "POST", path: "/api/v1/event_rules", body: rules,
			header: map[string]string{"Content-Type": "application/yaml"}}).want(t, http.StatusOK)
	}
	ts.do(t, req{method: "POST", path: "/api/v1/workflows", json: api.Workflow{Name: "emitter",
		Steps: []api.Step{{Name: "emit", Image: "alpine", Command: sh(emitScript)}}}}).want(t, http.StatusOK)

	var run api.Run
	ts.do(t, req{method: "POST", path: "/api/v1/workflows/emitter/runs?wait=2m"}).want(t, http.StatusOK).decode(t, &run)
	if run.Status != api.RunSucceeded {
		t.Fatalf("emitter run: %s (%s), want succeeded", run.Status, run.Reason)
	}
	want := map[string]string{"a": "202", "b": "202", "c": "202", "bad": "400"}
	for k, v := range want {
		if got := compact(t, run.Steps[0].Outputs[k]); got != v {
			t.Errorf("POST /events %s answered %s, want %s", k, got, v)
		}
	}

	var evs []api.Event
	ts.do(t, req{method: "GET", path: "/api/v1/events?source=runplane/workflows/emitter"}).want(t, http.StatusOK).decode(t, &evs)
	types := map[string]string{}
	for _, e := range evs {
		types[e.Type] = e.ID
		if e.Subject != run.ID || e.Extensions["runplanestep"] != "emit" || !strings.HasPrefix(e.ID, run.ID+"/emit/1/") {
			t.Errorf("event %+v: want subject %s, step emit, id under %s/emit/1/", e, run.ID, run.ID)
		}
	}
	if len(evs) != 2 || types["com.example.tested"] != run.ID+"/emit/1/t1" || types["com.example.built"] == "" {
		t.Fatalf("stored events of emitter = %v, want one com.example.built (its retry deduplicated) and com.example.tested with key t1", types)
	}

	// on-built runs once, then on-announced, from the event its task sent.
	built := waitRuns(t, ts, "on-built", 1)
	if tr := built.Trigger; tr == nil || tr.Source != "runplane/workflows/emitter" || tr.Delivery != types["com.example.built"] {
		t.Errorf("on-built's trigger = %+v, want the step's event", tr)
	}
	announced := waitRuns(t, ts, "on-announced", 1)
	var job api.Job
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + announced.Steps[0].Job}).want(t, http.StatusOK).decode(t, &job)
	if !strings.Contains(job.Stdout, "recorded app-1.0") {
		t.Errorf("on-announced's task printed %q, want recorded app-1.0", job.Stdout)
	}

	// Someone who may run emitter but not post its events: the step's event is refused and kept nowhere.
	runner := makePersona(t, ts, "runner", &api.Role{Resource: api.ResourceRuns, ResourceIDs: []string{"emitter"}, Access: api.AccessWrite})
	var theirs api.Run
	ts.do(t, req{method: "POST", path: "/api/v1/workflows/emitter/runs?wait=2m", as: runner}).want(t, http.StatusOK).decode(t, &theirs)
	for _, k := range []string{"a", "c"} {
		if got := compact(t, theirs.Steps[0].Outputs[k]); got != "403" {
			t.Errorf("runner's step: POST /events %s answered %s, want 403", k, got)
		}
	}
	ts.do(t, req{method: "GET", path: "/api/v1/events?source=runplane/workflows/emitter"}).want(t, http.StatusOK).decode(t, &evs)
	if len(evs) != 2 {
		t.Errorf("%d events of emitter after runner's run, want still 2", len(evs))
	}

	// A run a webhook started acts for the webhook's owner (root here): its step's events are accepted.
	const secret = "emitter-hook-secret"
	var hook api.Webhook
	ts.do(t, req{method: "POST", path: "/api/v1/webhooks", json: api.Webhook{Workflow: "emitter", Secret: secret,
		Scheme: api.WebhookSchemeNetBox}}).want(t, http.StatusOK).decode(t, &hook)
	var created api.RunCreated
	ts.deliver(t, hook.ID, `{}`, signNetBox(secret, `{}`)).want(t, http.StatusOK).decode(t, &created)
	var hooked api.Run
	ts.do(t, req{method: "GET", path: "/api/v1/runs/" + created.ID + "?wait=2m"}).want(t, http.StatusOK).decode(t, &hooked)
	if got := compact(t, hooked.Steps[0].Outputs["a"]); got != "202" {
		t.Errorf("the webhook's run: POST /events answered %s, want 202 (%s %s)", got, hooked.Status, hooked.Reason)
	}
}

// waitRuns waits for n runs of workflow to be final, and returns the newest.
func waitRuns(t *testing.T, ts *testServer, workflow string, n int) api.Run {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var list []api.Run
		ts.do(t, req{method: "GET", path: "/api/v1/runs?workflow=" + workflow}).want(t, http.StatusOK).decode(t, &list)
		final := 0
		for _, r := range list {
			if r.Status.Final() {
				final++
			}
		}
		if len(list) > n {
			t.Fatalf("%d runs of %s, want %d", len(list), workflow, n)
		}
		if final == n {
			var run api.Run
			ts.do(t, req{method: "GET", path: "/api/v1/runs/" + list[0].ID}).want(t, http.StatusOK).decode(t, &run)
			if run.Status != api.RunSucceeded {
				t.Fatalf("run %s of %s: %s (%s), want succeeded", run.ID, workflow, run.Status, run.Reason)
			}
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d runs of %s final after 2m", final, n, workflow)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

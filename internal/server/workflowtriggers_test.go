package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// incidentRelay is a Relay workflow file with a schedule trigger (every second, for the test) and a webhook
// trigger, written as Relay writes them.
const incidentRelay = `version: v1
description: Respond to an incident
parameters:
  title:
    description: the incident's title
    default: none
  at:
    default: ""
triggers:
- name: tick
  source:
    type: schedule
    schedule: '* * * * * *'
  binding:
    parameters:
      at: !Data scheduled_time
- name: hook
  source:
    type: webhook
    image: relaysh/stdlib-trigger-json
  when: ${event.environment == 'production'}
  binding:
    parameters:
      title: !Data incident.title
steps:
- name: respond
  image: relaysh/core
  input:
  - echo responding
`

type savedWorkflow struct {
	api.Workflow
	TriggerSecrets map[string]struct{ Webhook, URL, Secret string } `json:"trigger_secrets"`
}

// TestWorkflowTriggers: on a real server, saving a Relay workflow with triggers creates its cron job and webhook
// owned by the caller; the schedule starts runs with the scheduled time bound, a delivery starts a run with
// parameters bound from its body (or nothing when the trigger's when is false, or a 400 when the binding fails);
// the cron job cannot be edited by hand; removing a trigger, then the workflow, deletes the objects.
func TestWorkflowTriggers(t *testing.T) {
	t.Parallel()
	testWorkflowTriggers(t, startServer(t))
}

// TestWorkflowTriggersOnPostgres is TestWorkflowTriggers on PostgreSQL.
func TestWorkflowTriggersOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	testWorkflowTriggers(t, startServer(t, func(c *Config) { c.Store = dsn }))
}

func testWorkflowTriggers(t *testing.T, ts *testServer) {
	yaml := map[string]string{"Content-Type": "application/yaml"}
	var saved savedWorkflow
	ts.do(t, req{method: "POST", path: "/api/v1/workflows?name=incident", body: incidentRelay, header: yaml}).
		want(t, http.StatusOK).decode(t, &saved)
	hook := saved.TriggerSecrets["hook"]
	if len(saved.Triggers) != 2 || saved.Triggers[0].Object != "incident.tick" || hook.Secret == "" ||
		saved.Triggers[1].Object != hook.Webhook || hook.URL != "/api/v1/webhooks/run/"+hook.Webhook {
		t.Fatalf("saved = %+v, want the cron job incident.tick and a webhook with its secret", saved)
	}
	var c api.CronJob
	ts.do(t, req{method: "GET", path: "/api/v1/cronjobs/incident.tick"}).want(t, http.StatusOK).decode(t, &c)
	if c.Workflow != "incident" || c.Owner != "root" || c.Schedule != "* * * * * *" {
		t.Errorf("cron job = %+v, want workflow incident owned by root", c)
	}
	ts.do(t, req{method: "PATCH", path: "/api/v1/cronjobs/incident.tick", body: `{"disable":true}`}).
		want(t, http.StatusConflict).apiError(t)
	ts.do(t, req{method: "DELETE", path: "/api/v1/cronjobs/incident.tick"}).want(t, http.StatusConflict).apiError(t)
	var got api.Workflow
	ts.do(t, req{method: "GET", path: "/api/v1/workflows/incident"}).want(t, http.StatusOK).decode(t, &got)
	if len(got.Triggers) != 2 || got.Triggers[1].Object != hook.Webhook {
		t.Errorf("GET workflow triggers = %+v", got.Triggers)
	}

	// The schedule: runs whose parameter at is their scheduled time.
	deadline := time.Now().Add(time.Minute)
	var ticked []api.Run
	for len(ticked) < 2 && time.Now().Before(deadline) {
		var list []api.Run
		ts.do(t, req{method: "GET", path: "/api/v1/runs?workflow=incident"}).want(t, http.StatusOK).decode(t, &list)
		ticked = ticked[:0]
		for _, r := range list {
			if r.Trigger != nil && r.Trigger.Kind == api.TriggerCron {
				ticked = append(ticked, r)
			}
		}
		time.Sleep(100 * time.Millisecond) // polling the API, as a client would
	}
	if len(ticked) < 2 {
		t.Fatalf("%d runs of the schedule trigger within a minute, want 2", len(ticked))
	}
	for _, r := range ticked {
		var full api.Run
		ts.do(t, req{method: "GET", path: "/api/v1/runs/" + r.ID}).want(t, http.StatusOK).decode(t, &full)
		var p struct{ At, Title string }
		if err := json.Unmarshal(full.Parameters, &p); err != nil {
			t.Fatal(err)
		}
		if p.At != full.Trigger.ScheduledTime.UTC().Format(time.RFC3339) || p.Title != "none" {
			t.Errorf("run %s: parameters %s, want at = its scheduled time %v and title's default", r.ID, full.Parameters, full.Trigger.ScheduledTime)
		}
	}

	// The webhook: the body is the payload.
	deliver := func(body string) *resp {
		return ts.deliver(t, hook.Webhook, body, signNetBox(hook.Secret, body))
	}
	var created api.RunCreated
	deliver(`{"environment":"production","incident":{"title":"disk full"}}`).want(t, http.StatusOK).decode(t, &created)
	var run api.Run
	ts.do(t, req{method: "GET", path: "/api/v1/runs/" + created.ID}).want(t, http.StatusOK).decode(t, &run)
	if !strings.Contains(string(run.Parameters), `"title":"disk full"`) || run.Trigger == nil ||
		run.Trigger.Kind != api.TriggerWebhook || run.Owner != "root" {
		t.Errorf("delivered run = %+v, parameters %s; want title bound from the body, started by the webhook as root", run, run.Parameters)
	}
	res := deliver(`{"environment":"dev","incident":{"title":"x"}}`).want(t, http.StatusOK)
	if !strings.Contains(string(res.body), `nothing started: triggers[1] \"hook\".when[0] is false`) {
		t.Errorf("delivery with when false answered %s", res.body)
	}
	res = deliver(`{"environment":"production"}`).want(t, http.StatusBadRequest)
	if e := res.apiError(t); !strings.Contains(e.Error, `binding.parameters.title`) {
		t.Errorf("delivery the binding fails on answered %q", e)
	}
	ts.deliver(t, hook.Webhook, `{}`, signNetBox("not-the-secret", `{}`)).want(t, http.StatusUnauthorized)

	// A trigger removed from the file deletes its object; a webhook kept keeps its id and secret.
	without := strings.Replace(incidentRelay, "- name: tick\n  source:\n    type: schedule\n    schedule: '* * * * * *'\n  binding:\n    parameters:\n      at: !Data scheduled_time\n", "", 1)
	saved = savedWorkflow{}
	ts.do(t, req{method: "PUT", path: "/api/v1/workflows/incident", body: without, header: yaml}).
		want(t, http.StatusOK).decode(t, &saved)
	if len(saved.Triggers) != 1 || saved.Triggers[0].Object != hook.Webhook || len(saved.TriggerSecrets) != 0 {
		t.Errorf("replaced = %+v, want the webhook kept and no new secret", saved)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/cronjobs/incident.tick"}).want(t, http.StatusNotFound)
	if n := strings.Count(ts.seen.String(), hook.Secret); n != 1 {
		t.Errorf("the webhook's secret appears in %d answers, want only the first save's", n)
	}
	if strings.Contains(ts.logs.String(), hook.Secret) {
		t.Errorf("the server logged the webhook's secret")
	}
	var audit []api.AuditLog
	ts.do(t, req{method: "GET", path: "/api/v1/audit_logs?max=1000"}).want(t, http.StatusOK).decode(t, &audit)
	want := map[string]bool{"create cronjobs incident.tick": false, "delete cronjobs incident.tick": false,
		"create webhooks " + hook.Webhook: false, "create workflows incident": false}
	for _, e := range audit {
		k := e.EventType + " " + e.EventCategory + " " + e.EventTarget
		if _, ok := want[k]; ok && e.Username == "root" {
			want[k] = true
		}
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("the audit log has no %q by root", k)
		}
	}
	// A trigger's webhook deleted by hand (to retire its secret) is made again, with a new secret, by the next save.
	ts.do(t, req{method: "DELETE", path: "/api/v1/webhooks/" + hook.Webhook}).want(t, http.StatusOK)
	saved = savedWorkflow{}
	ts.do(t, req{method: "PUT", path: "/api/v1/workflows/incident", body: without, header: yaml}).
		want(t, http.StatusOK).decode(t, &saved)
	again := saved.TriggerSecrets["hook"]
	if again.Webhook == "" || again.Webhook == hook.Webhook || again.Secret == hook.Secret || saved.Triggers[0].Object != again.Webhook {
		t.Errorf("save after the webhook's deletion = %+v, want a new webhook with a new secret", saved)
	}
	ts.do(t, req{method: "DELETE", path: "/api/v1/workflows/incident"}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/webhooks/" + again.Webhook}).want(t, http.StatusNotFound)
}

// TestWorkflowScheduleRecorded: a schedule trigger whose when is false at a time records the time skipped, and one
// whose binding fails over its payload records it failed with the reason; neither starts a run.
func TestWorkflowScheduleRecorded(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	const doc = `version: v1
parameters:
  x: {default: ""}
triggers:
- name: never
  source: {type: schedule, schedule: '* * * * * *'}
  when: ${event.cronjob == 'another'}
- name: broken
  source: {type: schedule, schedule: '* * * * * *'}
  binding:
    parameters:
      x: !Data no.such.key
steps:
- {name: s, image: alpine, input: [echo hi]}
`
	ts.do(t, req{method: "POST", path: "/api/v1/workflows?name=flow", body: doc,
		header: map[string]string{"Content-Type": "application/yaml"}}).want(t, http.StatusOK)
	wait := func(name string) api.CronJob {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			var c api.CronJob
			ts.do(t, req{method: "GET", path: "/api/v1/cronjobs/" + name}).want(t, http.StatusOK).decode(t, &c)
			if c.LastStatus != "" {
				return c
			}
			time.Sleep(50 * time.Millisecond) // polling the API, as a client would
		}
		t.Fatalf("cron job %s never fired", name)
		return api.CronJob{}
	}
	if c := wait("flow.never"); c.LastStatus != api.CronSkipped || !strings.Contains(c.LastMessage, `triggers[0] "never".when[0] is false`) {
		t.Errorf("flow.never: last %s %q, want skipped naming the when", c.LastStatus, c.LastMessage)
	}
	if c := wait("flow.broken"); c.LastStatus != api.CronFailed || !strings.Contains(c.LastMessage, `triggers[1] "broken".binding.parameters.x`) {
		t.Errorf("flow.broken: last %s %q, want failed naming the binding", c.LastStatus, c.LastMessage)
	}
	var list []api.Run
	ts.do(t, req{method: "GET", path: "/api/v1/runs?workflow=flow"}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 0 {
		t.Errorf("%d runs of flow, want none", len(list))
	}
}

// TestWorkflowTriggersInvalid: a workflow whose triggers would not save is a 400 (403 without the rights saving
// their objects by hand needs), and nothing is stored.
func TestWorkflowTriggersInvalid(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	const steps = "steps:\n- name: a\n  image: x\n"
	const params = "parameters: {p: {default: x}}\n"
	yaml := map[string]string{"Content-Type": "application/yaml"}
	tests := []struct {
		name, doc string
		status    int
		msg       string
	}{
		{"unknown type", steps + "triggers:\n- {name: t, source: {type: cron}}\n", 400, `unknown trigger type "cron"`},
		{"bad schedule", steps + "triggers:\n- {name: t, source: {type: schedule, schedule: '61 * * * *'}}\n", 400, `triggers[0] "t".source: schedule:`},
		{"@every", steps + "triggers:\n- {name: t, source: {type: schedule, schedule: '@every 1m'}}\n", 400, `triggers[0] "t".source: schedule:`},
		{"bad timezone", steps + "triggers:\n- {name: t, source: {type: schedule, schedule: '@daily', timezone: Mars/Base}}\n", 400, `triggers[0] "t".source: timezone:`},
		{"bad binding", params + steps + "triggers:\n- {name: t, source: {type: push}, binding: {parameters: {p: '${event.}'}}}\n", 400, `binding.parameters.p: expression "event." does not compile`},
		{"event bad regexp", steps + "triggers:\n- {name: t, source: {type: event, event: 'a('}}\n", 400, `source.event: error parsing regexp`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := ts.do(t, req{method: "POST", path: "/api/v1/workflows?name=bad", body: tt.doc, header: yaml}).want(t, tt.status)
			if e := res.apiError(t); !strings.Contains(e.Error, tt.msg) {
				t.Errorf("POST %s: error %q, want it to contain %q", tt.name, e, tt.msg)
			}
			ts.do(t, req{method: "GET", path: "/api/v1/workflows/bad"}).want(t, http.StatusNotFound)
		})
	}
	// A dry run stores nothing and so shows no secret.
	var dry savedWorkflow
	ts.do(t, req{method: "POST", path: "/api/v1/workflows?name=dry&dryRun=All", header: yaml,
		body: steps + "triggers:\n- {name: h, source: {type: webhook}}\n- {name: s, source: {type: schedule, schedule: '@daily'}}\n"}).
		want(t, http.StatusOK).decode(t, &dry)
	if len(dry.TriggerSecrets) != 0 || len(dry.Triggers) != 2 {
		t.Errorf("dry run answered %+v, want the triggers and no secret", dry)
	}
	var hooks []api.Webhook
	ts.do(t, req{method: "GET", path: "/api/v1/webhooks"}).want(t, http.StatusOK).decode(t, &hooks)
	if len(hooks) != 0 {
		t.Errorf("webhooks after a dry run: %+v", hooks)
	}
	var crons []api.CronJob
	ts.do(t, req{method: "GET", path: "/api/v1/cronjobs"}).want(t, http.StatusOK).decode(t, &crons)
	if len(crons) != 0 {
		t.Errorf("cron jobs after refused saves: %+v", crons)
	}

	// Rights: a schedule is a cron job, so it needs cronjobs write on its name besides the workflow's rights.
	tok := userWith(t, ts, "author",
		api.Role{Resource: api.ResourceWorkflows, ResourceIDs: []string{"*"}, Access: api.AccessWrite},
		api.Role{Resource: api.ResourceRuns, ResourceIDs: []string{"*"}, Access: api.AccessWrite})
	doc := steps + "triggers:\n- {name: t, source: {type: schedule, schedule: '@daily'}}\n"
	ts.do(t, req{method: "POST", path: "/api/v1/workflows?name=mine", body: doc, header: yaml, as: tok}).want(t, http.StatusForbidden)
	hookDoc := steps + "triggers:\n- {name: h, source: {type: webhook}}\n"
	var saved savedWorkflow
	ts.do(t, req{method: "POST", path: "/api/v1/workflows?name=mine", body: hookDoc, header: yaml, as: tok}).
		want(t, http.StatusOK).decode(t, &saved)
	var hook api.Webhook
	ts.do(t, req{method: "GET", path: "/api/v1/webhooks/" + saved.TriggerSecrets["h"].Webhook, as: tok}).
		want(t, http.StatusOK).decode(t, &hook)
	if hook.Workflow != "mine" || hook.Secret != "" {
		t.Errorf("the author's webhook = %+v, want workflow mine, secret not shown again", hook)
	}
}

// TestWorkflowEventAndPushTriggers: an event trigger is a rule set that matches CloudEvents by type (and source)
// and starts a run with parameters bound from the event; a push trigger is a webhook whose body's data the binding
// reads (Relay's push: {"data": {...}}).
func TestWorkflowEventAndPushTriggers(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	const doc = `version: v1
parameters:
  service: {default: ""}
  host: {default: ""}
triggers:
- name: deployed
  source:
    type: event
    event: ^sh\.keptn\.event\.deployment\.finished$
    eventSource: shipyard
  when:
  - !Fn.equals [!Data data.result, pass]
  binding:
    parameters:
      service: !Data data.service
- name: report
  source:
    type: push
    scheme: hmac-sha256
  binding:
    parameters:
      host: !Data report.host
steps:
- name: s
  image: alpine
  input: [echo hi]
`
	var saved savedWorkflow
	ts.do(t, req{method: "POST", path: "/api/v1/workflows?name=shop", body: doc,
		header: map[string]string{"Content-Type": "application/yaml"}}).want(t, http.StatusOK).decode(t, &saved)
	var rs api.EventRules
	ts.do(t, req{method: "GET", path: "/api/v1/event_rules/shop.deployed"}).want(t, http.StatusOK).decode(t, &rs)
	if rs.Workflow != "shop" || rs.Owner != "root" || len(rs.Actions) != 1 {
		t.Errorf("event rules = %+v, want the trigger's rule set for workflow shop, owned by root", rs)
	}
	ts.do(t, req{method: "DELETE", path: "/api/v1/event_rules/shop.deployed"}).want(t, http.StatusConflict).apiError(t)
	ts.do(t, req{method: "POST", path: "/api/v1/event_rules", body: `{"name":"mine","apiVersion":"v2","workflow":"shop","actions":[]}`}).
		want(t, http.StatusBadRequest).apiError(t)

	const typ = "sh.keptn.event.deployment.finished"
	ts.binaryEvent(t, "e-other-source", typ, "elsewhere", `{"result":"pass","service":"x"}`, "").want(t, http.StatusAccepted)
	ts.binaryEvent(t, "e-fail", typ, "shipyard", `{"result":"fail","service":"x"}`, "").want(t, http.StatusAccepted)
	ts.binaryEvent(t, "e-other-type", "sh.keptn.event.test.finished", "shipyard", `{"result":"pass","service":"x"}`, "").want(t, http.StatusAccepted)
	ts.binaryEvent(t, "e-pass", typ, "shipyard", `{"result":"pass","service":"basket"}`, "").want(t, http.StatusAccepted)
	run := ts.waitTriggeredRun(t, "shop", api.TriggerEvent)
	if run.Trigger.Delivery != "e-pass" || !strings.Contains(string(run.Parameters), `"service":"basket"`) {
		t.Errorf("event run: trigger %+v, parameters %s; want e-pass's, service basket", run.Trigger, run.Parameters)
	}
	// Every event is dispatched in order: once the last one ran, the others were judged, and none started a run.
	var list []api.Run
	ts.do(t, req{method: "GET", path: "/api/v1/runs?workflow=shop"}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 1 {
		t.Errorf("runs of shop = %d, want only e-pass's", len(list))
	}

	push := saved.TriggerSecrets["report"]
	body := `{"data":{"report":{"host":"web-1","status":"changed"}}}`
	m := hmac.New(sha256.New, []byte(push.Secret))
	m.Write([]byte(body))
	var created api.RunCreated
	ts.deliver(t, push.Webhook, body, map[string]string{"X-Signature-256": "sha256=" + hex.EncodeToString(m.Sum(nil))}).
		want(t, http.StatusOK).decode(t, &created)
	var pushed api.Run
	ts.do(t, req{method: "GET", path: "/api/v1/runs/" + created.ID}).want(t, http.StatusOK).decode(t, &pushed)
	if !strings.Contains(string(pushed.Parameters), `"host":"web-1"`) {
		t.Errorf("pushed run parameters %s, want host web-1 from the body's data", pushed.Parameters)
	}
	ts.do(t, req{method: "DELETE", path: "/api/v1/workflows/shop"}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/event_rules/shop.deployed"}).want(t, http.StatusNotFound)
}

// waitTriggeredRun waits for a run of workflow started by a trigger of kind, and returns it in full.
func (ts *testServer) waitTriggeredRun(t *testing.T, workflow string, kind api.TriggerKind) api.Run {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var list []api.Run
		ts.do(t, req{method: "GET", path: "/api/v1/runs?workflow=" + workflow}).want(t, http.StatusOK).decode(t, &list)
		for _, r := range list {
			if r.Trigger != nil && r.Trigger.Kind == kind {
				var full api.Run
				ts.do(t, req{method: "GET", path: "/api/v1/runs/" + r.ID}).want(t, http.StatusOK).decode(t, &full)
				return full
			}
		}
		time.Sleep(50 * time.Millisecond) // polling the API, as a client would
	}
	t.Fatalf("no run of %s started by a %s trigger within 30s", workflow, kind)
	return api.Run{}
}

package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

// signStandard signs a Standard Webhooks (Infrahub) delivery of body with secret, as the sender would.
func signStandard(secret, id string, at time.Time, body string) map[string]string {
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(id + "." + ts + "." + body))
	return map[string]string{"webhook-id": id, "webhook-timestamp": ts,
		"webhook-signature": "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))}
}

// signNetBox signs a NetBox delivery of body with secret.
func signNetBox(secret, body string) map[string]string {
	m := hmac.New(sha512.New, []byte(secret))
	m.Write([]byte(body))
	return map[string]string{"X-Hook-Signature": hex.EncodeToString(m.Sum(nil))}
}

func (ts *testServer) deliver(t *testing.T, id, body string, header map[string]string) *resp {
	t.Helper()
	return ts.do(t, req{method: "POST", path: "/api/v1/webhooks/run/" + id, body: body, header: header, noAuth: true})
}

func (ts *testServer) jobCount(t *testing.T) int {
	t.Helper()
	var jobs []api.Job
	ts.do(t, req{method: "GET", path: "/api/v1/jobs?limit=1000"}).want(t, http.StatusOK).decode(t, &jobs)
	return len(jobs)
}

// TestWebhooksKriten follows Kriten's API test suite (tests/test_webhooks.py): shapes and status codes.
func TestWebhooksKriten(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	for _, path := range []string{"/api/v1/webhooks", "/api/v1/webhooks/all"} {
		var list []api.Webhook
		ts.do(t, req{method: "GET", path: path}).want(t, http.StatusOK).decode(t, &list)
		if list == nil || len(list) != 0 {
			t.Errorf("GET %s = %v, want []", path, list)
		}
	}
	// A webhook may name a task that does not exist yet; the secret is optional.
	var withSecret, without api.Webhook
	ts.do(t, req{method: "POST", path: "/api/v1/webhooks", json: map[string]string{"description": "Test webhook x",
		"task": "task-x", "secret": "test-secret-key"}}).want(t, http.StatusOK).decode(t, &withSecret)
	if withSecret.ID == "" || withSecret.Secret != "test-secret-key" || withSecret.Owner == "" || withSecret.Scheme != api.WebhookSchemeAuto {
		t.Errorf("create = %+v, want an id, the owner, the secret once and scheme auto", withSecret)
	}
	ts.do(t, req{method: "POST", path: "/api/v1/webhooks", json: map[string]string{"description": "no secret",
		"task": "task-y"}}).want(t, http.StatusOK).decode(t, &without)
	if !strings.HasPrefix(without.Secret, "whsec_") || len(without.Secret) < 30 {
		t.Errorf("create without a secret answered secret %q, want a made whsec_ one", without.Secret)
	}
	var got api.Webhook
	ts.do(t, req{method: "GET", path: "/api/v1/webhooks/" + without.ID}).want(t, http.StatusOK).decode(t, &got)
	want := without
	want.Secret = ""
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /webhooks/{id} (-want +got):\n%s", diff)
	}
	var list []api.Webhook
	ts.do(t, req{method: "GET", path: "/api/v1/webhooks"}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 2 || list[0].Secret != "" || list[1].Secret != "" {
		t.Errorf("GET /webhooks = %+v, want both, without secrets", list)
	}
	ts.do(t, req{method: "DELETE", path: "/api/v1/webhooks/" + without.ID}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/webhooks/" + without.ID}).want(t, http.StatusNotFound).apiError(t)
	const zero = "00000000-0000-0000-0000-000000000000"
	ts.do(t, req{method: "GET", path: "/api/v1/webhooks/" + zero}).want(t, http.StatusNotFound)
	ts.do(t, req{method: "DELETE", path: "/api/v1/webhooks/" + zero}).want(t, http.StatusNotFound)
	ts.do(t, req{method: "GET", path: "/api/v1/webhooks", noAuth: true}).want(t, http.StatusUnauthorized)
	ts.do(t, req{method: "POST", path: "/api/v1/webhooks", noAuth: true,
		json: map[string]string{"description": "x", "task": "test-task"}}).want(t, http.StatusUnauthorized)
	for name, body := range map[string]string{
		"no target":    `{"secret":"test-secret-key"}`,
		"short secret": `{"task":"t","secret":"short"}`,
		"bad scheme":   `{"task":"t","scheme":"svix"}`,
		"owner set":    `{"task":"t","owner":"someone"}`,
		"not JSON":     `{"task":`,
	} {
		if res := ts.do(t, req{method: "POST", path: "/api/v1/webhooks", body: body}); res.status != http.StatusBadRequest {
			t.Errorf("create %s = %d %s, want 400", name, res.status, res.body)
		}
	}
}

// TestWebhookDelivery: a signed delivery runs a real job as the webhook's owner, with the body as its input; the
// same delivery again answers the first job; bad deliveries are 401 and run nothing; an owner who lost the right
// gets 403 and nothing runs; the secret is in no answer but the create's, and in no log. On both stores.
func TestWebhookDelivery(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		testWebhookDelivery(t, startServer(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dsn := pgtest.NewDatabase(t)
		testWebhookDelivery(t, startServer(t, func(c *Config) { c.Store = dsn }))
	})
}

func testWebhookDelivery(t *testing.T, ts *testServer) {
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "hello", Runner: "repo", Command: "sh hello.sh"})
	ts.createTask(t, api.Task{Name: "other", Runner: "repo", Command: "sh hello.sh"})
	ops := makePersona(t, ts, "ops", &api.Role{Resource: api.ResourceJobs, ResourceIDs: []string{"hello"}, Access: api.AccessWrite})

	// No widening of rights: ops may not make a webhook for a task whose jobs it may not start.
	ts.do(t, req{method: "POST", path: "/api/v1/webhooks", as: ops, json: api.Webhook{Task: "other"}}).
		want(t, http.StatusForbidden)
	const secret = "infrahub-shared-key-42"
	var hook, nb api.Webhook
	ts.do(t, req{method: "POST", path: "/api/v1/webhooks", as: ops, json: api.Webhook{Task: "hello", Secret: secret,
		Scheme: api.WebhookSchemeInfrahub, Description: "from Infrahub"}}).want(t, http.StatusOK).decode(t, &hook)
	ts.do(t, req{method: "POST", path: "/api/v1/webhooks", as: ops, json: api.Webhook{Task: "hello", Secret: secret + "-nb",
		Scheme: api.WebhookSchemeNetBox}}).want(t, http.StatusOK).decode(t, &nb)

	body := `{"event":"infrahub.node.updated","data":{"kind":"InfraDevice","action":"updated"}}`
	var first api.JobCreated
	ts.deliver(t, hook.ID, body, signStandard(secret, "msg_1", time.Now(), body)).want(t, http.StatusOK).decode(t, &first)
	if first.Msg != api.JobCreatedMsg || first.ID == "" {
		t.Fatalf("delivery answered %+v, want Kriten's job-created shape", first)
	}
	job := ts.waitFinal(t, first.ID)
	wantTrigger := &api.Trigger{Kind: api.TriggerWebhook, Name: hook.ID, Delivery: "msg_1"}
	if job.Owner != "ops" || job.Status != api.JobSucceeded || !cmp.Equal(job.Trigger, wantTrigger) {
		t.Errorf("job = owner %q status %s trigger %+v; want ops, succeeded, %+v", job.Owner, job.Status, job.Trigger, wantTrigger)
	}
	var result struct {
		Input json.RawMessage `json:"input"`
	}
	if err := json.Unmarshal(job.JSONData, &result); err != nil || string(result.Input) != body {
		t.Errorf("job saw input %s (%v), want the body %s", result.Input, err, body)
	}

	// The sender's retry (same webhook-id, signed again later) answers the first job.
	var again api.JobCreated
	ts.deliver(t, hook.ID, body, signStandard(secret, "msg_1", time.Now().Add(-time.Minute), body)).
		want(t, http.StatusOK).decode(t, &again)
	if again.ID != first.ID {
		t.Errorf("repeated webhook-id answered job %s, want the first job %s", again.ID, first.ID)
	}
	// Retries of one delivery that arrive together (the sender timed out while the first was in flight) start one
	// job between them.
	concurrent := signStandard(secret, "msg_concurrent", time.Now(), body)
	answers := make(chan string, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			hr, _ := http.NewRequestWithContext(t.Context(), "POST", ts.url+"/api/v1/webhooks/run/"+hook.ID, strings.NewReader(body))
			for k, v := range concurrent {
				hr.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(hr)
			if err != nil {
				answers <- err.Error()
				return
			}
			defer res.Body.Close()
			var c api.JobCreated
			if err := json.NewDecoder(res.Body).Decode(&c); err != nil || res.StatusCode != http.StatusOK {
				answers <- fmt.Sprintf("status %d: %v", res.StatusCode, err)
				return
			}
			answers <- c.ID
		})
	}
	wg.Wait()
	close(answers)
	seenIDs := map[string]int{}
	for a := range answers {
		seenIDs[a]++
	}
	if len(seenIDs) != 1 {
		t.Errorf("8 concurrent retries of one delivery answered %v, want one job", seenIDs)
	}
	// NetBox names no delivery: each is a job of its own.
	var n1, n2 api.JobCreated
	ts.deliver(t, nb.ID, body, signNetBox(secret+"-nb", body)).want(t, http.StatusOK).decode(t, &n1)
	ts.deliver(t, nb.ID, body, signNetBox(secret+"-nb", body)).want(t, http.StatusOK).decode(t, &n2)
	if n1.ID == n2.ID || n1.ID == "" {
		t.Errorf("two NetBox deliveries answered jobs %q and %q, want two jobs", n1.ID, n2.ID)
	}

	count := ts.jobCount(t)
	badSig := signStandard(secret, "msg_2", time.Now(), body)
	badSig["webhook-signature"] = signStandard("another-secret-entirely", "msg_2", time.Now(), body)["webhook-signature"]
	for _, tt := range []struct {
		name, id, body string
		header         map[string]string
	}{
		{"unsigned", hook.ID, body, nil},
		{"bad signature", hook.ID, body, badSig},
		{"body changed", hook.ID, `{"event":"x"}`, signStandard(secret, "msg_3", time.Now(), body)},
		{"stale", hook.ID, body, signStandard(secret, "msg_4", time.Now().Add(-6*time.Minute), body)},
		{"future", hook.ID, body, signStandard(secret, "msg_5", time.Now().Add(6*time.Minute), body)},
		{"another scheme", hook.ID, body, signNetBox(secret, body)},
		{"unknown webhook", "6d1f4a52-0f6e-4b8e-9d55-0c8d7b1e2a3f", body, signStandard(secret, "msg_6", time.Now(), body)},
		{"not an id", "nope", body, signStandard(secret, "msg_7", time.Now(), body)},
	} {
		res := ts.deliver(t, tt.id, tt.body, tt.header)
		if res.status != http.StatusUnauthorized {
			t.Errorf("delivery %s = %d %s, want 401", tt.name, res.status, res.body)
			continue
		}
		if e := res.apiError(t); e.Error != "webhook authentication failed" {
			t.Errorf("delivery %s: error %q, want the one answer for every refusal", tt.name, e.Error)
		}
	}
	// Too large: 413 before anything is verified or run.
	big := `{"pad":"` + strings.Repeat("x", 1<<20) + `"}`
	ts.deliver(t, hook.ID, big, signStandard(secret, "msg_big", time.Now(), big)).want(t, http.StatusRequestEntityTooLarge)
	// Signed but not JSON: 400, nothing runs.
	ts.deliver(t, hook.ID, "not json", signStandard(secret, "msg_8", time.Now(), "not json")).want(t, http.StatusBadRequest)
	if n := ts.jobCount(t); n != count {
		t.Errorf("refused deliveries left %d jobs, want %d", n, count)
	}

	// The owner loses the right: the next delivery is refused and runs nothing.
	ts.do(t, req{method: "PATCH", path: "/api/v1/roles/ops", json: map[string]any{"resource_ids": []string{"other-task"}}}).
		want(t, http.StatusOK)
	ts.deliver(t, hook.ID, body, signStandard(secret, "msg_9", time.Now(), body)).want(t, http.StatusForbidden)
	if n := ts.jobCount(t); n != count {
		t.Errorf("a refused owner's delivery left %d jobs, want %d", n, count)
	}

	// The secret was answered once, by its create, and never logged.
	ts.do(t, req{method: "GET", path: "/api/v1/webhooks/all"}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/webhooks", as: ops}).want(t, http.StatusOK)
	ts.do(t, req{method: "GET", path: "/api/v1/webhooks/" + hook.ID}).want(t, http.StatusOK)
	ts.Server.audit.Flush()
	var audit []api.AuditLog
	ts.do(t, req{method: "GET", path: "/api/v1/audit_logs?max=1000"}).want(t, http.StatusOK).decode(t, &audit)
	if n := strings.Count(ts.seen.String(), secret); n != 2 { // the two creates (one secret is secret+"-nb")
		t.Errorf("the secret appears in %d answers, want only in the two creates'", n)
	}
	if strings.Contains(ts.logs.String(), secret) {
		t.Errorf("the server logged the secret")
	}
	runs := 0
	for _, e := range audit {
		if e.EventCategory == api.ResourceWebhooks && e.EventType == "run" && e.EventTarget == hook.ID {
			runs++
		}
	}
	// Verified deliveries are audited: the first, its repeat, the 8 concurrent retries, the one refused (403).
	if runs != 11 {
		t.Errorf("audit log has %d deliveries to %s, want 11", runs, hook.ID)
	}
}

// TestWebhookWorkflow: a webhook naming a workflow starts a run as its owner, with the body as its parameters and
// the delivery recorded as what started it.
func TestWebhookWorkflow(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.do(t, req{method: "POST", path: "/api/v1/workflows", json: api.Workflow{Name: "deploy",
		Steps: []api.Step{{Name: "s", Image: "alpine", Command: api.Strings{"true"}}}}}).want(t, http.StatusOK)
	const secret = "github-webhook-secret"
	var hook api.Webhook
	ts.do(t, req{method: "POST", path: "/api/v1/webhooks", json: api.Webhook{Workflow: "deploy", Secret: secret,
		Scheme: api.WebhookSchemeGitHub}}).want(t, http.StatusOK).decode(t, &hook)
	body := `{"ref":"refs/heads/main"}`
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	header := map[string]string{"X-Hub-Signature-256": "sha256=" + hex.EncodeToString(m.Sum(nil)),
		"X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
	var created api.RunCreated
	ts.deliver(t, hook.ID, body, header).want(t, http.StatusOK).decode(t, &created)
	if created.Msg != api.RunCreatedMsg || created.ID == "" {
		t.Fatalf("delivery answered %+v, want a created run", created)
	}
	var run api.Run
	ts.do(t, req{method: "GET", path: "/api/v1/runs/" + created.ID}).want(t, http.StatusOK).decode(t, &run)
	want := &api.Trigger{Kind: api.TriggerWebhook, Name: hook.ID, Delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
	if run.Owner != "root" || run.Workflow != "deploy" || !cmp.Equal(run.Trigger, want) {
		t.Errorf("run = owner %q workflow %q trigger %+v; want root, deploy, %+v", run.Owner, run.Workflow, run.Trigger, want)
	}
	var again api.RunCreated
	ts.deliver(t, hook.ID, body, header).want(t, http.StatusOK).decode(t, &again)
	if again.ID != created.ID {
		t.Errorf("GitHub's redelivery answered run %q, want %q", again.ID, created.ID)
	}
}

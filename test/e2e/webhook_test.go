package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// TestWebhookDeliveries drives the real binary as Infrahub would: a webhook created through the client, signed
// Standard Webhooks deliveries POSTed without credentials, a real job started with the payload as its input, and,
// after a kill -9 and a restart, the sender's retry of the same delivery answered with the job it first started.
func TestWebhookDeliveries(t *testing.T) {
	data := t.TempDir()
	srv := startServe(t, data, "--isolation", "none")
	c := login(t, srv.url)
	ctx := t.Context()
	repo := gittest.URL(gittest.NewRepo(t, map[string]string{
		"show.sh": "#!/bin/sh\necho '^JSON'\necho \"{\\\"input\\\":${EXTRA_VARS:-null}}\"\necho '^JSON'\n",
	}))
	if _, err := c.CreateRunner(ctx, api.Runner{Name: "r", GitURL: repo}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTask(ctx, api.Task{Name: "on-change", Runner: "r", Command: "sh show.sh"}); err != nil {
		t.Fatal(err)
	}
	const secret = "e2e-infrahub-shared-key"
	hook, err := c.CreateWebhook(ctx, api.Webhook{Task: "on-change", Secret: secret, Scheme: api.WebhookSchemeInfrahub})
	if err != nil {
		t.Fatal(err)
	}

	body := `{"data":{"kind":"InfraDevice","action":"updated","node_id":"18f0"},"event":"infrahub.node.updated"}`
	deliver := func(url, id string, signed bool) (int, api.JobCreated) {
		t.Helper()
		hr, err := http.NewRequestWithContext(ctx, "POST", url+"/api/v1/webhooks/run/"+hook.ID, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		hr.Header.Set("Content-Type", "application/json")
		if signed {
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			m := hmac.New(sha256.New, []byte(secret))
			m.Write([]byte(id + "." + ts + "." + body))
			hr.Header.Set("webhook-id", id)
			hr.Header.Set("webhook-timestamp", ts)
			hr.Header.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
		}
		res, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var created api.JobCreated
		if res.StatusCode == http.StatusOK {
			if err := json.NewDecoder(res.Body).Decode(&created); err != nil {
				t.Fatal(err)
			}
		}
		return res.StatusCode, created
	}

	if status, _ := deliver(srv.url, "msg_e2e_1", false); status != http.StatusUnauthorized {
		t.Errorf("unsigned delivery = %d, want 401", status)
	}
	status, first := deliver(srv.url, "msg_e2e_1", true)
	if status != http.StatusOK || first.ID == "" || first.Msg != api.JobCreatedMsg {
		t.Fatalf("signed delivery = %d %+v, want Kriten's job-created answer", status, first)
	}
	var job api.Job
	waitFor(t, "the delivery's job to end", 60*time.Second, func() (bool, error) {
		job, err = c.GetJob(ctx, first.ID)
		return err == nil && job.Status.Final(), err
	})
	if job.Status != api.JobSucceeded || job.Owner != "root" || job.Trigger == nil ||
		*job.Trigger != (api.Trigger{Kind: api.TriggerWebhook, Name: hook.ID, Delivery: "msg_e2e_1"}) {
		t.Errorf("job = %s owner %q trigger %+v; want succeeded, root, the webhook's delivery", job.Status, job.Owner, job.Trigger)
	}
	var out struct{ Input json.RawMessage }
	if err := json.Unmarshal(job.JSONData, &out); err != nil || !bytes.Equal(out.Input, []byte(body)) {
		t.Errorf("the job saw %s (%v), want the delivery's body", out.Input, err)
	}

	// kill -9, restart: the sender's retry of the same delivery finds the first job; a new delivery runs anew.
	srv.kill()
	srv2 := startServe(t, data, "--isolation", "none")
	if status, again := deliver(srv2.url, "msg_e2e_1", true); status != http.StatusOK || again.ID != first.ID {
		t.Errorf("retry after restart = %d job %q, want 200 and the first job %q", status, again.ID, first.ID)
	}
	if status, next := deliver(srv2.url, "msg_e2e_2", true); status != http.StatusOK || next.ID == first.ID || next.ID == "" {
		t.Errorf("a new delivery = %d job %q, want a new job", status, next.ID)
	}
	for _, p := range []*serverProc{srv, srv2} {
		if strings.Contains(p.output.String(), secret) {
			t.Errorf("the server's output holds the webhook's secret")
		}
	}
}

package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// BenchmarkWebhookLatency measures a signed webhook delivery until the answer that its job is queued (Standard
// Webhooks signature verified, the owner's rights checked, the job created under the delivery's key) beside a plain
// asynchronous job submission by an API client, interleaved on one server (issue 14, item 7: target ≤ 1.2× at p50
// and p99). Both start the same task's jobs, which run meanwhile.
// Run: go test -run '^$' -bench WebhookLatency -benchtime 500x ./test/e2e/
func BenchmarkWebhookLatency(b *testing.B) {
	srv, c := benchServer(b, api.Task{Name: "mark", Command: "true"})
	ctx := context.Background()
	const secret = "bench-infrahub-shared-key"
	hook, err := c.CreateWebhook(ctx, api.Webhook{Task: "mark", Secret: secret, Scheme: api.WebhookSchemeInfrahub})
	if err != nil {
		b.Fatal(err)
	}
	body := `{"data":{"kind":"InfraDevice","action":"updated","node_id":"18f0"},"event":"infrahub.node.updated"}`
	hc := &http.Client{Timeout: time.Minute}
	deliver := func(id string) {
		hr, err := http.NewRequestWithContext(ctx, "POST", srv.url+"/api/v1/webhooks/run/"+hook.ID, strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(id + "." + ts + "." + body))
		hr.Header.Set("Content-Type", "application/json")
		hr.Header.Set("webhook-id", id)
		hr.Header.Set("webhook-timestamp", ts)
		hr.Header.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
		res, err := hc.Do(hr)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("delivery %s = %d", id, res.StatusCode)
		}
	}
	zero := time.Duration(0)
	submit := func() {
		if _, _, err := c.Submit(ctx, "mark", nil, client.SubmitOptions{Wait: &zero}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 10 { // warm both paths: connections, caches
		deliver(fmt.Sprintf("msg_warm_%d", i))
		submit()
	}
	var hooks, plain []time.Duration
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		deliver(fmt.Sprintf("msg_bench_%d", i))
		hooks = append(hooks, time.Since(t0))
		t1 := time.Now()
		submit()
		plain = append(plain, time.Since(t1))
	}
	b.StopTimer()
	for _, p := range []struct {
		name string
		q    float64
	}{{"p50", .5}, {"p99", .99}} {
		b.ReportMetric(ms(percentile(hooks, p.q)), "webhook-"+p.name+"-ms")
		b.ReportMetric(ms(percentile(plain, p.q)), "submit-"+p.name+"-ms")
		b.ReportMetric(float64(percentile(hooks, p.q))/float64(percentile(plain, p.q)), p.name+"-webhook-vs-submit")
	}
}

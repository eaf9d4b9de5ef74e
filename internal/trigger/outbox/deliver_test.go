package outbox_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/trigger/outbox"
)

func emit(t *testing.T, o *outbox.Outbox, id, typ string) {
	t.Helper()
	err := o.Emit(t.Context(), outbox.Event{ID: id, Type: typ, Subject: "s", Data: json.RawMessage(`{"n":1}`),
		Extensions: map[string]string{"shkeptncontext": "ctx-1"}})
	if err != nil {
		t.Fatalf("Emit(%q): %v", id, err)
	}
}

// TestJobAndRunEvents: a job's and a run's changes of status, made through the store as the engines make them,
// reach the sinks whose types match, as CloudEvents in structured mode, with the result only where asked.
func TestJobAndRunEvents(t *testing.T) {
	st := openStore(t, t.TempDir())
	all, jobs, runs := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
	createSink(t, st, api.EventSink{Name: "all", URL: all.srv.URL, IncludeResult: true})
	createSink(t, st, api.EventSink{Name: "jobs", URL: jobs.srv.URL, Types: []string{"dev.runplane.job."}})
	createSink(t, st, api.EventSink{Name: "runs", URL: runs.srv.URL + "/in?team=ops", Types: []string{"dev.runplane.run."}})
	ctx := t.Context()

	trig := &api.Trigger{Kind: api.TriggerCron, Name: "nightly"}
	if _, _, err := st.CreateJob(ctx, store.Job{Job: api.Job{ID: "hello-abcde", Owner: "ann", Task: "hello", Trigger: trig}}); err != nil {
		t.Fatal(err)
	}
	j, err := st.ClaimJob(ctx, time.Now(), store.Lease{Owner: "s1", Until: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	code := 0
	if _, err := st.FinishJob(ctx, j.ID, store.Finish{Status: api.JobSucceeded, ExitCode: &code, JSONData: []byte(`{"answer":42}`)}); err != nil {
		t.Fatal(err)
	}
	r, _, err := st.CreateRun(ctx, store.Run{Run: api.Run{ID: "deploy-fghij", Workflow: "deploy", Owner: "ann",
		Steps: []api.StepRun{{Name: "only", Status: api.StepPending}}}, Definition: api.Workflow{Name: "deploy"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	r.Status, r.StartTime = api.RunRunning, &now
	if r, err = st.UpdateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Status, r.CompletionTime = api.RunFailed, &now
	r.Steps[0].Outputs = map[string]json.RawMessage{"url": json.RawMessage(`"https://x"`)}
	if _, err := st.UpdateRun(ctx, r); err != nil {
		t.Fatal(err)
	}

	o := outbox.New(st, fastOptions(nil))
	runOutbox(t, o)
	waitFor(t, "4 events at sink all", func() bool { return len(all.events()) == 4 })
	waitFor(t, "2 events at sink jobs", func() bool { return len(jobs.events()) == 2 })
	waitFor(t, "2 events at sink runs", func() bool { return len(runs.events()) == 2 })

	if diff := cmp.Diff([]string{"job/hello-abcde/started", "job/hello-abcde/succeeded", "run/deploy-fghij/started",
		"run/deploy-fghij/failed"}, all.ids()); diff != "" {
		t.Errorf("sink all ids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"job/hello-abcde/started", "job/hello-abcde/succeeded"}, jobs.ids()); diff != "" {
		t.Errorf("sink jobs ids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"run/deploy-fghij/started", "run/deploy-fghij/failed"}, runs.ids()); diff != "" {
		t.Errorf("sink runs ids (-want +got):\n%s", diff)
	}
	got := all.events()[1]
	if ct := got.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/cloudevents+json") {
		t.Errorf("Content-Type = %q, want application/cloudevents+json", ct)
	}
	want := map[string]any{
		"specversion": "1.0", "id": "job/hello-abcde/succeeded", "source": "/runplane", "type": "dev.runplane.job.succeeded",
		"subject": "hello-abcde", "datacontenttype": "application/json",
		"data": map[string]any{"id": "hello-abcde", "task": "hello", "owner": "ann", "status": "succeeded",
			"trigger": map[string]any{"kind": "cron", "name": "nightly"}, "exit_code": float64(0),
			"json_data": map[string]any{"answer": float64(42)}},
	}
	if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(got.event["time"])); err != nil {
		t.Errorf("time = %v, want RFC 3339", got.event["time"])
	}
	delete(got.event, "time")
	if diff := cmp.Diff(want, got.event); diff != "" {
		t.Errorf("job succeeded event at sink all (-want +got):\n%s", diff)
	}
	// Without include_result: the same event without json_data, and a run's without outputs.
	jdata := jobs.events()[1].event["data"].(map[string]any)
	if _, ok := jdata["json_data"]; ok || jdata["status"] != "succeeded" {
		t.Errorf("job event data at sink jobs = %v, want status succeeded and no json_data", jdata)
	}
	started := jobs.events()[0].event["data"].(map[string]any)
	if started["status"] != "running" {
		t.Errorf("job started event data = %v, want status running", started)
	}
	rdata := runs.events()[1].event["data"].(map[string]any)
	if _, ok := rdata["outputs"]; ok || rdata["workflow"] != "deploy" || rdata["status"] != "failed" {
		t.Errorf("run event data at sink runs = %v, want workflow deploy, status failed, no outputs", rdata)
	}
	if out := all.events()[3].event["data"].(map[string]any)["outputs"]; out == nil {
		t.Errorf("run event at sink all has no outputs: %v", all.events()[3].event)
	}
}

// TestHeaders: literal headers and headers from a runner's secret are sent; the secret's value is never logged,
// not even when its sink fails; a header naming a secret that is gone fails the delivery until it is back.
func TestHeaders(t *testing.T) {
	const secretValue = "Bearer s3cr3t-t0ken-value"
	st := openStore(t, t.TempDir())
	ctx := t.Context()
	if err := st.CreateRunner(ctx, api.Runner{Name: "r", GitURL: "https://git.example.com/r.git",
		Secret: map[string]string{"sink_token": secretValue}}); err != nil {
		t.Fatal(err)
	}
	headers := map[string]api.HeaderValue{"X-Team": {Value: "ops"},
		"Authorization": {SecretRef: &api.SecretRef{Runner: "r", Key: "sink_token"}}}
	ok := newReceiver(t, nil)
	failing := newReceiver(t, func(n int) int {
		if n < 2 {
			return http.StatusUnauthorized
		}
		return 0
	})
	missing := newReceiver(t, nil)
	createSink(t, st, api.EventSink{Name: "ok", URL: ok.srv.URL, Headers: headers})
	createSink(t, st, api.EventSink{Name: "failing", URL: failing.srv.URL, Headers: headers})
	createSink(t, st, api.EventSink{Name: "missing", URL: missing.srv.URL, Headers: map[string]api.HeaderValue{
		"Authorization": {SecretRef: &api.SecretRef{Runner: "r", Key: "other_token"}}}})
	var logs logBuffer
	o := outbox.New(st, fastOptions(logs.logger()))
	emit(t, o, "e1", "x.y")
	runOutbox(t, o)

	waitFor(t, "the event at sink ok", func() bool { return len(ok.events()) == 1 })
	waitFor(t, "the event at sink failing", func() bool { return len(failing.events()) == 1 })
	for name, r := range map[string]*receiver{"ok": ok, "failing": failing} {
		h := r.events()[0].header
		if h.Get("Authorization") != secretValue || h.Get("X-Team") != "ops" {
			t.Errorf("sink %s got Authorization %q, X-Team %q; want the secret and ops", name, h.Get("Authorization"), h.Get("X-Team"))
		}
	}
	waitFor(t, "a logged failure of sink missing", func() bool {
		return strings.Contains(logs.String(), `runner \"r\" has no secret \"other_token\"`)
	})
	if n := len(missing.attempts()); n != 0 {
		t.Errorf("sink missing was sent %d requests without its header, want none", n)
	}
	// The secret comes back: the next attempt has it.
	if err := st.UpdateRunner(ctx, api.Runner{Name: "r", GitURL: "https://git.example.com/r.git",
		Secret: map[string]string{"sink_token": secretValue, "other_token": "v2-" + secretValue}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the event at sink missing", func() bool { return len(missing.events()) == 1 })
	if !strings.Contains(logs.String(), "401 Unauthorized") {
		t.Errorf("log does not tell why sink failing failed:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "s3cr3t") {
		t.Errorf("log holds the secret header's value:\n%s", logs.String())
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		n    int
		want time.Duration
	}{
		{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {9, 256 * time.Second}, {10, 5 * time.Minute},
		{100, 5 * time.Minute},
	}
	for _, tt := range tests {
		if got := outbox.Backoff(time.Second, 5*time.Minute, tt.n); got != tt.want {
			t.Errorf("Backoff(1s, 5m, %d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

// TestRetriesBackOff: a sink failing three times gets the event on the fourth attempt, each retry after the
// backoff (20ms, 40ms, 80ms), and once.
func TestRetriesBackOff(t *testing.T) {
	st := openStore(t, t.TempDir())
	r := newReceiver(t, func(n int) int {
		if n < 3 {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	createSink(t, st, api.EventSink{Name: "flaky", URL: r.srv.URL})
	reg := prometheus.NewRegistry()
	opts := fastOptions(nil)
	opts.Registerer = reg
	o := outbox.New(st, opts)
	emit(t, o, "e1", "x.y")
	runOutbox(t, o)
	waitFor(t, "the event at sink flaky", func() bool { return len(r.events()) == 1 })

	tried := r.attempts()
	if len(tried) != 4 {
		t.Fatalf("sink flaky was tried %d times, want 4", len(tried))
	}
	for i, min := range []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond} {
		if gap := tried[i+1].Sub(tried[i]); gap < min {
			t.Errorf("retry %d came %v after the failure before it, want at least %v", i+1, gap, min)
		}
	}
	waitFor(t, "the delivered count", func() bool {
		return value(o.Metrics().Delivered.WithLabelValues("flaky")) == 1
	})
	if got := value(o.Metrics().Failed.WithLabelValues("flaky")); got != 3 {
		t.Errorf("runplane_events_delivery_failures_total{sink=flaky} = %v, want 3", got)
	}
	waitFor(t, "an empty backlog", func() bool {
		return value(o.Metrics().Backlog.WithLabelValues("flaky")) == 0
	})
}

// TestSinkDownThenUp: a sink that is down (nothing listens) receives every event, once each and in order, when
// it is back; meanwhile a healthy sink and a sink that never answers do not hold each other up.
func TestSinkDownThenUp(t *testing.T) {
	st := openStore(t, t.TempDir())
	healthy := newReceiver(t, nil)
	hang := make(chan struct{})
	blackhole := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	t.Cleanup(func() { close(hang); blackhole.Close() })
	downAddr := freeAddr(t)
	createSink(t, st, api.EventSink{Name: "down", URL: "http://" + downAddr + "/events"})
	createSink(t, st, api.EventSink{Name: "healthy", URL: healthy.srv.URL})
	createSink(t, st, api.EventSink{Name: "hangs", URL: blackhole.URL})
	var logs logBuffer
	opts := fastOptions(logs.logger())
	opts.Timeout = 100 * time.Millisecond
	o := outbox.New(st, opts)
	runOutbox(t, o)

	var want []string
	for i := range 20 {
		id := fmt.Sprintf("e%02d", i)
		want = append(want, id)
		emit(t, o, id, "x.y")
	}
	waitFor(t, "every event at the healthy sink", func() bool { return len(healthy.events()) == 20 })
	waitFor(t, "a failed attempt at the down sink", func() bool {
		return strings.Contains(logs.String(), "sink=down") && strings.Contains(logs.String(), "connection refused")
	})

	// Back up, at the same address.
	ln, err := net.Listen("tcp", downAddr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", downAddr, err)
	}
	back := &receiver{}
	back.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(back.serve)}}
	back.srv.Start()
	t.Cleanup(back.srv.Close)
	waitFor(t, "every event at the sink that was down", func() bool { return len(back.firstIDs()) >= 20 })
	if diff := cmp.Diff(want, back.firstIDs()); diff != "" {
		t.Errorf("events at the sink that was down (-want +got):\n%s", diff)
	}
	// An event comes twice only when the answer to its first delivery came too late (a loaded machine can take
	// opts.Timeout to answer): at least once, with the same id.
	timedOut := slices.ContainsFunc(strings.Split(logs.String(), "\n"), func(l string) bool {
		return strings.Contains(l, "sink=down") && strings.Contains(l, "deadline exceeded")
	})
	if got := back.ids(); len(got) > len(want) && !timedOut {
		t.Errorf("the sink that was down received %d deliveries of %d events, and none timed out: %v", len(got), len(want), got)
	}
	if diff := cmp.Diff(want, healthy.ids()); diff != "" {
		t.Errorf("events at the healthy sink (-want +got):\n%s", diff)
	}
}

// TestResumeAfterRestart: events left undelivered when a server stopped are delivered by the next one, and a
// delivery a crashed server had claimed is taken over when its lease ends.
func TestResumeAfterRestart(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	var up atomic.Bool
	r := newReceiver(t, func(int) int {
		if !up.Load() {
			return http.StatusBadGateway
		}
		return 0
	})
	createSink(t, st, api.EventSink{Name: "s", URL: r.srv.URL})
	opts := fastOptions(nil)
	opts.ServerID = "first"
	first := outbox.New(st, opts)
	for i := range 5 {
		emit(t, first, fmt.Sprint("e", i), "x.y")
	}
	stop := runOutbox(t, first)
	waitFor(t, "a failed attempt", func() bool { return len(r.attempts()) > 0 })
	stop()

	// A crashed server holds a lease on one more event.
	emit(t, first, "e5", "x.y")
	if err := first.FanOutNow(t.Context()); err != nil {
		t.Fatal(err)
	}
	held, err := st.ClaimDeliveries(t.Context(), "s", time.Now().Add(time.Hour), store.Lease{Owner: "crashed",
		Until: time.Now().Add(300 * time.Millisecond)}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(held) == 0 {
		t.Fatal("the crashed server claimed nothing")
	}

	up.Store(true)
	// The next start: a new store handle on the same file, a new server.
	st2 := openStore(t, dir)
	opts.ServerID = "second"
	runOutbox(t, outbox.New(st2, opts))
	waitFor(t, "every event after the restart", func() bool { return len(r.events()) >= 6 })
	ids := r.ids()
	slices.Sort(ids)
	if diff := cmp.Diff([]string{"e0", "e1", "e2", "e3", "e4", "e5"}, ids); diff != "" {
		t.Errorf("events delivered (-want +got):\n%s", diff)
	}
}

// TestReplicas: two servers delivering from one store send each event once.
func TestReplicas(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	r := newReceiver(t, nil)
	createSink(t, st, api.EventSink{Name: "s", URL: r.srv.URL})
	opts := fastOptions(nil)
	opts.ServerID = "a"
	a := outbox.New(st, opts)
	opts.ServerID = "b"
	b := outbox.New(openStore(t, dir), opts)
	runOutbox(t, a)
	runOutbox(t, b)
	var want []string
	for i := range 40 {
		id := fmt.Sprintf("e%02d", i)
		want = append(want, id)
		emit(t, a, id, "x.y")
	}
	waitFor(t, "every event", func() bool { return len(r.events()) >= 40 })
	// Both are idle once the backlog is empty; anything sent twice would have arrived by then.
	waitFor(t, "an empty backlog", func() bool {
		due, pending, err := st.EventBacklog(t.Context())
		return err == nil && len(due) == 0 && pending == 0
	})
	ids := r.ids()
	slices.Sort(ids)
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("events delivered (-want +got):\n%s", diff)
	}
}

// TestRetention: events every sink received are pruned after the retention; their ids can then be used again.
func TestRetention(t *testing.T) {
	st := openStore(t, t.TempDir())
	r := newReceiver(t, nil)
	createSink(t, st, api.EventSink{Name: "s", URL: r.srv.URL})
	opts := fastOptions(nil)
	opts.Retention = time.Nanosecond
	o := outbox.New(st, opts)
	emit(t, o, "e1", "x.y")
	runOutbox(t, o)
	waitFor(t, "the event", func() bool { return len(r.events()) == 1 })
	waitFor(t, "the event pruned", func() bool {
		created, err := st.AppendEvent(t.Context(), store.OutboxEvent{ID: "e1", Type: "x.y", Event: []byte(`{}`)})
		return err == nil && created
	})
}

// value reads a counter's or gauge's value.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return -1
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

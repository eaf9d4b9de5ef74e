package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// sinkReceiver records the CloudEvents a real HTTP server on 127.0.0.1 is sent.
type sinkReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []map[string]any
	hdr []http.Header
}

func newSinkReceiver(t *testing.T) *sinkReceiver {
	r := &sinkReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var ev map[string]any
		_ = json.Unmarshal(b, &ev)
		if !strings.HasPrefix(req.Header.Get("Content-Type"), "application/cloudevents+json") {
			ev = map[string]any{"bad content type": req.Header.Get("Content-Type")}
		}
		r.mu.Lock()
		r.got, r.hdr = append(r.got, ev), append(r.hdr, req.Header.Clone())
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *sinkReceiver) events() ([]map[string]any, []http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.got...), append([]http.Header(nil), r.hdr...)
}

// TestEventSinkDelivery: a sink created through the API receives a job's started and succeeded events, with the
// header its secret names; the API never shows that secret.
func TestEventSinkDelivery(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	const token = "Bearer sink-s3cr3t"
	ts.createRunner(t, api.Runner{Name: "keys", GitURL: "file:///nonexistent", Secret: map[string]string{"sink": token}})
	ts.createTask(t, api.Task{Name: "answer", Runner: "repo", Command: `echo '^JSON{"answer":42}^JSON'`})
	rcv := newSinkReceiver(t)
	sink := api.EventSink{Name: "ops", URL: rcv.srv.URL + "/events", Types: []string{"dev.runplane.job."},
		Headers: map[string]api.HeaderValue{"Authorization": {SecretRef: &api.SecretRef{Runner: "keys", Key: "sink"}},
			"X-Team": {Value: "ops"}},
		IncludeResult: true}
	res := ts.do(t, req{method: "POST", path: "/api/v1/event_sinks", json: sink}).want(t, http.StatusOK)
	var got api.EventSink
	res.decode(t, &got)
	if got.Headers["Authorization"].SecretRef == nil || strings.Contains(string(res.body), "s3cr3t") {
		t.Errorf("POST /event_sinks answered %s, want the secretRef and never the value", res.body)
	}
	res = ts.do(t, req{method: "GET", path: "/api/v1/event_sinks"}).want(t, http.StatusOK)
	if !strings.Contains(string(res.body), `"secretRef":{"runner":"keys","key":"sink"}`) || strings.Contains(string(res.body), "s3cr3t") {
		t.Errorf("GET /event_sinks = %s, want the secretRef and never the value", res.body)
	}

	var job api.Job
	ts.do(t, req{method: "POST", path: "/api/v1/jobs/answer?wait=30s"}).want(t, http.StatusOK).decode(t, &job)
	if job.Status != api.JobSucceeded {
		t.Fatalf("job = %+v, want succeeded", job)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		evs, _ := rcv.events()
		if len(evs) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink received %v, want the job's two events", evs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	evs, hdrs := rcv.events()
	for i, want := range []string{"started", "succeeded"} {
		ev := evs[i]
		if ev["id"] != "job/"+job.ID+"/"+want || ev["type"] != "dev.runplane.job."+want || ev["subject"] != job.ID ||
			ev["specversion"] != "1.0" || ev["source"] == "" {
			t.Errorf("event %d = %v, want job/%s/%s", i, ev, job.ID, want)
		}
		if hdrs[i].Get("Authorization") != token || hdrs[i].Get("X-Team") != "ops" {
			t.Errorf("event %d headers Authorization %q, X-Team %q; want the secret and ops", i,
				hdrs[i].Get("Authorization"), hdrs[i].Get("X-Team"))
		}
	}
	data, _ := evs[1]["data"].(map[string]any)
	if data["task"] != "answer" || data["owner"] != "root" || data["status"] != "succeeded" ||
		data["json_data"] == nil {
		t.Errorf("succeeded event data = %v, want task answer, owner root, status succeeded and json_data", data)
	}
	if strings.Contains(ts.logs.String(), "s3cr3t") {
		t.Errorf("server log holds the sink's secret")
	}
}

// TestEventSinkAPI: the sink API's answers, the refusals included.
func TestEventSinkAPI(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.createRunner(t, api.Runner{Name: "keys", GitURL: "file:///nonexistent", Secret: map[string]string{"k": "v"}})
	ref := func(runner, key string) map[string]api.HeaderValue {
		return map[string]api.HeaderValue{"Authorization": {SecretRef: &api.SecretRef{Runner: runner, Key: key}}}
	}
	ok := api.EventSink{Name: "ok", URL: "https://hooks.example.com/e", Headers: ref("keys", "k")}
	ts.do(t, req{method: "POST", path: "/api/v1/event_sinks", json: ok}).want(t, http.StatusOK)

	tests := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		msg    string
	}{
		{"bad url", "POST", "/api/v1/event_sinks", api.EventSink{Name: "a", URL: "not a url"}, 400, "want an http or https URL"},
		{"ftp url", "POST", "/api/v1/event_sinks", api.EventSink{Name: "a", URL: "ftp://h/e"}, 400, "want an http or https URL"},
		{"credentials in url", "POST", "/api/v1/event_sinks", api.EventSink{Name: "a", URL: "https://u:p@h/e"}, 400, "credentials"},
		{"literal credential", "POST", "/api/v1/event_sinks", api.EventSink{Name: "a", URL: "https://h/e",
			Headers: map[string]api.HeaderValue{"Authorization": {Value: "Bearer x"}}}, 400, "name a runner secret"},
		{"unknown runner", "POST", "/api/v1/event_sinks", api.EventSink{Name: "a", URL: "https://h/e",
			Headers: ref("nope", "k")}, 400, `runner "nope" not found`},
		{"unknown key", "POST", "/api/v1/event_sinks", api.EventSink{Name: "a", URL: "https://h/e",
			Headers: ref("keys", "nope")}, 400, `runner "keys" has no secret "nope"`},
		{"bad name", "POST", "/api/v1/event_sinks", api.EventSink{Name: "A B", URL: "https://h/e"}, 400, "name"},
		{"malformed body", "POST", "/api/v1/event_sinks", `{"name":`, 400, ""},
		{"name taken", "POST", "/api/v1/event_sinks", ok, 409, `event sink "ok" already exists`},
		{"get missing", "GET", "/api/v1/event_sinks/nope", nil, 404, `event sink "nope" not found`},
		{"put missing", "PUT", "/api/v1/event_sinks/nope", api.EventSink{URL: "https://h/e"}, 404, `event sink "nope" not found`},
		{"put name mismatch", "PUT", "/api/v1/event_sinks/ok", api.EventSink{Name: "other", URL: "https://h/e"}, 400, "does not match"},
		{"put bad url", "PUT", "/api/v1/event_sinks/ok", api.EventSink{URL: "gopher://h/e"}, 400, "want an http or https URL"},
		{"put", "PUT", "/api/v1/event_sinks/ok", api.EventSink{URL: "https://elsewhere.example.com/", Types: []string{"dev."},
			Headers: ref("keys", "k")}, 200, ""},
		{"delete missing", "DELETE", "/api/v1/event_sinks/nope", nil, 404, `event sink "nope" not found`},
		{"delete", "DELETE", "/api/v1/event_sinks/ok", nil, 200, ""},
		{"deleted", "GET", "/api/v1/event_sinks/ok", nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req{method: tt.method, path: tt.path, json: tt.body}
			if s, ok := tt.body.(string); ok {
				r = req{method: tt.method, path: tt.path, body: s}
			}
			res := ts.do(t, r).want(t, tt.status)
			if tt.msg != "" {
				if e := res.apiError(t); !strings.Contains(e.Error, tt.msg) {
					t.Errorf("%s %s error = %q, want it to contain %q", tt.method, tt.path, e.Error, tt.msg)
				}
			}
		})
	}
}

// TestEventSinkRBAC: sinks need event_sinks access, and naming a runner's secret needs write access to the runner.
func TestEventSinkRBAC(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.createRunner(t, api.Runner{Name: "keys", GitURL: "file:///nonexistent", Secret: map[string]string{"k": "v"}})
	ts.do(t, req{method: "POST", path: "/api/v1/event_sinks", json: api.EventSink{Name: "root-sink", URL: "https://h/e"}}).
		want(t, http.StatusOK)
	sinksWrite := makePersona(t, ts, "sinks-writer", &api.Role{Resource: api.ResourceEventSinks, ResourceIDs: []string{"*"},
		Access: api.AccessWrite})
	sinksRead := makePersona(t, ts, "sinks-reader", &api.Role{Resource: api.ResourceEventSinks, ResourceIDs: []string{"*"},
		Access: api.AccessRead})
	oneSink := makePersona(t, ts, "one-sink", &api.Role{Resource: api.ResourceEventSinks, ResourceIDs: []string{"mine"},
		Access: api.AccessWrite})
	none := makePersona(t, ts, "nobody", nil)
	secret := map[string]api.HeaderValue{"Authorization": {SecretRef: &api.SecretRef{Runner: "keys", Key: "k"}}}

	tests := []struct {
		name   string
		as     string
		method string
		path   string
		body   any
		status int
	}{
		{"no role lists nothing", none, "GET", "/api/v1/event_sinks", nil, 403},
		{"reader lists", sinksRead, "GET", "/api/v1/event_sinks", nil, 200},
		{"reader may not create", sinksRead, "POST", "/api/v1/event_sinks", api.EventSink{Name: "r", URL: "https://h/e"}, 403},
		{"writer creates", sinksWrite, "POST", "/api/v1/event_sinks", api.EventSink{Name: "w", URL: "https://h/e"}, 200},
		{"writer may not name a runner's secret", sinksWrite, "POST", "/api/v1/event_sinks",
			api.EventSink{Name: "steal", URL: "https://attacker.example.com/", Headers: secret}, 403},
		{"writer may not name a missing runner either", sinksWrite, "POST", "/api/v1/event_sinks",
			api.EventSink{Name: "probe", URL: "https://h/e", Headers: map[string]api.HeaderValue{
				"Authorization": {SecretRef: &api.SecretRef{Runner: "nope", Key: "k"}}}}, 403},
		{"one sink: its own", oneSink, "POST", "/api/v1/event_sinks", api.EventSink{Name: "mine", URL: "https://h/e"}, 200},
		{"one sink: not another", oneSink, "POST", "/api/v1/event_sinks", api.EventSink{Name: "other", URL: "https://h/e"}, 403},
		{"one sink: not another's get", oneSink, "GET", "/api/v1/event_sinks/root-sink", nil, 403},
		{"one sink: not another's delete", oneSink, "DELETE", "/api/v1/event_sinks/root-sink", nil, 403},
		{"one sink: may not point it at a secret", oneSink, "PUT", "/api/v1/event_sinks/mine",
			api.EventSink{URL: "https://attacker.example.com/", Headers: secret}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.do(t, req{method: tt.method, path: tt.path, json: tt.body, as: tt.as}).want(t, tt.status)
		})
	}
	// The list holds only what the caller may read.
	var list []api.EventSink
	ts.do(t, req{method: "GET", path: "/api/v1/event_sinks", as: oneSink}).want(t, http.StatusOK).decode(t, &list)
	if len(list) != 1 || list[0].Name != "mine" {
		t.Errorf("GET /event_sinks as one-sink = %+v, want only mine", list)
	}
}

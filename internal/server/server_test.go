package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor/local"
	helmrelease "github.com/runplane/runplane/internal/platform/chart/helmchart/release"
	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) {
	// The test binary doubles as the local executor's job launcher.
	local.MaybeRunLauncher()
	// And as `runplane helm`, the step of Krateo compositions' jobs.
	helmrelease.MaybeRunStep()
	pgtest.Main(m) // runs the tests, then stops the PostgreSQL server tests on the postgres store started

}

const rootPassword = "root-password-for-tests"

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a server started in-process on 127.0.0.1:0 with a temp data dir, and a client logged in as root.
type testServer struct {
	*Server
	url     string
	token   string
	logs    *syncBuffer  // everything every component logged, at debug level
	console *syncBuffer  // what Open printed
	seen    *syncBuffer  // every response body the helpers received
	client  *http.Client // nil: http.DefaultClient
}

// startServer opens and runs a server; it stops at the end of the test. Options edit the config first.
func startServer(t *testing.T, opts ...func(*Config)) *testServer {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.RootPassword = rootPassword
	for _, o := range opts {
		o(&cfg)
	}
	ts := &testServer{logs: &syncBuffer{}, console: &syncBuffer{}, seen: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := Open(t.Context(), cfg, log, ts.console)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ts.Server, ts.url = s, s.URL()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", ts.logs.String())
		}
	})
	if cfg.RootPassword != "" {
		ts.token = ts.login(t, "root", cfg.RootPassword)
	}
	return ts
}

func (ts *testServer) login(t *testing.T, user, password string) string {
	t.Helper()
	res := ts.do(t, req{method: "POST", path: "/api/v1/login", noAuth: true,
		json: api.Login{Username: user, Password: password, Provider: "local"}})
	res.want(t, http.StatusOK)
	var lr api.LoginResponse
	res.decode(t, &lr)
	if lr.Token == "" {
		t.Fatalf("login answered no token: %s", res.body)
	}
	return lr.Token
}

// req is one API request. Without noAuth it carries root's token as a Bearer token.
type req struct {
	method, path string
	body         string // sent verbatim
	json         any    // marshalled when body is ""
	header       map[string]string
	noAuth       bool
	as           string // a session token to send instead of root's
}

type resp struct {
	status int
	header http.Header
	body   []byte
	req    req
}

func (ts *testServer) do(t *testing.T, r req) *resp {
	t.Helper()
	var body io.Reader
	switch {
	case r.body != "":
		body = strings.NewReader(r.body)
	case r.json != nil:
		b, err := json.Marshal(r.json)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	hr, err := http.NewRequestWithContext(t.Context(), r.method, ts.url+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	switch {
	case r.noAuth:
	case r.as != "":
		hr.Header.Set("Authorization", "Bearer "+r.as)
	default:
		hr.Header.Set("Authorization", "Bearer "+ts.token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	c := ts.client
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", r.method, r.path, err)
	}
	ts.seen.Write(b)
	ts.seen.Write([]byte("\n"))
	return &resp{status: res.StatusCode, header: res.Header, body: b, req: r}
}

// want fails the test unless the status is status.
func (r *resp) want(t *testing.T, status int) *resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s %s = %d %s, want %d", r.req.method, r.req.path, r.status, r.body, status)
	}
	return r
}

func (r *resp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s %s: decode %s: %v", r.req.method, r.req.path, r.body, err)
	}
}

// apiError decodes the error body, checking that failures answer JSON.
func (r *resp) apiError(t *testing.T) api.Error {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: error Content-Type = %q, want application/json", r.req.method, r.req.path, ct)
	}
	var e api.Error
	r.decode(t, &e)
	if e.Error == "" {
		t.Errorf("%s %s: error body %s has no message", r.req.method, r.req.path, r.body)
	}
	return e
}

// waitFinal follows the job's log until the job ends (the stream ends with it) and returns the final job.
func (ts *testServer) waitFinal(t *testing.T, id string) api.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, "GET", ts.url+"/api/v1/jobs/"+id+"/log?follow=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Authorization", "Bearer "+ts.token)
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatalf("follow %s: %v", id, err)
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("follow %s: %v", id, err)
	}
	var j api.Job
	ts.do(t, req{method: "GET", path: "/api/v1/jobs/" + id}).want(t, http.StatusOK).decode(t, &j)
	if !j.Status.Final() {
		t.Fatalf("job %s is %s after its log ended", id, j.Status)
	}
	return j
}

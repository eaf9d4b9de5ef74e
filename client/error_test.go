package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

func TestErrorIs(t *testing.T) {
	sentinels := []error{ErrInvalid, ErrUnauthorized, ErrForbidden, ErrNotFound, ErrConflict, ErrTooLarge, ErrTooManyRequests}
	tests := []struct {
		status int
		want   error
	}{
		{400, ErrInvalid}, {401, ErrUnauthorized}, {403, ErrForbidden}, {404, ErrNotFound},
		{409, ErrConflict}, {413, ErrTooLarge}, {429, ErrTooManyRequests}, {500, nil}, {502, nil},
	}
	for _, tt := range tests {
		err := error(&Error{StatusCode: tt.status, Message: "m"})
		for _, s := range sentinels {
			if got := errors.Is(err, s); got != (s == tt.want) {
				t.Errorf("errors.Is(status %d, %v) = %v, want %v", tt.status, s, got, s == tt.want)
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-1", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.header, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

// TestErrorBodies injects what proxies and broken servers answer: the client must still produce a clear error.
func TestErrorBodies(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
		want   *Error
	}{
		{"api error", 404, "application/json", `{"error":"runner \"x\" not found"}`,
			&Error{StatusCode: 404, Message: `runner "x" not found`}},
		{"api error with fields", 400, "application/json",
			`{"error":"input does not match the schema","fields":[{"path":"/name","message":"required"}]}`,
			&Error{StatusCode: 400, Message: "input does not match the schema",
				Fields: []api.FieldError{{Path: "/name", Message: "required"}}}},
		{"html from a proxy", 502, "text/html", "<html><body>Bad Gateway</body></html>\n<p>more</p>",
			&Error{StatusCode: 502, Message: "<html><body>Bad Gateway</body></html>"}},
		{"plain text", 404, "text/plain", "404 page not found\n", &Error{StatusCode: 404, Message: "404 page not found"}},
		{"empty body", 503, "", "", &Error{StatusCode: 503, Message: "service unavailable"}},
		{"json without error field", 500, "application/json", `{"msg":"x"}`, &Error{StatusCode: 500, Message: `{"msg":"x"}`}},
		{"huge body", 500, "text/plain", strings.Repeat("y", 1<<20),
			&Error{StatusCode: 500, Message: strings.Repeat("y", 200) + "..."}},
		{"throttled", 429, "application/json", `{"error":"too many failed logins: try again in 4s"}`,
			&Error{StatusCode: 429, Message: "too many failed logins: try again in 4s", RetryAfter: 4 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.ctype != "" {
					w.Header().Set("Content-Type", tt.ctype)
				}
				if tt.status == http.StatusTooManyRequests {
					w.Header().Set("Retry-After", "4")
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c, err := New(srv.URL, WithToken("t"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetRunner(t.Context(), "x")
			var got *Error
			if !errors.As(err, &got) {
				t.Fatalf("GetRunner error = %v (%T), want *Error", err, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRequest checks what goes on the wire where the real server cannot tell: headers and the query.
func TestRequest(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(r.Context())
		_, _ = w.Write([]byte(`{"msg":"job created successfully","id":"t-abcde"}`))
	}))
	defer srv.Close()
	c, err := New(srv.URL+"/prefix/", WithToken("tok"), WithUserAgent("ua/1"), WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	wait := time.Duration(0)
	job, finished, err := c.Submit(t.Context(), "t", []byte(`{}`), SubmitOptions{Wait: &wait, IdempotencyKey: "k"})
	if err != nil || finished || job.ID != "t-abcde" || job.Task != "t" {
		t.Fatalf("Submit = %+v, %v, %v", job, finished, err)
	}
	want := map[string]string{
		"path": "/prefix/api/v1/jobs/t", "query": "wait=0s", "Authorization": "Bearer tok",
		"User-Agent": "ua/1", "Idempotency-Key": "k", "Content-Type": "application/json",
	}
	have := map[string]string{"path": got.URL.Path, "query": got.URL.RawQuery}
	for k := range want {
		if v := got.Header.Get(k); v != "" {
			have[k] = v
		}
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
}

// TestAuthHeaders checks which credential goes on the wire: an API token as the Token header, in preference to a
// session token sent as a Bearer token.
func TestAuthHeaders(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		_, _ = w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	tests := []struct {
		name        string
		opts        []Option
		token, auth string
	}{
		{"none", nil, "", ""},
		{"session", []Option{WithToken("jwt")}, "", "Bearer jwt"},
		{"API token", []Option{WithAPIToken("rpat_k")}, "rpat_k", ""},
		{"both", []Option{WithToken("jwt"), WithAPIToken("rpat_k")}, "rpat_k", ""},
	}
	for _, tt := range tests {
		c, err := New(srv.URL, tt.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ListUsers(t.Context()); err != nil {
			t.Fatalf("%s: ListUsers: %v", tt.name, err)
		}
		if got.Get("Token") != tt.token || got.Get("Authorization") != tt.auth {
			t.Errorf("%s: Token %q, Authorization %q; want %q, %q", tt.name, got.Get("Token"), got.Get("Authorization"), tt.token, tt.auth)
		}
	}
}

// TestContext checks that every call gives up when its context ends, even if the server never answers.
func TestContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	c, err := New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func(ctx context.Context) error{
		"ListRunners": func(ctx context.Context) error { _, err := c.ListRunners(ctx); return err },
		"Submit":      func(ctx context.Context) error { _, _, err := c.Submit(ctx, "t", nil, SubmitOptions{}); return err },
		"Log":         func(ctx context.Context) error { _, err := c.Log(ctx, "t-abcde", true); return err },
		"Health":      func(ctx context.Context) error { return c.Health(ctx) },
	}
	for name, call := range calls {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- call(ctx) }()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: error %v, want context.Canceled", name, err)
		}
	}
}

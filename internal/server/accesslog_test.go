package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestAccessLogIdentifiesRequests checks that each access log line names the caller, the client's address and
// the request's id, and that the id is answered as X-Request-Id: the caller's own when it is plausible, else a
// new one.
func TestAccessLogIdentifiesRequests(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	long := strings.Repeat("x", 129)
	tests := []struct {
		name   string
		req    req
		sentID string // X-Request-Id sent; "" for none
		keep   bool   // the answer's id is the one sent
		want   []string
	}{
		{name: "caller's id kept", req: req{method: "GET", path: "/api/v1/runners"}, sentID: "trace-42.abc/7", keep: true,
			want: []string{"route=/api/v1/runners", "status=200", "user=root", "client=127.0.0.1", "request_id=trace-42.abc/7"}},
		{name: "no id: one is made", req: req{method: "GET", path: "/api/v1/tasks"},
			want: []string{"route=/api/v1/tasks", "user=root", "client=127.0.0.1"}},
		{name: "too long: replaced", req: req{method: "GET", path: "/api/v1/jobs"}, sentID: long,
			want: []string{"route=/api/v1/jobs", "user=root"}},
		{name: "with a space: replaced", req: req{method: "GET", path: "/api/v1/users"}, sentID: "a b",
			want: []string{"route=/api/v1/users", "user=root"}},
		{name: "anonymous", req: req{method: "GET", path: "/api/v1/groups", noAuth: true}, sentID: "anon-1", keep: true,
			want: []string{"route=/api/v1/groups", "status=401", `user=""`, "client=127.0.0.1", "request_id=anon-1"}},
		{name: "public route", req: req{method: "GET", path: "/api/v1/openapi.json", noAuth: true}, sentID: "doc-1", keep: true,
			want: []string{"route=/api/v1/openapi.json", "status=200", "request_id=doc-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.req
			if tt.sentID != "" {
				r.header = map[string]string{"X-Request-Id": tt.sentID}
			}
			res := ts.do(t, r)
			id := res.header.Get("X-Request-Id")
			switch {
			case tt.keep && id != tt.sentID:
				t.Fatalf("X-Request-Id = %q, want the one sent, %q", id, tt.sentID)
			case !tt.keep && (id == "" || id == tt.sentID || len(id) > 128 || strings.ContainsAny(id, " \t")):
				t.Fatalf("X-Request-Id = %q, want a new id (sent %q)", id, tt.sentID)
			}
			line := logLine(ts.logs.String(), `msg="http request"`, "request_id="+id)
			if line == "" {
				t.Fatalf("no access log line with request_id=%s in:\n%s", id, ts.logs.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(line, w) {
					t.Errorf("access log line %q lacks %s", line, w)
				}
			}
			if strings.Contains(line, ts.token) || strings.Contains(line, "Bearer") {
				t.Errorf("access log line %q holds the caller's credentials", line)
			}
		})
	}
	// Other requests' ids are new ones each.
	a := ts.do(t, req{method: "GET", path: "/healthz", noAuth: true}).want(t, http.StatusOK).header.Get("X-Request-Id")
	b := ts.do(t, req{method: "GET", path: "/healthz", noAuth: true}).want(t, http.StatusOK).header.Get("X-Request-Id")
	if a == "" || a == b {
		t.Errorf("two requests got ids %q and %q, want two different ids", a, b)
	}
}

// logLine returns the first line of logs holding every one of parts; "" when none does.
func logLine(logs string, parts ...string) string {
	for _, line := range strings.Split(logs, "\n") {
		ok := true
		for _, p := range parts {
			// A value ends at a space or the end of the line: request_id=a must not match request_id=ab.
			i := strings.Index(line, p)
			ok = ok && i >= 0 && (i+len(p) == len(line) || line[i+len(p)] == ' ')
		}
		if ok {
			return line
		}
	}
	return ""
}

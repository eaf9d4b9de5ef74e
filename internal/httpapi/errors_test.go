package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/imagepolicy"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/store"
)

var (
	allowlist, _  = imagepolicy.Parse([]string{"docker.io/library/*", "registry.corp/**"})
	notAllowed    = allowlist.Check("evil.io/x:1")
	notAllowedMsg = `image "evil.io/x:1" is not allowed: allowed images are docker.io/library/*, registry.corp/**`
)

func TestCheckImage(t *testing.T) {
	t.Parallel()
	h := &Handler{images: allowlist}
	for _, image := range []string{"", "busybox:1.36", "registry.corp/team/app@sha256:" + strings.Repeat("a", 64)} {
		if err := h.checkImage(image); err != nil {
			t.Errorf("checkImage(%q) = %v, want nil", image, err)
		}
	}
	err := h.checkImage("evil.io/x:1")
	if !errors.Is(err, imagepolicy.ErrNotAllowed) {
		t.Errorf("checkImage(evil.io/x:1) = %v, want it to wrap imagepolicy.ErrNotAllowed", err)
	}
	if err := (&Handler{}).checkImage("evil.io/x:1"); err != nil {
		t.Errorf("checkImage without an allowlist = %v, want nil", err)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	fields := []api.FieldError{{Path: "/n", Message: "want integer"}}
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   api.Error
	}{
		{"invalid", api.Invalidf("name is required"), 400, api.Error{Error: "name is required"}},
		{"invalid with fields", fmt.Errorf("submit: %w", &api.InvalidError{Msg: "input fails schema", Fields: fields}), 400, api.Error{Error: "input fails schema", Fields: fields}},
		{"too large", fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 1024}), 413, api.Error{Error: "request body larger than 1024 bytes"}},
		{"auth error", &auth.Error{Msg: "invalid or expired token"}, 401, api.Error{Error: "invalid or expired token"}},
		{"bare unauthenticated", auth.ErrUnauthenticated, 401, api.Error{Error: "authentication required"}},
		{"not found with message", withMsg(store.ErrNotFound, "runner %q not found", "x"), 404, api.Error{Error: `runner "x" not found`}},
		{"not found bare", fmt.Errorf("sqlite: get: %w", store.ErrNotFound), 404, api.Error{Error: "not found"}},
		{"task not found from engine", withMsg(fmt.Errorf("task %q: %w", "t", jobs.ErrTaskNotFound), "task %q not found", "t"), 404, api.Error{Error: `task "t" not found`}},
		{"conflict", withMsg(jobs.ErrFinished, "job %q already finished", "j"), 409, api.Error{Error: `job "j" already finished`}},
		{"internal", errors.New("sqlite: disk I/O error at /secret/path"), 500, api.Error{Error: "internal server error"}},
		{"deadline", context.DeadlineExceeded, 500, api.Error{Error: "internal server error"}},
		{"forbidden", forbidden(api.AccessWrite, "runners"), 403, api.Error{Error: "forbidden: write access to runners required"}},
		{"invalid reference", fmt.Errorf("x: %w", store.ErrInvalid), 400, api.Error{Error: "invalid reference"}},
		{"store unavailable", fmt.Errorf("postgres: get job: dial tcp 10.0.0.5:5432: connect: connection refused: %w", store.ErrUnavailable), 503,
			api.Error{Error: "the database is unavailable: retry shortly"}},
		{"directory unavailable", fmt.Errorf("ldap: dial: %w", auth.ErrDirectoryUnavailable), 503, api.Error{Error: "the directory cannot be reached: try again later"}},
		{"throttled", &auth.ThrottledError{RetryAfter: 2 * time.Second}, 429, api.Error{Error: "too many failed logins: try again in 2s"}},
		{"owner's queue full", fmt.Errorf("submit: %w", &jobs.QueueFullError{Owner: "alice", Max: 3, RetryAfter: time.Second}), 429,
			api.Error{Error: "alice already has 3 jobs queued, the most this server allows: submit again once some have started"}},
		{"image not allowed at submit", fmt.Errorf("submit: runner %q: %w", "r", notAllowed), 403, api.Error{Error: notAllowedMsg}},
		{"image not allowed at save", (&Handler{images: allowlist}).checkImage("evil.io/x:1"), 400, api.Error{Error: notAllowedMsg}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := classify(tt.err)
			if status != tt.wantStatus {
				t.Errorf("classify(%v) status = %d, want %d", tt.err, status, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantBody, body); diff != "" {
				t.Errorf("classify(%v) body (-want +got):\n%s", tt.err, diff)
			}
		})
	}
}

func TestPageSlice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		p     page
		total int
		want  span
	}{
		{"everything", page{}, 5, span{0, 5, 5}},
		{"limit", page{limit: 2}, 5, span{0, 2, 2}},
		{"offset and limit", page{limit: 2, offset: 4}, 5, span{4, 5, 1}},
		{"offset past the end", page{limit: 2, offset: 9}, 5, span{5, 5, 0}},
		{"empty list", page{limit: 2}, 0, span{0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.p.slice(tt.total); got != tt.want {
				t.Errorf("%+v.slice(%d) = %+v, want %+v", tt.p, tt.total, got, tt.want)
			}
		})
	}
}

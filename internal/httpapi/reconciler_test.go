package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/store"
)

// recorder is a PromiseReconciler that records what it is told and answers ChangeDeleting with deleting.
type recorder struct {
	mu       sync.Mutex
	calls    []string
	deleting error
}

func (r *recorder) ReconcilePromise(_ context.Context, c Change, p store.Promise) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "promise "+string(c)+" "+p.Metadata.Name)
	if c == ChangeDeleting {
		return r.deleting
	}
	return nil
}

func (r *recorder) ReconcileRequest(_ context.Context, c Change, p store.Promise, rr store.ResourceRequest) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "request "+string(c)+" "+p.Metadata.Name+"/"+rr.Metadata.Namespace+"/"+rr.Metadata.Name)
	if c == ChangeDeleting {
		return r.deleting
	}
	return nil
}

const seamPromise = `apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata: {name: redis}
spec:
  api:
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: redis.example.dev}
    spec:
      group: example.dev
      names: {kind: Redis, plural: redis}
      scope: Namespaced
      versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, properties: {spec: {type: object, x-kubernetes-preserve-unknown-fields: true}}}}}]
`

// TestReconcilerSeam: the routes tell the PromiseReconciler of each stored change, in order, and leave a delete
// it defers to it (202, nothing removed); a dry run tells it nothing.
func TestReconcilerSeam(t *testing.T) {
	t.Parallel()
	st := sealedStore(t)
	rec := &recorder{}
	h := &Handler{st: st, reconciler: rec, log: slog.New(slog.DiscardHandler)}
	admin := auth.Principal{Username: "root", Grants: []api.Role{{Resource: "*", ResourceIDs: []string{"*"}, Access: api.AccessWrite}}}
	call := func(fn handlerFunc, method, target, body string, values map[string]string, dry bool) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequestWithContext(auth.WithPrincipal(t.Context(), admin), method, target, strings.NewReader(body))
		for k, v := range values {
			r.SetPathValue(k, v)
		}
		if dry {
			r = r.WithContext(context.WithValue(r.Context(), dryRunKey{}, &dryRunState{view: st, principal: admin}))
		}
		w := httptest.NewRecorder()
		if err := fn(w, r); err != nil {
			status, _ := classify(err)
			w.Code = status
			w.Body.WriteString(err.Error())
		}
		return w
	}
	req := "apiVersion: example.dev/v1\nkind: Redis\nmetadata: {name: cache}\nspec: {size: small}\n"
	steps := []struct {
		fn     handlerFunc
		method string
		body   string
		values map[string]string
		dry    bool
		status int
	}{
		{h.createPromise, "POST", seamPromise, nil, false, 200},
		{h.putPromise, "PUT", seamPromise, map[string]string{"name": "redis"}, false, 200},
		{h.createRequest, "POST", req, map[string]string{"promise": "redis"}, false, 200},
		{h.createRequest, "POST", strings.Replace(req, "cache", "dry", 1), map[string]string{"promise": "redis"}, true, 200},
		{h.patchRequest, "PATCH", `{"spec": {"size": "large"}}`, map[string]string{"promise": "redis", "name": "cache"}, false, 200},
		{h.deleteRequest, "DELETE", "", map[string]string{"promise": "redis", "name": "cache"}, false, 200},
	}
	for i, s := range steps {
		if w := call(s.fn, s.method, "/x", s.body, s.values, s.dry); w.Code != s.status {
			t.Fatalf("step %d (%s) = %d %s, want %d", i, s.method, w.Code, w.Body, s.status)
		}
	}
	want := []string{"promise created redis", "promise updated redis", "request created redis/default/cache",
		"request updated redis/default/cache", "request deleting redis/default/cache", "request deleted redis/default/cache"}
	if strings.Join(rec.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("reconciler was told:\n%s\nwant:\n%s", strings.Join(rec.calls, "\n"), strings.Join(want, "\n"))
	}

	// A deferred delete: 202, and the request stays for the delete workflow to remove.
	rec.deleting = ErrDeleteDeferred
	if w := call(h.createRequest, "POST", "/x", req, map[string]string{"promise": "redis"}, false); w.Code != 200 {
		t.Fatalf("create = %d %s", w.Code, w.Body)
	}
	if w := call(h.deleteRequest, "DELETE", "/x", "", map[string]string{"promise": "redis", "name": "cache"}, false); w.Code != http.StatusAccepted {
		t.Fatalf("deferred delete = %d %s, want 202", w.Code, w.Body)
	}
	if _, err := st.GetResourceRequest(t.Context(), "redis", "default", "cache"); err != nil {
		t.Errorf("after a deferred delete, GetResourceRequest = %v, want the request still stored", err)
	}
	// Another error fails the delete and keeps the request.
	rec.deleting = errors.New("boom")
	if w := call(h.deleteRequest, "DELETE", "/x", "", map[string]string{"promise": "redis", "name": "cache"}, false); w.Code != http.StatusInternalServerError {
		t.Fatalf("failed delete = %d %s, want 500", w.Code, w.Body)
	}
	if _, err := st.GetResourceRequest(t.Context(), "redis", "default", "cache"); err != nil {
		t.Errorf("after a failed delete, GetResourceRequest = %v, want the request still stored", err)
	}
}

// checking is a recorder that is also a PromiseChecker refusing every promise whose pipelineNamespace is not
// "jobs" (as the controller refuses one its Kubernetes executor cannot run).
type checking struct{ recorder }

func (c *checking) CheckPromise(_ context.Context, p api.Promise) error {
	if ns := p.Spec.Workflows.Config.PipelineNamespace; ns != "" && ns != "jobs" {
		return api.Invalidf("spec.workflows.config.pipelineNamespace: Unsupported value: %q", ns)
	}
	return nil
}

// TestPromiseChecker: a reconciler that checks promises is asked before one is stored, on create and replace;
// its refusal is a 400 with its message, nothing is stored or changed, and the reconciler is told of nothing.
func TestPromiseChecker(t *testing.T) {
	t.Parallel()
	st := sealedStore(t)
	rec := &checking{}
	h := &Handler{st: st, reconciler: rec, log: slog.New(slog.DiscardHandler)}
	admin := auth.Principal{Username: "root", Grants: []api.Role{{Resource: "*", ResourceIDs: []string{"*"}, Access: api.AccessWrite}}}
	withNS := func(ns string) string {
		return seamPromise + "  workflows: {config: {pipelineNamespace: " + ns + "}}\n"
	}
	tests := []struct {
		name   string
		fn     handlerFunc
		body   string
		status int
		want   string
	}{
		{"create in another namespace", h.createPromise, withNS("team-a"), 400, `pipelineNamespace: Unsupported value: "team-a"`},
		{"create in the job namespace", h.createPromise, withNS("jobs"), 200, ""},
		{"replace with another namespace", h.putPromise, withNS("team-b"), 400, `Unsupported value: "team-b"`},
	}
	for _, tc := range tests {
		r := httptest.NewRequestWithContext(auth.WithPrincipal(t.Context(), admin), "POST", "/x", strings.NewReader(tc.body))
		r.SetPathValue("name", "redis")
		w := httptest.NewRecorder()
		if err := tc.fn(w, r); err != nil {
			w.Code, _ = classify(err)
			w.Body.WriteString(err.Error())
		}
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.want) {
			t.Fatalf("%s = %d %s, want %d with %q", tc.name, w.Code, w.Body, tc.status, tc.want)
		}
	}
	p, err := st.GetPromise(t.Context(), "redis")
	if err != nil || p.Spec.Workflows.Config.PipelineNamespace != "jobs" {
		t.Errorf("stored promise = %+v, %v; want the accepted one, unchanged", p.Spec.Workflows.Config, err)
	}
	if got := strings.Join(rec.calls, "\n"); got != "promise created redis" {
		t.Errorf("reconciler was told %q, want only the accepted create", got)
	}
}

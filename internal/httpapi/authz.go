package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/rbac"
	"github.com/runplane/runplane/internal/store"
)

// ErrForbidden is an RBAC denial; the API answers 403.
var ErrForbidden = errors.New("httpapi: forbidden")

// Authz is how the route adapter authorizes a request before its handler runs. The verb is read for GET and
// write for every other method.
type Authz int

const (
	// Authenticated: any caller with valid credentials. The handler confines the caller to what is theirs (their
	// own API tokens, their own session).
	Authenticated Authz = iota
	// List: read on at least one object of the resource; the handler filters the list to what the caller may read.
	List
	// Create: write on at least one object of the resource; the handler checks the name of the object created.
	Create
	// Object: the verb on the object the path wildcard Param names, resolved to every name it goes by (a group
	// by id and name, a job by its task). With Own, the object's owner passes too (a user reading or changing
	// their own record, the owner of an API token).
	Object
)

// forbidden is a 403 naming what was refused, never what exists.
func forbidden(verb api.Access, resource string) error {
	return withMsg(ErrForbidden, "forbidden: %s access to %s required", verb, resource)
}

// verbOf is the access a request needs.
func verbOf(r *http.Request) api.Access {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return api.AccessRead
	}
	return api.AccessWrite
}

// authorize runs a route's check for principal p.
func (h *Handler) authorize(r *http.Request, rt Route, p auth.Principal) error {
	verb := verbOf(r)
	switch rt.Authz {
	case Authenticated:
		return nil
	case List:
		// A reader of runs may list their jobs (GET /jobs?run=), as it may read each of them.
		// A requester of a promise's resources reads the promise: its API is what a request is written against.
		if !rbac.Any(p.Grants, api.AccessRead, rt.Resource) &&
			!(rt.Resource == api.ResourceJobs && rbac.Any(p.Grants, api.AccessRead, api.ResourceRuns)) &&
			!(rt.Resource == api.ResourcePromises && rbac.Any(p.Grants, api.AccessRead, api.ResourceResources)) {
			return forbidden(api.AccessRead, rt.Resource)
		}
		return nil
	case Create:
		if !rbac.Any(p.Grants, api.AccessWrite, rt.Resource) {
			return forbidden(api.AccessWrite, rt.Resource)
		}
		return nil
	case Object:
		t, err := h.target(r.Context(), rt, r.PathValue(rt.Param))
		if err != nil {
			return err
		}
		if rt.Own && t.owner != "" && t.owner == p.UserID {
			return nil
		}
		if t.workflow != "" && rbac.Allow(p.Grants, verb, api.ResourceRuns, t.workflow) {
			return nil // a workflow step's job: the run's readers read it, its starters cancel it
		}
		for _, id := range t.names {
			if rbac.Allow(p.Grants, verb, rt.Resource, id) {
				return nil
			}
			if rt.Resource == api.ResourcePromises && verb == api.AccessRead && rbac.Allow(p.Grants, verb, api.ResourceResources, id) {
				return nil // a requester of its resources reads the promise
			}
		}
		return forbidden(verb, rt.Resource)
	}
	return forbidden(verb, rt.Resource)
}

// target is an object as RBAC sees it: every name a role may list it by, and its owner if it has one.
type target struct {
	names []string
	owner string
	// workflow, for the job of a workflow step, is its run's workflow: runs access to it passes too.
	workflow string
}

// target resolves the object a route's wildcard names. An object that does not exist resolves to its path value
// alone, so a caller who may see all of the resource gets the handler's 404 and anyone else a 403 that tells
// nothing.
func (h *Handler) target(ctx context.Context, rt Route, v string) (target, error) {
	t := target{names: []string{v}}
	var err error
	switch {
	case rt.Resource == api.ResourceJobs && rt.Param == "id":
		var j store.Job
		if j, err = h.st.GetJob(ctx, v); err == nil {
			t.names = []string{j.Task}
			if l, ok := ctx.Value(loadedKey{}).(*loaded); ok {
				l.job = &j
			}
			if j.Run != "" {
				if run, rerr := h.st.GetRun(ctx, j.Run); rerr == nil {
					t.workflow = run.Workflow
				}
			}
		}
	case rt.Resource == api.ResourceRuns && rt.Param == "id":
		var run store.Run
		if run, err = h.st.GetRun(ctx, v); err == nil {
			t.names = []string{run.Workflow}
		}
	case rt.Resource == api.ResourceUsers:
		var u store.User
		if u, err = h.st.GetUser(ctx, v); err == nil {
			t = target{names: []string{u.ID, u.Username}, owner: u.ID}
		}
	case rt.Resource == api.ResourceGroups:
		var g api.Group
		if g, err = h.st.GetGroup(ctx, v); err == nil {
			t.names = []string{g.ID, g.Name}
		}
	case rt.Resource == api.ResourceRoles:
		var x api.Role
		if x, err = h.role(ctx, v); err == nil {
			t.names = []string{x.ID, x.Name}
		}
	case rt.Resource == api.ResourceRoleBindings:
		var b api.RoleBinding
		if b, err = h.st.GetRoleBinding(ctx, v); err == nil {
			t.names = []string{b.ID, b.Name}
		}
	case rt.Resource == api.ResourceAPITokens:
		var x store.APIToken
		if x, err = h.st.GetAPIToken(ctx, v); err == nil {
			t.owner = x.Owner
		}
	case rt.Resource == api.ResourceWebhooks:
		var x api.Webhook
		if x, err = h.st.GetWebhook(ctx, v); err == nil {
			t.owner = x.Owner
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return target{names: []string{v}}, nil
	}
	return t, err
}

// may reports whether the caller of ctx has verb on resource for an object going by any of names.
func may(ctx context.Context, verb api.Access, resource string, names ...string) bool {
	p, _ := auth.PrincipalFrom(ctx)
	for _, n := range names {
		if rbac.Allow(p.Grants, verb, resource, n) {
			return true
		}
	}
	return false
}

// mustMay is may as an error: a 403 when the caller lacks the access.
func mustMay(ctx context.Context, verb api.Access, resource string, names ...string) error {
	if !may(ctx, verb, resource, names...) {
		return forbidden(verb, resource)
	}
	return nil
}

// readable returns a predicate telling whether the caller of ctx may read an object of resource going by any of
// the names given, for filtering lists.
func readable(ctx context.Context, resource string) func(names ...string) bool {
	p, _ := auth.PrincipalFrom(ctx)
	f := rbac.Filter(p.Grants, api.AccessRead, resource)
	return func(names ...string) bool {
		for _, n := range names {
			if f(n) {
				return true
			}
		}
		return false
	}
}

// loaded keeps what authorization read for the handler, so a request reads its job once (GET /jobs/{id} is what
// clients poll).
type loaded struct{ job *store.Job }

type loadedKey struct{}

// withLoaded returns r with an empty loaded in its context.
func withLoaded(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), loadedKey{}, &loaded{}))
}

// loadedJob returns the job authorization read for this request, if it read job id.
func loadedJob(r *http.Request, id string) (store.Job, bool) {
	if l, ok := r.Context().Value(loadedKey{}).(*loaded); ok && l.job != nil && l.job.ID == id {
		return *l.job, true
	}
	return store.Job{}, false
}

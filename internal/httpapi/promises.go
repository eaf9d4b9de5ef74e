package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/promise"
	"github.com/runplane/runplane/internal/store"
)

// Promises are addressed by name and taken as Kratix writes them, in JSON or YAML (the body's first character
// tells). Their status is the server's: what a client sends in status is ignored. A promise whose required
// promises are missing or at another version is stored Unavailable (RequirementsFulfilled False, as Kratix does),
// and requests for it are refused (409) until they are met; each write of a promise brings the status of the
// promises that require it up to date.

func (h *Handler) promiseRoutes() []route {
	const promises, resources = apiPrefix + "/promises", apiPrefix + "/resources"
	prom, res := routesOf(api.ResourcePromises, "name"), routesOf(api.ResourceResources, "promise")
	return []route{
		prom("GET", promises, List, h.listPromises),
		prom("POST", promises, Create, h.createPromise),
		prom("GET", promises+"/{name}", Object, h.getPromise),
		prom("PUT", promises+"/{name}", Object, h.putPromise),
		prom("DELETE", promises+"/{name}", Object, h.deletePromise),
		prom("POST", promises+"/{name}/reconcile", Object, h.actOnPromise(ActionReconcile)),
		prom("POST", promises+"/{name}/resume", Object, h.actOnPromise(ActionResume)),
		prom("POST", promises+"/{name}/retry", Object, h.actOnPromise(ActionRetry)),

		// Requests are authorized by their promise's name.
		res("GET", resources+"/{promise}", Object, h.listRequests),
		res("POST", resources+"/{promise}", Object, h.createRequest),
		res("GET", resources+"/{promise}/{name}", Object, h.getRequest),
		res("PUT", resources+"/{promise}/{name}", Object, h.putRequest),
		res("PATCH", resources+"/{promise}/{name}", Object, h.patchRequest),
		res("DELETE", resources+"/{promise}/{name}", Object, h.deleteRequest),
		res("POST", resources+"/{promise}/{name}/reconcile", Object, h.actOnRequest(ActionReconcile)),
		res("POST", resources+"/{promise}/{name}/resume", Object, h.actOnRequest(ActionResume)),
		res("POST", resources+"/{promise}/{name}/retry", Object, h.actOnRequest(ActionRetry)),
	}
}

func (h *Handler) listPromises(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r, 0, 0)
	if err != nil {
		return err
	}
	all, err := h.st.ListPromises(r.Context())
	if err != nil {
		return err
	}
	promises, requests := readable(r.Context(), api.ResourcePromises), readable(r.Context(), api.ResourceResources)
	all = keep(all, func(names ...string) bool { return promises(names...) || requests(names...) },
		func(p store.Promise) string { return p.Metadata.Name })
	s := page.slice(len(all))
	out := make([]api.Promise, 0, s.n)
	for _, p := range all[s.from:s.to] {
		out = append(out, p.Promise)
	}
	writeList(w, "promises", out, s, len(all))
	return nil
}

func (h *Handler) getPromise(w http.ResponseWriter, r *http.Request) error {
	p, err := h.promise(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p.Promise)
	return nil
}

// createPromise (POST) stores a new promise; 409 if the name is taken.
func (h *Handler) createPromise(w http.ResponseWriter, r *http.Request) error {
	p, err := readPromise(r.Body)
	if err != nil {
		return err
	}
	setTarget(w, p.Metadata.Name)
	if err := mustMay(r.Context(), api.AccessWrite, api.ResourcePromises, p.Metadata.Name); err != nil {
		return err
	}
	stored, err := h.storePromise(r.Context(), p, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stored.Promise)
	return nil
}

// putPromise (PUT) creates the promise or replaces it. A metadata.resourceVersion in the body makes the
// replacement conditional on it (409 if the promise changed since).
func (h *Handler) putPromise(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	p, err := readPromise(r.Body)
	if err != nil {
		return err
	}
	if p.Metadata.Name != name {
		return api.Invalidf("metadata.name %q in the body does not match promise %q in the URL", p.Metadata.Name, name)
	}
	cur, err := h.st.GetPromise(r.Context(), name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		cur.Version = -1
	case err != nil:
		return err
	}
	var prev *store.Promise
	if cur.Version >= 0 {
		prev = &cur
	}
	stored, err := h.storePromise(r.Context(), p, prev)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stored.Promise)
	return nil
}

// readPromise reads a promise document, JSON or YAML.
func readPromise(body io.Reader) (api.Promise, error) {
	b, err := readBody(body)
	if err != nil {
		return api.Promise{}, err
	}
	return promise.Parse(b)
}

// readBody reads a whole (bounded) body.
func readBody(body io.Reader) ([]byte, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		if isBodyError(err) {
			return nil, err
		}
		return nil, api.Invalidf("read request body: %v", err)
	}
	return b, nil
}

// storePromise creates p (prev nil) or replaces prev with it, computes its status, and brings up to date the
// status of the promises that require it.
func (h *Handler) storePromise(ctx context.Context, p api.Promise, prev *store.Promise) (store.Promise, error) {
	a, err := apiOf(p)
	if err != nil {
		return store.Promise{}, err
	}
	if c, ok := h.reconciler.(PromiseChecker); ok {
		if err := c.CheckPromise(ctx, p); err != nil {
			return store.Promise{}, err
		}
	}
	all, err := h.st.ListPromises(ctx)
	if err != nil {
		return store.Promise{}, err
	}
	installed := installedVersions(all)
	var stored store.Promise
	if prev == nil {
		p.Status = promise.Status(p, a, installed, api.PromiseStatus{}, time.Now())
		p.Status.ObservedGeneration = 1
		for i := range p.Status.Conditions {
			p.Status.Conditions[i].ObservedGeneration = 1
		}
		if stored, err = h.st.CreatePromise(ctx, p); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return store.Promise{}, withMsg(err, "promise %q already exists", p.Metadata.Name)
			}
			return store.Promise{}, err
		}
	} else {
		version, err := resourceVersion(p.Metadata.ResourceVersion)
		if err != nil {
			return store.Promise{}, err
		}
		if err := h.checkAPIChange(ctx, *prev, a); err != nil {
			return store.Promise{}, err
		}
		if stored, err = h.st.UpdatePromise(ctx, p, version); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return store.Promise{}, withMsg(err, "%s", conflictDetail(err, "promise changed meanwhile"))
			}
			return store.Promise{}, err
		}
		st := promise.Status(stored.Promise, a, installed, stored.Status, time.Now())
		if stored, err = h.st.SetPromiseStatus(ctx, stored.Metadata.Name, stored.Version, st); err != nil {
			return store.Promise{}, err
		}
	}
	if err := h.refreshDependents(ctx, stored.Metadata.Name); err != nil {
		return store.Promise{}, err
	}
	change := ChangeCreated
	if prev != nil {
		change = ChangeUpdated
	}
	h.reconcilePromise(ctx, change, stored)
	return stored, nil
}

// checkAPIChange refuses, while requests of the promise exist, a change that would leave them of another type:
// a different group, kind, plural or scope, or no API at all.
func (h *Handler) checkAPIChange(ctx context.Context, prev store.Promise, next *promise.API) error {
	if len(prev.Spec.API) == 0 {
		return nil
	}
	old, err := promise.ParseAPI(prev.Spec.API)
	if err != nil {
		return nil // the stored API no longer parses: nothing to keep in step with
	}
	if next != nil && old.Group == next.Group && old.Names.Kind == next.Names.Kind &&
		old.Names.Plural == next.Names.Plural && old.Scope == next.Scope {
		return nil
	}
	reqs, err := h.st.ListResourceRequests(ctx, prev.Metadata.Name, "")
	if err != nil || len(reqs) == 0 {
		return err
	}
	return withMsg(store.ErrConflict, "promise %q has %s of kind %s.%s: its API's group, kind, plural and scope cannot change while they exist",
		prev.Metadata.Name, store.Count(len(reqs), "resource request", "resource requests"), old.Names.Kind, old.Group)
}

// refreshDependents recomputes the status of every promise requiring name.
func (h *Handler) refreshDependents(ctx context.Context, name string) error {
	all, err := h.st.ListPromises(ctx)
	if err != nil {
		return err
	}
	installed := installedVersions(all)
	for _, p := range all {
		if !slices.ContainsFunc(p.Spec.RequiredPromises, func(r api.RequiredPromise) bool { return r.Name == name }) {
			continue
		}
		a, _ := apiOf(p.Promise)
		st := promise.Status(p.Promise, a, installed, p.Status, time.Now())
		if st.Status == p.Status.Status && slices.Equal(st.RequiredPromises, p.Status.RequiredPromises) {
			continue
		}
		// Version 0: a concurrent write of that promise computes its status itself.
		if _, err := h.st.SetPromiseStatus(ctx, p.Metadata.Name, 0, st); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// deletePromise removes a promise that has no requests (409 while it has).
func (h *Handler) deletePromise(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	p, err := h.promise(r.Context(), name)
	if err != nil {
		return err
	}
	reqs, err := h.st.ListResourceRequests(r.Context(), name, "")
	if err != nil {
		return err
	}
	if len(reqs) > 0 {
		return withMsg(store.ErrConflict, "promise %q has %s: delete them first", name,
			store.Count(len(reqs), "resource request", "resource requests"))
	}
	if dryRunFrom(r.Context()) == nil {
		switch err := h.reconciler.ReconcilePromise(r.Context(), ChangeDeleting, p); {
		case errors.Is(err, ErrDeleteDeferred):
			writeJSON(w, http.StatusAccepted, p.Promise)
			return nil
		case err != nil:
			return err
		}
	}
	if err := h.st.DeletePromise(r.Context(), name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("promise %q not found", name)
		}
		if errors.Is(err, store.ErrConflict) {
			return withMsg(err, "%s", conflictDetail(err, "promise in use"))
		}
		return err
	}
	if err := h.refreshDependents(r.Context(), name); err != nil {
		return err
	}
	h.reconcilePromise(r.Context(), ChangeDeleted, p)
	writeJSON(w, http.StatusOK, msg{Msg: "promise deleted successfully"})
	return nil
}

func (h *Handler) promise(ctx context.Context, name string) (store.Promise, error) {
	p, err := h.st.GetPromise(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Promise{}, notFound("promise %q not found", name)
	}
	return p, err
}

// apiOf is the resource type of a promise; nil when it has none.
func apiOf(p api.Promise) (*promise.API, error) {
	if len(p.Spec.API) == 0 {
		return nil, nil
	}
	return promise.ParseAPI(p.Spec.API)
}

func installedVersions(all []store.Promise) map[string]string {
	m := make(map[string]string, len(all))
	for _, p := range all {
		m[p.Metadata.Name] = promise.PromiseVersion(p.Promise)
	}
	return m
}

// resourceVersion reads metadata.resourceVersion: 0 (any) when empty.
func resourceVersion(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, api.Invalidf("metadata.resourceVersion: Invalid value: %q: must be the resourceVersion the server gave", s)
	}
	return v, nil
}

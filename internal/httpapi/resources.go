package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/promise"
	"github.com/runplane/runplane/internal/store"
)

// Resource requests of a promise's API live under /resources/{promise}, by namespace and name: the namespace is
// the body's metadata.namespace or ?namespace=, "default" when neither is given ("" for a cluster-scoped type).
// A request's apiVersion and kind must be the promise's API's (400), its spec is pruned, defaulted and validated
// against the schema of the version it names (400 naming each failing field, as a Kubernetes API server says it),
// and it is stored at the storage version. A new request's status is Kratix's before any pipeline ran: message
// Pending, ConfigureWorkflowCompleted False (PipelinesInProgress).

// requestTarget is the promise a request route addresses, with its API; 404 if the promise is absent, 400 if it
// defines no API.
func (h *Handler) requestTarget(ctx context.Context, name string) (store.Promise, *promise.API, error) {
	p, err := h.promise(ctx, name)
	if err != nil {
		return p, nil, err
	}
	a, err := apiOf(p.Promise)
	if err != nil {
		return p, nil, err
	}
	if a == nil {
		return p, nil, api.Invalidf("promise %q has no API (spec.api): it takes no resource requests", name)
	}
	return p, a, nil
}

// namespaceOf is the namespace a request route addresses: ?namespace=, else the body's, else default.
func namespaceOf(r *http.Request, a *promise.API, body string) (string, error) {
	q := r.URL.Query().Get("namespace")
	if !a.Namespaced() {
		return "", nil // a namespace given to a cluster-scoped object is ignored, as the API server ignores it
	}
	switch {
	case q != "" && body != "" && q != body:
		return "", api.Invalidf("metadata.namespace %q in the body does not match namespace %q in the query", body, q)
	case q != "":
		return q, nil
	case body != "":
		return body, nil
	}
	return promise.DefaultNamespace, nil
}

func (h *Handler) listRequests(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r, 0, 0)
	if err != nil {
		return err
	}
	name := r.PathValue("promise")
	if _, _, err := h.requestTarget(r.Context(), name); err != nil {
		return err
	}
	// Without ?namespace=, every namespace.
	all, err := h.st.ListResourceRequests(r.Context(), name, r.URL.Query().Get("namespace"))
	if err != nil {
		return err
	}
	s := page.slice(len(all))
	out := make([]api.ResourceRequest, 0, s.n)
	for _, rr := range all[s.from:s.to] {
		out = append(out, rr.ResourceRequest)
	}
	writeList(w, "resources", out, s, len(all))
	return nil
}

func (h *Handler) getRequest(w http.ResponseWriter, r *http.Request) error {
	_, a, err := h.requestTarget(r.Context(), r.PathValue("promise"))
	if err != nil {
		return err
	}
	rr, err := h.request(r, a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rr.ResourceRequest)
	return nil
}

// request reads the request the route addresses.
func (h *Handler) request(r *http.Request, a *promise.API) (store.ResourceRequest, error) {
	ns, err := namespaceOf(r, a, "")
	if err != nil {
		return store.ResourceRequest{}, err
	}
	rr, err := h.st.GetResourceRequest(r.Context(), r.PathValue("promise"), ns, r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		return rr, withMsg(err, "%s", notFoundDetail(err, "resource request not found"))
	}
	return rr, err
}

func notFoundDetail(err error, fallback string) string {
	if s := err.Error(); s != store.ErrNotFound.Error() && s != "" {
		return s
	}
	return fallback
}

// readRequest reads a request document (JSON or YAML) and checks it against the promise's API.
func readRequest(r *http.Request, a *promise.API) (api.ResourceRequest, error) {
	b, err := readBody(r.Body)
	if err != nil {
		return api.ResourceRequest{}, err
	}
	j, err := promise.ToJSON(b)
	if err != nil {
		return api.ResourceRequest{}, err
	}
	var rr api.ResourceRequest
	if err := decodeJSON(bytes.NewReader(j), &rr); err != nil {
		return rr, err
	}
	if rr.Metadata.Namespace, err = namespaceOf(r, a, rr.Metadata.Namespace); err != nil {
		return rr, err
	}
	return promise.CheckRequest(a, rr)
}

// createRequest (POST) stores a new request of the promise; 409 if the name is taken in the namespace.
func (h *Handler) createRequest(w http.ResponseWriter, r *http.Request) error {
	p, a, err := h.requestTarget(r.Context(), r.PathValue("promise"))
	if err != nil {
		return err
	}
	rr, err := readRequest(r, a)
	if err != nil {
		return err
	}
	setTarget(w, requestTarget(p.Metadata.Name, rr.Metadata))
	stored, err := h.storeRequest(r.Context(), p, rr, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stored.ResourceRequest)
	return nil
}

// putRequest (PUT) creates the request or replaces its labels, annotations and spec (status stays). A
// metadata.resourceVersion in the body makes the replacement conditional on it.
func (h *Handler) putRequest(w http.ResponseWriter, r *http.Request) error {
	p, a, err := h.requestTarget(r.Context(), r.PathValue("promise"))
	if err != nil {
		return err
	}
	rr, err := readRequest(r, a)
	if err != nil {
		return err
	}
	if rr.Metadata.Name != r.PathValue("name") {
		return api.Invalidf("metadata.name %q in the body does not match %q in the URL", rr.Metadata.Name, r.PathValue("name"))
	}
	setTarget(w, requestTarget(p.Metadata.Name, rr.Metadata))
	cur, err := h.st.GetResourceRequest(r.Context(), p.Metadata.Name, rr.Metadata.Namespace, rr.Metadata.Name)
	var prev *store.ResourceRequest
	switch {
	case err == nil:
		prev = &cur
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	stored, err := h.storeRequest(r.Context(), p, rr, prev)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stored.ResourceRequest)
	return nil
}

// patchRequest (PATCH) applies a JSON merge patch (RFC 7386) to the request's spec, metadata.labels and
// metadata.annotations; any other field in the patch is a 400.
func (h *Handler) patchRequest(w http.ResponseWriter, r *http.Request) error {
	p, a, err := h.requestTarget(r.Context(), r.PathValue("promise"))
	if err != nil {
		return err
	}
	cur, err := h.request(r, a)
	if err != nil {
		return err
	}
	setTarget(w, requestTarget(p.Metadata.Name, cur.Metadata))
	b, err := readBody(r.Body)
	if err != nil {
		return err
	}
	j, err := promise.ToJSON(b)
	if err != nil {
		return err
	}
	var patch struct {
		Metadata map[string]json.RawMessage `json:"metadata"`
		Spec     json.RawMessage            `json:"spec"`
	}
	var top map[string]json.RawMessage
	if err := decodeJSON(bytes.NewReader(j), &top); err != nil {
		return err
	}
	for k := range top {
		if k != "metadata" && k != "spec" && k != "apiVersion" && k != "kind" {
			return api.Invalidf("%s: Forbidden: a patch may change spec, metadata.labels and metadata.annotations only", k)
		}
	}
	if err := json.Unmarshal(j, &patch); err != nil {
		return api.Invalidf("patch: %v", err)
	}
	for k := range patch.Metadata {
		if k != "labels" && k != "annotations" && k != "name" && k != "namespace" {
			return api.Invalidf("metadata.%s: Forbidden: a patch may change spec, metadata.labels and metadata.annotations only", k)
		}
	}
	// A patch names no resourceVersion: it applies to the request as stored, read again when something else (the
	// controller writing its status) stored it meanwhile.
	for attempt := 0; ; attempt++ {
		stored, err := h.applyPatch(r.Context(), p, a, cur, patch.Metadata, patch.Spec)
		if errors.Is(err, store.ErrConflict) && attempt < 4 && promise.Available(p.Status) {
			if cur, err = h.request(r, a); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, stored.ResourceRequest)
		return nil
	}
}

// applyPatch stores cur with the merge patch of its spec, labels and annotations applied.
func (h *Handler) applyPatch(ctx context.Context, p store.Promise, a *promise.API, cur store.ResourceRequest,
	meta map[string]json.RawMessage, spec json.RawMessage) (store.ResourceRequest, error) {
	next := cur.ResourceRequest
	if len(spec) > 0 {
		next.Spec = mergePatch(cur.Spec, spec)
	}
	var err error
	if next.Metadata.Labels, err = patchStrings(next.Metadata.Labels, meta["labels"], "metadata.labels"); err != nil {
		return store.ResourceRequest{}, err
	}
	if next.Metadata.Annotations, err = patchStrings(next.Metadata.Annotations, meta["annotations"], "metadata.annotations"); err != nil {
		return store.ResourceRequest{}, err
	}
	checked, err := promise.CheckRequest(a, api.ResourceRequest{APIVersion: next.APIVersion, Kind: next.Kind,
		Metadata: next.Metadata, Spec: next.Spec})
	if err != nil {
		return store.ResourceRequest{}, err
	}
	return h.storeRequest(ctx, p, checked, &cur)
}

// storeRequest creates rr (prev nil) or replaces prev with it; 409 while the promise is not Available.
func (h *Handler) storeRequest(ctx context.Context, p store.Promise, rr api.ResourceRequest, prev *store.ResourceRequest) (store.ResourceRequest, error) {
	if !promise.Available(p.Status) {
		return store.ResourceRequest{}, withMsg(store.ErrConflict, "promise %q is not available, so it takes no resource requests: %s",
			p.Metadata.Name, p.Status.Message)
	}
	var stored store.ResourceRequest
	var err error
	change := ChangeCreated
	if prev == nil {
		rr.Status = promise.PendingStatus(time.Now(), 1)
		stored, err = h.st.CreateResourceRequest(ctx, p.Metadata.Name, rr)
		if errors.Is(err, store.ErrConflict) {
			return stored, withMsg(err, "%s", conflictDetail(err, "resource request already exists"))
		}
	} else {
		change = ChangeUpdated
		var version int64
		if version, err = resourceVersion(rr.Metadata.ResourceVersion); err != nil {
			return stored, err
		}
		stored, err = h.st.UpdateResourceRequest(ctx, p.Metadata.Name, rr, version)
		if errors.Is(err, store.ErrConflict) {
			return stored, withMsg(err, "%s", conflictDetail(err, "resource request changed meanwhile"))
		}
	}
	if err != nil {
		if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrNotFound) {
			return stored, withMsg(err, "%s", err.Error())
		}
		return stored, err
	}
	h.reconcileRequest(ctx, change, p, stored)
	return stored, nil
}

// deleteRequest removes a request, or answers 202 when the reconciler runs its delete workflow first.
func (h *Handler) deleteRequest(w http.ResponseWriter, r *http.Request) error {
	p, a, err := h.requestTarget(r.Context(), r.PathValue("promise"))
	if err != nil {
		return err
	}
	rr, err := h.request(r, a)
	if err != nil {
		return err
	}
	setTarget(w, requestTarget(p.Metadata.Name, rr.Metadata))
	if dryRunFrom(r.Context()) == nil {
		switch err := h.reconciler.ReconcileRequest(r.Context(), ChangeDeleting, p, rr); {
		case errors.Is(err, ErrDeleteDeferred):
			writeJSON(w, http.StatusAccepted, rr.ResourceRequest)
			return nil
		case err != nil:
			return err
		}
	}
	if err := h.st.DeleteResourceRequest(r.Context(), p.Metadata.Name, rr.Metadata.Namespace, rr.Metadata.Name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return withMsg(err, "%s", notFoundDetail(err, "resource request not found"))
		}
		return err
	}
	h.reconcileRequest(r.Context(), ChangeDeleted, p, rr)
	writeJSON(w, http.StatusOK, msg{Msg: "resource request deleted successfully"})
	return nil
}

// mergePatch applies an RFC 7386 JSON merge patch to doc; both are JSON texts (doc may be empty).
func mergePatch(doc, patch json.RawMessage) json.RawMessage {
	var d, p any
	_ = json.Unmarshal(doc, &d)
	if err := json.Unmarshal(patch, &p); err != nil {
		return patch
	}
	out, _ := json.Marshal(mergeValue(d, p))
	return out
}

func mergeValue(doc, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	dm, ok := doc.(map[string]any)
	if !ok {
		dm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(dm, k)
			continue
		}
		dm[k] = mergeValue(dm[k], v)
	}
	return dm
}

// patchStrings merge-patches a string map (labels, annotations): a null value removes the key.
func patchStrings(cur map[string]string, patch json.RawMessage, path string) (map[string]string, error) {
	if len(patch) == 0 {
		return cur, nil
	}
	if string(patch) == "null" {
		return nil, nil
	}
	var p map[string]*string
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, api.Invalidf("%s: Invalid value: must be an object of strings", path)
	}
	out := make(map[string]string, len(cur)+len(p))
	for k, v := range cur {
		out[k] = v
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = *v
		}
	}
	return out, nil
}

// requestTarget names a request in the audit log: promise/namespace/name (promise/name for a cluster-scoped type).
func requestTarget(promise string, m api.ObjectMeta) string {
	if m.Namespace == "" {
		return promise + "/" + m.Name
	}
	return promise + "/" + m.Namespace + "/" + m.Name
}

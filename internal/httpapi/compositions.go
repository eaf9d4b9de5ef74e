package httpapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/chart"
	"github.com/runplane/runplane/internal/platform/promise"
	"github.com/runplane/runplane/internal/store"
)

// Krateo compositions — instances of the types CompositionDefinitions generate — live under
// /compositions/{namespace}/{resource}[/{name}], resource being the generated type's plural (fireworksapps), as
// Kubernetes addresses them (/apis/composition.krateo.io/<version>/namespaces/<ns>/<resource>/<name>). A
// composition is written as Krateo's file (YAML or JSON): its apiVersion names the chart version it is installed
// from, and its spec is checked against that version's schema (defaults applied, 400 naming each failing field).
// RBAC resource compositions names them by their definition's name, so a team may be allowed one chart only.
// Each stored change is handed to the CompositionReconciler, which installs, upgrades and uninstalls the release
// (a job); a delete waits for the uninstall (202) when a reconciler takes it over.

// CompositionReconciler is told of every stored change to a composition, as PromiseReconciler is of requests (the
// same Change values and rules: ChangeDeleting may answer ErrDeleteDeferred; it must not wait for a release).
type CompositionReconciler interface {
	ReconcileComposition(ctx context.Context, change Change, def store.CompositionDefinition, c store.Composition) error
}

func (h *Handler) compositionRoutes() []route {
	const p = apiPrefix + "/compositions/{namespace}/{resource}"
	rt := func(method, path string, fn handlerFunc) route {
		// Authorized in the handler: the RBAC name is the definition's, which the type and version resolve to.
		return route{Route{Method: method, Path: path, Resource: api.ResourceCompositions, Authz: Authenticated}, fn}
	}
	return []route{
		rt("GET", p, h.listCompositions),
		rt("POST", p, h.createComposition),
		rt("GET", p+"/{name}", h.getComposition),
		rt("PUT", p+"/{name}", h.putComposition),
		rt("DELETE", p+"/{name}", h.deleteComposition),
	}
}

// offered is a definition with the type it serves.
type offered struct {
	def   store.CompositionDefinition
	offer *chart.Offer
}

// offers are the definitions that generated resource; 404 when none did.
func (h *Handler) offers(ctx context.Context, resource string) ([]offered, error) {
	defs, err := h.st.ListCompositionDefinitions(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []offered
	for _, d := range defs {
		if d.Status.Resource != resource {
			continue
		}
		o, err := chart.OfferOf(d.CompositionDefinition, d.Generated)
		if err != nil {
			h.log.WarnContext(ctx, "generated type unreadable", "definition", d.Metadata.Namespace+"/"+d.Metadata.Name, "err", err)
			continue
		}
		if o != nil {
			out = append(out, offered{d, o})
		}
	}
	if len(out) == 0 {
		return nil, notFound("no composition definition generates resource %q", resource)
	}
	return out, nil
}

// offerOf is the definition serving apiVersion among os (the first that does), or the first when none does.
func offerOf(os []offered, apiVersion string) offered {
	for _, o := range os {
		if o.offer.Serves(apiVersion) {
			return o
		}
	}
	return os[0]
}

func (h *Handler) listCompositions(w http.ResponseWriter, r *http.Request) error {
	pg, err := parsePage(r, 0, 0)
	if err != nil {
		return err
	}
	os, err := h.offers(r.Context(), r.PathValue("resource"))
	if err != nil {
		return err
	}
	all, err := h.st.ListCompositions(r.Context(), r.PathValue("resource"), r.PathValue("namespace"))
	if err != nil {
		return err
	}
	ok := readable(r.Context(), api.ResourceCompositions)
	all = keep(all, func(names ...string) bool { return ok(names...) }, func(c store.Composition) string {
		return offerOf(os, c.APIVersion).def.Metadata.Name
	})
	s := pg.slice(len(all))
	out := make([]api.ResourceRequest, 0, s.n)
	for _, c := range all[s.from:s.to] {
		out = append(out, c.ResourceRequest)
	}
	writeList(w, "compositions", out, s, len(all))
	return nil
}

// composition reads the composition the route names and the definition whose type it is, checking verb.
func (h *Handler) composition(r *http.Request, verb api.Access) (store.Composition, offered, error) {
	ns, res, name := r.PathValue("namespace"), r.PathValue("resource"), r.PathValue("name")
	os, err := h.offers(r.Context(), res)
	if err != nil {
		return store.Composition{}, offered{}, err
	}
	c, err := h.st.GetComposition(r.Context(), res, ns, name)
	if errors.Is(err, store.ErrNotFound) {
		return c, offered{}, withMsg(err, "%s", notFoundDetail(err, "composition not found"))
	}
	if err != nil {
		return c, offered{}, err
	}
	o := offerOf(os, c.APIVersion)
	return c, o, mustMay(r.Context(), verb, api.ResourceCompositions, o.def.Metadata.Name)
}

func (h *Handler) getComposition(w http.ResponseWriter, r *http.Request) error {
	c, _, err := h.composition(r, api.AccessRead)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c.ResourceRequest)
	return nil
}

// readComposition reads a composition document; the URL's namespace fills in or must match the body's.
func readComposition(r *http.Request) (api.ResourceRequest, error) {
	b, err := readDocument(r)
	if err != nil {
		return api.ResourceRequest{}, err
	}
	j, err := promise.ToJSON(b)
	if err != nil {
		return api.ResourceRequest{}, err
	}
	var c api.ResourceRequest
	if err := decodeJSON(bytes.NewReader(j), &c); err != nil {
		return c, err
	}
	ns := r.PathValue("namespace")
	switch c.Metadata.Namespace {
	case "":
		c.Metadata.Namespace = ns
	case ns:
	default:
		return c, api.Invalidf("metadata.namespace %q in the body does not match namespace %q in the URL", c.Metadata.Namespace, ns)
	}
	return c, nil
}

// createComposition (POST) stores a new composition, which installs its release; 409 if the name is taken.
func (h *Handler) createComposition(w http.ResponseWriter, r *http.Request) error {
	c, err := readComposition(r)
	if err != nil {
		return err
	}
	stored, err := h.storeComposition(w, r, c, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stored.ResourceRequest)
	return nil
}

// putComposition (PUT) creates the composition or replaces its apiVersion, labels, annotations and spec (the
// status stays), which upgrades its release; a metadata.resourceVersion makes it conditional (409).
func (h *Handler) putComposition(w http.ResponseWriter, r *http.Request) error {
	c, err := readComposition(r)
	if err != nil {
		return err
	}
	if c.Metadata.Name != r.PathValue("name") {
		return api.Invalidf("metadata.name %q in the body does not match %q in the URL", c.Metadata.Name, r.PathValue("name"))
	}
	stored, err := h.storeComposition(w, r, c, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stored.ResourceRequest)
	return nil
}

// storeComposition checks c against the type its apiVersion names and creates it, or (put) replaces the stored one.
func (h *Handler) storeComposition(w http.ResponseWriter, r *http.Request, c api.ResourceRequest, put bool) (store.Composition, error) {
	ctx, res := r.Context(), r.PathValue("resource")
	os, err := h.offers(ctx, res)
	if err != nil {
		return store.Composition{}, err
	}
	var prev *store.Composition
	if put {
		cur, err := h.st.GetComposition(ctx, res, c.Metadata.Namespace, c.Metadata.Name)
		switch {
		case err == nil:
			prev = &cur
		case !errors.Is(err, store.ErrNotFound):
			return cur, err
		}
	}
	var before *api.ResourceRequest
	if prev != nil {
		before = &prev.ResourceRequest
		if err := mustMay(ctx, api.AccessWrite, api.ResourceCompositions, offerOf(os, prev.APIVersion).def.Metadata.Name); err != nil {
			return store.Composition{}, err
		}
	}
	o := offerOf(os, c.APIVersion)
	if v := c.Metadata.Labels[chart.VersionLabel]; v != "" && !o.offer.Serves(c.APIVersion) {
		o = offerOf(os, api.CompositionGroup+"/"+v)
	}
	checked, err := chart.CheckComposition(o.offer, c, before)
	if err != nil {
		return store.Composition{}, err
	}
	o = offerOf(os, checked.APIVersion)
	setTarget(w, res+"/"+checked.Metadata.Namespace+"/"+checked.Metadata.Name)
	if err := mustMay(ctx, api.AccessWrite, api.ResourceCompositions, o.def.Metadata.Name); err != nil {
		return store.Composition{}, err
	}
	var stored store.Composition
	change := ChangeCreated
	if prev == nil {
		checked.Status = chart.NewCompositionStatus(time.Now())
		stored, err = h.st.CreateComposition(ctx, res, checked)
		if errors.Is(err, store.ErrConflict) {
			return stored, withMsg(err, "%s", conflictDetail(err, "composition already exists"))
		}
	} else {
		change = ChangeUpdated
		version, verr := resourceVersion(c.Metadata.ResourceVersion)
		if verr != nil {
			return stored, verr
		}
		stored, err = h.st.UpdateComposition(ctx, res, checked, version)
		if errors.Is(err, store.ErrConflict) {
			return stored, withMsg(err, "%s", conflictDetail(err, "composition changed meanwhile"))
		}
	}
	if err != nil {
		return stored, err
	}
	h.reconcileComposition(ctx, change, o.def, stored)
	return stored, nil
}

// deleteComposition removes a composition, or answers 202 when the reconciler uninstalls its release first (the
// composition goes once the uninstall succeeded; a failed one stays visible in its status and is retried).
func (h *Handler) deleteComposition(w http.ResponseWriter, r *http.Request) error {
	c, o, err := h.composition(r, api.AccessWrite)
	if err != nil {
		return err
	}
	setTarget(w, c.Resource+"/"+c.Metadata.Namespace+"/"+c.Metadata.Name)
	if dryRunFrom(r.Context()) == nil && h.compositions != nil {
		switch err := h.compositions.ReconcileComposition(r.Context(), ChangeDeleting, o.def, c); {
		case errors.Is(err, ErrDeleteDeferred):
			writeJSON(w, http.StatusAccepted, c.ResourceRequest)
			return nil
		case err != nil:
			return err
		}
	}
	if err := h.st.DeleteComposition(r.Context(), c.Resource, c.Metadata.Namespace, c.Metadata.Name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return withMsg(err, "%s", notFoundDetail(err, "composition not found"))
		}
		return err
	}
	h.reconcileComposition(r.Context(), ChangeDeleted, o.def, c)
	writeJSON(w, http.StatusOK, msg{Msg: "composition deleted successfully"})
	return nil
}

func (h *Handler) reconcileComposition(ctx context.Context, change Change, def store.CompositionDefinition, c store.Composition) {
	if dryRunFrom(ctx) != nil || h.compositions == nil {
		return
	}
	if err := h.compositions.ReconcileComposition(ctx, change, def, c); err != nil {
		h.log.ErrorContext(ctx, "reconcile composition", "resource", c.Resource, "namespace", c.Metadata.Namespace,
			"name", c.Metadata.Name, "change", string(change), "err", err)
	}
}

package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/chart"
	"github.com/runplane/runplane/internal/store"
)

// Krateo CompositionDefinitions live under /compositiondefinitions/{namespace}/{name} and are taken as Krateo
// writes them (YAML or JSON); RBAC names them by name (resource composition_definitions). Storing one reads its
// chart at once (ChartFetcher, bounded by chartTimeout): the status says whether the chart's values.schema.json
// made a type (Ready) and, when not, why. A chart that cannot be read leaves the definition stored and not Ready;
// POST .../reconcile reads it again. Credentials name a runner's secret (passwordRef.name the runner,
// passwordRef.key the key): the caller needs write access to that runner, as for event sinks.

// ChartFetcher reads the chart a definition names; helmchart.Fetcher implements it. Its errors are shown in the
// definition's status, so they must not carry credentials.
type ChartFetcher interface {
	Fetch(ctx context.Context, c api.ChartInfo, namespace string) (chart.Package, error)
}

// chartTimeout bounds the chart read a write of a definition waits for.
const chartTimeout = time.Minute

func (h *Handler) definitionRoutes() []route {
	const p = apiPrefix + "/compositiondefinitions"
	rt := routesOf(api.ResourceCompositionDefinitions, "name")
	return []route{
		rt("GET", p, List, h.listDefinitions),
		rt("POST", p, Create, h.createDefinition),
		rt("GET", p+"/{namespace}/{name}", Object, h.getDefinition),
		rt("PUT", p+"/{namespace}/{name}", Object, h.putDefinition),
		rt("DELETE", p+"/{namespace}/{name}", Object, h.deleteDefinition),
		rt("POST", p+"/{namespace}/{name}/reconcile", Object, h.reconcileDefinition),
		rt("GET", p+"/{namespace}/{name}/crd", Object, h.definitionCRD),
	}
}

func (h *Handler) listDefinitions(w http.ResponseWriter, r *http.Request) error {
	pg, err := parsePage(r, 0, 0)
	if err != nil {
		return err
	}
	all, err := h.st.ListCompositionDefinitions(r.Context(), r.URL.Query().Get("namespace"))
	if err != nil {
		return err
	}
	all = keep(all, readable(r.Context(), api.ResourceCompositionDefinitions),
		func(d store.CompositionDefinition) string { return d.Metadata.Name })
	s := pg.slice(len(all))
	out := make([]api.CompositionDefinition, 0, s.n)
	for _, d := range all[s.from:s.to] {
		out = append(out, d.CompositionDefinition)
	}
	writeList(w, "compositiondefinitions", out, s, len(all))
	return nil
}

func (h *Handler) definition(r *http.Request) (store.CompositionDefinition, error) {
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	d, err := h.st.GetCompositionDefinition(r.Context(), ns, name)
	if errors.Is(err, store.ErrNotFound) {
		return d, notFound("composition definition %q not found in namespace %q", name, ns)
	}
	return d, err
}

func (h *Handler) getDefinition(w http.ResponseWriter, r *http.Request) error {
	d, err := h.definition(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d.CompositionDefinition)
	return nil
}

// definitionCRD answers the CustomResourceDefinition the definition generated (404 before its chart made one).
func (h *Handler) definitionCRD(w http.ResponseWriter, r *http.Request) error {
	d, err := h.definition(r)
	if err != nil {
		return err
	}
	if len(d.Generated) == 0 {
		return notFound("composition definition %q has generated no type yet", d.Metadata.Name)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(d.Generated)
	return nil
}

// readDefinition reads a definition document and checks it; ?namespace= (or the URL's) must agree with the body's.
func readDefinition(r *http.Request) (api.CompositionDefinition, error) {
	b, err := readDocument(r)
	if err != nil {
		return api.CompositionDefinition{}, err
	}
	d, err := chart.Parse(b)
	if err != nil {
		return d, err
	}
	want := r.PathValue("namespace")
	if want == "" {
		want = r.URL.Query().Get("namespace")
	}
	if want != "" && d.Metadata.Namespace != want {
		if d.Metadata.Namespace != chart.DefaultNamespace {
			return d, api.Invalidf("metadata.namespace %q in the body does not match namespace %q", d.Metadata.Namespace, want)
		}
		d.Metadata.Namespace = want // none in the body: the URL's
	}
	return d, nil
}

// createDefinition (POST) stores a new definition and reads its chart; 409 if the name is taken in the namespace.
func (h *Handler) createDefinition(w http.ResponseWriter, r *http.Request) error {
	d, err := readDefinition(r)
	if err != nil {
		return err
	}
	setTarget(w, d.Metadata.Namespace+"/"+d.Metadata.Name)
	if err := mustMay(r.Context(), api.AccessWrite, api.ResourceCompositionDefinitions, d.Metadata.Name); err != nil {
		return err
	}
	stored, err := h.storeDefinition(r.Context(), d, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stored.CompositionDefinition)
	return nil
}

// putDefinition (PUT) creates the definition or replaces its labels, annotations and spec, reading the chart
// again; a metadata.resourceVersion in the body makes the replacement conditional on it (409).
func (h *Handler) putDefinition(w http.ResponseWriter, r *http.Request) error {
	d, err := readDefinition(r)
	if err != nil {
		return err
	}
	if d.Metadata.Name != r.PathValue("name") {
		return api.Invalidf("metadata.name %q in the body does not match %q in the URL", d.Metadata.Name, r.PathValue("name"))
	}
	setTarget(w, d.Metadata.Namespace+"/"+d.Metadata.Name)
	cur, err := h.st.GetCompositionDefinition(r.Context(), d.Metadata.Namespace, d.Metadata.Name)
	var prev *store.CompositionDefinition
	switch {
	case err == nil:
		prev = &cur
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	stored, err := h.storeDefinition(r.Context(), d, prev)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stored.CompositionDefinition)
	return nil
}

// storeDefinition creates d (prev nil) or replaces prev with it, then reads its chart (not in a dry run).
func (h *Handler) storeDefinition(ctx context.Context, d api.CompositionDefinition, prev *store.CompositionDefinition) (store.CompositionDefinition, error) {
	var before *api.ChartInfo
	if prev != nil {
		before = prev.Spec.Chart
	}
	if err := h.checkChartCredentials(ctx, d.Spec.Chart, before); err != nil {
		return store.CompositionDefinition{}, err
	}
	var stored store.CompositionDefinition
	var err error
	if prev == nil {
		d.Status = chart.PendingStatus(time.Now())
		stored, err = h.st.CreateCompositionDefinition(ctx, d)
		if errors.Is(err, store.ErrConflict) {
			return stored, withMsg(err, "%s", conflictDetail(err, "composition definition already exists"))
		}
	} else {
		version, verr := resourceVersion(d.Metadata.ResourceVersion)
		if verr != nil {
			return stored, verr
		}
		stored, err = h.st.UpdateCompositionDefinition(ctx, d, version)
		if errors.Is(err, store.ErrConflict) {
			return stored, withMsg(err, "%s", conflictDetail(err, "composition definition changed meanwhile"))
		}
	}
	if err != nil {
		return stored, err
	}
	if prev != nil && prev.Metadata.Generation == stored.Metadata.Generation && chart.Ready(stored.Status) {
		return stored, nil // labels or annotations only: the chart is what it was
	}
	return h.readChart(ctx, stored)
}

// readChart fetches the definition's chart and stores the status (and type) it comes to. A definition paused
// (krateo.io/paused: "true") is left as it is.
func (h *Handler) readChart(ctx context.Context, d store.CompositionDefinition) (store.CompositionDefinition, error) {
	if dryRunFrom(ctx) != nil || d.Metadata.Annotations["krateo.io/paused"] == "true" {
		return d, nil
	}
	var pkg *chart.Package
	var fetchErr error
	if h.charts == nil {
		fetchErr = errors.New("this server reads no charts")
	} else {
		fctx, cancel := context.WithTimeout(ctx, chartTimeout)
		p, err := h.charts.Fetch(fctx, *d.Spec.Chart, d.Metadata.Namespace)
		cancel()
		pkg, fetchErr = &p, err
	}
	res := chart.Reconcile(d.CompositionDefinition, d.Generated, pkg, fetchErr, time.Now())
	stored, err := h.st.SetCompositionDefinitionStatus(ctx, d.Metadata.Namespace, d.Metadata.Name, d.Version, res.Status, res.Generated)
	if errors.Is(err, store.ErrConflict) {
		return stored, withMsg(err, "%s", conflictDetail(err, "composition definition changed meanwhile"))
	}
	return stored, err
}

// checkChartCredentials: a definition naming a runner's secret needs write access to that runner (403), which
// must exist with the key (400); what the stored definition already named needs nothing new.
func (h *Handler) checkChartCredentials(ctx context.Context, c, prev *api.ChartInfo) error {
	if c == nil || c.Credentials == nil {
		return nil
	}
	ref := c.Credentials.PasswordRef
	if h.secretsInCluster {
		return nil // a Secret of the definition's namespace (helmchart.SecretPassword refuses any other)
	}
	if prev != nil && prev.Credentials != nil && prev.Credentials.PasswordRef == ref {
		return nil
	}
	if !may(ctx, api.AccessWrite, api.ResourceRunners, ref.Name) {
		return withMsg(ErrForbidden, "forbidden: spec.chart.credentials.passwordRef names a secret of runner %q, which needs write access to it", ref.Name)
	}
	runner, err := h.st.GetRunner(ctx, ref.Name)
	if errors.Is(err, store.ErrNotFound) {
		return api.Invalidf("spec.chart.credentials.passwordRef.name: runner %q not found (in embedded mode the password is a runner's secret)", ref.Name)
	}
	if err != nil {
		return err
	}
	if _, ok := runner.Secret[ref.Key]; !ok {
		return api.Invalidf("spec.chart.credentials.passwordRef.key: runner %q has no secret %q", ref.Name, ref.Key)
	}
	return nil
}

// reconcileDefinition (POST .../reconcile) reads the chart again.
func (h *Handler) reconcileDefinition(w http.ResponseWriter, r *http.Request) error {
	d, err := h.definition(r)
	if err != nil {
		return err
	}
	setTarget(w, d.Metadata.Namespace+"/"+d.Metadata.Name)
	stored, err := h.readChart(r.Context(), d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stored.CompositionDefinition)
	return nil
}

func (h *Handler) deleteDefinition(w http.ResponseWriter, r *http.Request) error {
	d, err := h.definition(r)
	if err != nil {
		return err
	}
	setTarget(w, d.Metadata.Namespace+"/"+d.Metadata.Name)
	if err := h.definitionInUse(r.Context(), d); err != nil {
		return err
	}
	if err := h.st.DeleteCompositionDefinition(r.Context(), d.Metadata.Namespace, d.Metadata.Name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("composition definition %q not found in namespace %q", d.Metadata.Name, d.Metadata.Namespace)
		}
		return err
	}
	writeJSON(w, http.StatusOK, msg{Msg: "composition definition deleted successfully"})
	return nil
}

// definitionInUse refuses (409) the delete of the last definition that generates its resource while compositions
// of that resource exist: they would be left with no chart to upgrade or uninstall them (their releases stay in
// the cluster), so they go first, each uninstalled — as a promise goes only once its requests have. Krateo's
// core-provider deletes them itself; here nothing is uninstalled that was not asked for.
func (h *Handler) definitionInUse(ctx context.Context, d store.CompositionDefinition) error {
	res := d.Status.Resource
	if res == "" {
		return nil // never generated a type: no composition can be of it
	}
	defs, err := h.st.ListCompositionDefinitions(ctx, "")
	if err != nil {
		return err
	}
	for _, o := range defs {
		if o.Status.Resource == res && (o.Metadata.Namespace != d.Metadata.Namespace || o.Metadata.Name != d.Metadata.Name) {
			return nil // another definition still serves the type
		}
	}
	comps, err := h.st.ListCompositions(ctx, res, "")
	if err != nil {
		return err
	}
	if len(comps) > 0 {
		return withMsg(store.ErrConflict, "composition definition %q generates %s, of which %s: delete them first",
			d.Metadata.Name, res, store.Count(len(comps), "composition exists", "compositions exist"))
	}
	return nil
}

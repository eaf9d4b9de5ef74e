package composer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/httpapi"
	"github.com/runplane/runplane/internal/platform/chart"
	"github.com/runplane/runplane/internal/platform/chart/helmchart"
	"github.com/runplane/runplane/internal/platform/chart/helmchart/release"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/store"
)

// Store is the slice of the store the composer needs.
type Store interface {
	GetComposition(ctx context.Context, resource, namespace, name string) (store.Composition, error)
	SetCompositionStatus(ctx context.Context, resource, namespace, name string, version int64, status json.RawMessage) (store.Composition, error)
	DeleteComposition(ctx context.Context, resource, namespace, name string) error
	ListCompositions(ctx context.Context, resource, namespace string) ([]store.Composition, error)
	GetCompositionDefinition(ctx context.Context, namespace, name string) (store.CompositionDefinition, error)
	ListCompositionDefinitions(ctx context.Context, namespace string) ([]store.CompositionDefinition, error)
}

// Runs starts runs and tells when they end; *runs.Engine implements it.
type Runs interface {
	Start(ctx context.Context, r runs.Request) (store.Run, bool, error)
	Await(ctx context.Context, id string, max time.Duration) (store.Run, error)
}

// ChartFetcher reads a chart (with its credentials); helmchart.Fetcher implements it.
type ChartFetcher interface {
	Fetch(ctx context.Context, c api.ChartInfo, namespace string) (chart.Package, error)
}

// Access gives a definition's releases their own identity; release.Access implements it.
type Access interface {
	// Grant makes ServiceAccount name in namespace allowed exactly kinds (nil: as it is) and returns a kubeconfig
	// for it.
	Grant(ctx context.Context, namespace, name string, kinds [][2]string) ([]byte, error)
}

// Discoverer is an optional capability of an Access: what the server knows of the cluster's APIs, handed to the
// step (release.DiscoveryFile) so that it need not discover them in each process; release.Access implements it.
type Discoverer interface {
	Discovery(ctx context.Context, kinds [][2]string) ([]byte, error)
}

// Forgetter is an optional capability of an Access: the next Grant for the ServiceAccount writes everything again
// instead of reusing what it wrote a moment ago (a retry must not meet the rules or token the failure may have
// come from); release.Access implements it.
type Forgetter interface {
	Forget(namespace, name string)
}

// Owner is the user composition runs are started as.
const Owner = "krateo"

// Options configure a Composer. Kubeconfig or Access is required for anything to be installed.
type Options struct {
	// Kubeconfig is the kubeconfig (its content) the install steps reach the cluster with; it is given to each
	// job as a secret input file. Empty, and no Access: compositions are stored, and their status says no cluster
	// is configured.
	Kubeconfig []byte
	// Access, if not nil, makes each definition's ServiceAccount (krateo-<definition>, in the composition's
	// namespace) with a Role allowing exactly the kinds the chart renders, and the steps run with its token
	// instead of Kubeconfig's identity.
	Access Access
	// Command is the step's command line before "install"/"uninstall": the runplane binary and "helm".
	Command []string
	// Image is the image the step runs in where the executor runs images (Kubernetes: runplane's own image,
	// Command naming its binary); "" for the local executor, which runs Command on the host.
	Image string
	// KrateoNamespace is global.krateoNamespace (default krateo-system).
	KrateoNamespace string
	// MaxAttempts bounds the runs of one operation (default 5); Backoff is the wait before the second (default
	// 2s), doubled each time up to MaxBackoff (default 5m).
	MaxAttempts         int
	Backoff, MaxBackoff time.Duration
	// Timeout bounds one step (default 10m).
	Timeout time.Duration
	Logger  *slog.Logger
}

// Composer is an httpapi.CompositionReconciler. Its methods are safe for concurrent use; what they start is
// awaited by Run, which must be running for statuses to be written.
type Composer struct {
	st     Store
	runs   Runs
	charts ChartFetcher
	opts   Options
	log    *slog.Logger
	work   chan job

	mu      sync.Mutex
	current map[string]string // composition key → the idempotency key of its latest operation
	// packages caches chart packages by definition generation and chart (a version's package is read once per
	// definition change, not once per install); bounded by maxPackages.
	packages map[string][]byte
}

// maxPackages bounds the cached chart packages.
const maxPackages = 32

var _ httpapi.CompositionReconciler = (*Composer)(nil)

// job is an operation's run to await.
type job struct {
	op      release.Step
	res, ns string
	name    string
	key     string
	run     string
	attempt int
	def     store.CompositionDefinition
}

// New returns a Composer.
func New(st Store, rs Runs, charts ChartFetcher, opts Options) *Composer {
	if opts.KrateoNamespace == "" {
		opts.KrateoNamespace = "krateo-system"
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 2 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Minute
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Composer{st: st, runs: rs, charts: charts, opts: opts, log: log.With("component", "composer"),
		work: make(chan job, 256), current: map[string]string{}, packages: map[string][]byte{}}
}

// Run awaits the runs the composer started and writes their outcome, until ctx ends. It first takes over the
// operations a composer before it (a server that stopped) started and did not see end (resume).
func (c *Composer) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, j := range c.resume(ctx) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.await(ctx, j)
		}()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case j := <-c.work:
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.await(ctx, j)
			}()
		}
	}
}

func compKey(res, ns, name string) string { return res + "/" + ns + "/" + name }

// ReconcileComposition starts the install (create, update) or uninstall (deleting) of c's release.
func (c *Composer) ReconcileComposition(ctx context.Context, change httpapi.Change, def store.CompositionDefinition, comp store.Composition) error {
	switch change {
	case httpapi.ChangeCreated, httpapi.ChangeUpdated:
		if chart.Paused(comp.Metadata) {
			return c.setPaused(ctx, comp)
		}
		st := chart.ReadCompositionStatus(comp.Status)
		if change == httpapi.ChangeUpdated && st.ObservedGeneration == comp.Metadata.Generation && st.Operation == string(release.Install) &&
			installedFrom(st, comp) {
			return nil // labels or annotations only, and the release is from this chart version already
		}
		return c.start(ctx, release.Install, def, comp, 1)
	case httpapi.ChangeDeleting:
		if chart.Paused(comp.Metadata) || !c.cluster() {
			return nil // paused (removed without touching its release, as Krateo's orphan), or no cluster
		}
		if err := c.start(ctx, release.Uninstall, def, comp, 1); err != nil {
			return err
		}
		return httpapi.ErrDeleteDeferred
	}
	return nil
}

// installedFrom reports whether the status says the release is from the chart version comp names.
func installedFrom(st chart.CompositionStatus, comp store.Composition) bool {
	_, v, _ := strings.Cut(comp.APIVersion, "/")
	return st.HelmChartVersion != "" && "v"+strings.ReplaceAll(st.HelmChartVersion, ".", "-") == v
}

// start starts attempt n of operation op on comp's release and records it in comp's status.
func (c *Composer) start(ctx context.Context, op release.Step, def store.CompositionDefinition, comp store.Composition, n int) error {
	k := compKey(comp.Resource, comp.Metadata.Namespace, comp.Metadata.Name)
	if !c.cluster() {
		return c.fail(ctx, comp, op, "", "no cluster: start the server with --kubeconfig (or with the Kubernetes executor or "+
			"--kube-api, in the cluster) to install compositions' releases")
	}
	if f, ok := c.opts.Access.(Forgetter); ok && n > 1 {
		f.Forget(comp.Metadata.Namespace, serviceAccount(def))
	}
	files, ci, err := c.inputs(ctx, op, def, comp)
	if err != nil {
		return c.fail(ctx, comp, op, "", err.Error())
	}
	// One run per stored write of the composition and attempt: a relabel is a write that keeps the generation.
	key := fmt.Sprintf("krateo/%s/v%d/%s/%d", comp.Metadata.UID, comp.Version, op, n)
	name := workflowName(comp, op)
	args := append([]string{}, c.opts.Command[1:]...)
	args = append(args, string(op))
	def2 := api.Workflow{Name: name, Description: fmt.Sprintf("helm %s of %s %s/%s", op, comp.Kind, comp.Metadata.Namespace, comp.Metadata.Name),
		Steps: []api.Step{{Name: "helm-" + string(op), Timeout: api.Duration(c.opts.Timeout), Files: files, DiscardFiles: true,
			Containers: []api.Container{{Name: "helm", Image: c.opts.Image, Command: []string{c.opts.Command[0]}, Args: args, Env: release.StepEnv()}}}}}
	run, _, err := c.runs.Start(ctx, runs.Request{Workflow: name, Definition: &def2, Owner: Owner, OwnerID: Owner, IdempotencyKey: key})
	if err != nil {
		return fmt.Errorf("start helm %s of %s: %w", op, k, err)
	}
	c.mu.Lock()
	c.current[k] = key
	c.mu.Unlock()
	st := chart.ReadCompositionStatus(comp.Status)
	st.Run, st.Operation, st.Attempts = run.ID, string(op), n
	reason, msg := chart.ReasonInstalling, "helm "+string(op)+" runs (run "+run.ID+")"
	if op == release.Uninstall {
		reason = chart.ReasonDeleting
	}
	if ci != nil {
		st.HelmChartURL = ci.URL
	}
	st.SetConditions(time.Now(), comp.Metadata.Generation,
		api.Condition{Type: api.ConditionReady, Status: ready(st), Reason: reason, Message: msg},
		api.Condition{Type: api.ConditionSynced, Status: "False", Reason: reason, Message: msg})
	if _, err := c.save(ctx, comp, st); err != nil {
		return err
	}
	select {
	case c.work <- job{op: op, res: comp.Resource, ns: comp.Metadata.Namespace, name: comp.Metadata.Name, key: key, run: run.ID, attempt: n, def: def}:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// ready keeps Ready True while an upgrade runs over an installed release.
func ready(st chart.CompositionStatus) string {
	for _, c := range st.Conditions {
		if c.Type == api.ConditionReady && c.Status == "True" {
			return "True"
		}
	}
	return "False"
}

// workflowName names an operation's runs: krateo-<resource>-<namespace>-<name>-<op>, cut to a valid name.
func workflowName(comp store.Composition, op release.Step) string {
	n := strings.ToLower(strings.Join([]string{"krateo", comp.Resource, comp.Metadata.Namespace, comp.Metadata.Name, string(op)}, "-"))
	if len(n) > 63 {
		n = strings.TrimRight(n[:63], "-.")
	}
	return n
}

// cluster reports whether releases can be installed: a kubeconfig, or an Access that makes one per definition.
func (c *Composer) cluster() bool { return len(c.opts.Kubeconfig) > 0 || c.opts.Access != nil }

// serviceAccount is the ServiceAccount def's releases run as (in each composition's namespace).
func serviceAccount(def store.CompositionDefinition) string { return "krateo-" + def.Metadata.Name }

// inputs are the job's input files: the composition, the kubeconfig and (install) the chart of the version the
// composition names, fetched with the definition's credentials.
func (c *Composer) inputs(ctx context.Context, op release.Step, def store.CompositionDefinition, comp store.Composition) (map[string][]byte, *api.ChartInfo, error) {
	hc := helmchart.Composition{APIVersion: comp.APIVersion, Kind: comp.Kind, Resource: comp.Resource, Metadata: comp.Metadata, Spec: comp.Spec}
	hc.Metadata.ResourceVersion, hc.Metadata.CreationTimestamp = "", nil
	cb, err := json.Marshal(hc)
	if err != nil {
		return nil, nil, err
	}
	files := map[string][]byte{release.CompositionFile: cb}
	if len(c.opts.Kubeconfig) > 0 {
		files[release.KubeconfigFile] = c.opts.Kubeconfig // replaced by the ServiceAccount's below, with Access
	}
	sa := serviceAccount(def)
	if op == release.Uninstall {
		if c.opts.Access != nil {
			kc, err := c.opts.Access.Grant(ctx, comp.Metadata.Namespace, sa, nil)
			if err != nil {
				return nil, nil, err
			}
			files[release.KubeconfigFile] = kc
		}
		return files, nil, nil
	}
	o, err := chart.OfferOf(def.CompositionDefinition, def.Generated)
	if err != nil || o == nil {
		return nil, nil, fmt.Errorf("composition definition %s/%s generated no type", def.Metadata.Namespace, def.Metadata.Name)
	}
	_, v, _ := strings.Cut(comp.APIVersion, "/")
	ci := o.Chart(v)
	if ci == nil {
		return nil, nil, fmt.Errorf("composition definition %s/%s does not serve %s", def.Metadata.Namespace, def.Metadata.Name, comp.APIVersion)
	}
	with := *ci
	if sc := def.Spec.Chart; sc != nil && sc.URL == ci.URL && sc.Repo == ci.Repo {
		with.Credentials = sc.Credentials // the status keeps no credentials; the spec names them
	}
	if c.charts == nil {
		return nil, nil, errors.New("this server reads no charts")
	}
	ck := fmt.Sprintf("%s/%s/%s/g%d/%s/%s/%s", def.Metadata.Namespace, def.Metadata.Name, def.Metadata.UID,
		def.Metadata.Generation, with.URL, with.Repo, with.Version)
	c.mu.Lock()
	archive, ok := c.packages[ck]
	c.mu.Unlock()
	if !ok {
		pkg, err := c.charts.Fetch(ctx, with, def.Metadata.Namespace)
		if err != nil {
			return nil, nil, fmt.Errorf("fetch the chart: %w", err)
		}
		archive = pkg.Archive
		c.mu.Lock()
		if len(c.packages) >= maxPackages {
			clear(c.packages)
		}
		c.packages[ck] = archive
		c.mu.Unlock()
	}
	files[release.ChartFile] = archive
	if c.opts.Access != nil {
		// Render the chart as the step will (spec, Krateo's values and labels) and grant exactly its kinds.
		r, err := helmchart.Render(archive, hc, c.opts.KrateoNamespace)
		if err != nil {
			return nil, nil, err
		}
		kc, err := c.opts.Access.Grant(ctx, comp.Metadata.Namespace, sa, r.Kinds())
		if err != nil {
			return nil, nil, err
		}
		files[release.KubeconfigFile] = kc
		if d, ok := c.opts.Access.(Discoverer); ok {
			// Without it the step discovers for itself, as it would anyway: only slower.
			if b, err := d.Discovery(ctx, r.Kinds()); err == nil {
				files[release.DiscoveryFile] = b
			} else {
				c.log.Warn("discover the cluster's APIs for a release step", "err", err)
			}
		}
	}
	return files, ci, nil
}

// resume finds the operations under way by the stored statuses: a composition whose status names a run while
// Synced says an install or uninstall is running. The run goes on without its server (or ended meanwhile); its
// outcome is written as if this composer had started it, retries included. An operation this composer started
// since wins.
func (c *Composer) resume(ctx context.Context) []job {
	defs, err := c.st.ListCompositionDefinitions(ctx, "")
	if err != nil {
		c.log.Warn("list composition definitions to resume their releases", "err", err)
		return nil
	}
	var jobs []job
	seen := map[string]bool{}
	for _, def := range defs {
		res := def.Status.Resource
		if res == "" || seen[res] {
			continue
		}
		seen[res] = true
		comps, err := c.st.ListCompositions(ctx, res, "")
		if err != nil {
			c.log.Warn("list compositions to resume their releases", "resource", res, "err", err)
			continue
		}
		for _, comp := range comps {
			st := chart.ReadCompositionStatus(comp.Status)
			if st.Run == "" || !underWay(st) {
				continue
			}
			k := compKey(res, comp.Metadata.Namespace, comp.Metadata.Name)
			key := "resumed/" + st.Run
			c.mu.Lock()
			_, started := c.current[k]
			if !started {
				c.current[k] = key
			}
			c.mu.Unlock()
			if started {
				continue
			}
			c.log.Info("resume a composition's release operation", "composition", k, "operation", st.Operation, "run", st.Run)
			jobs = append(jobs, job{op: release.Step(st.Operation), res: res, ns: comp.Metadata.Namespace,
				name: comp.Metadata.Name, key: key, run: st.Run, attempt: max(st.Attempts, 1), def: def})
		}
	}
	return jobs
}

// underWay reports whether st says its operation's run was started and its outcome not yet written.
func underWay(st chart.CompositionStatus) bool {
	for _, cd := range st.Conditions {
		if cd.Type == api.ConditionSynced {
			return cd.Status == "False" && (cd.Reason == chart.ReasonInstalling || cd.Reason == chart.ReasonDeleting)
		}
	}
	return false
}

package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/imagepolicy"
	"github.com/runplane/runplane/internal/jobfiles"
	"github.com/runplane/runplane/internal/joblog"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/trigger"
)

// Store is the slice of the store the API reads and writes directly; jobs are created through the Engine.
type Store interface {
	store.Runners
	store.Tasks
	GetJob(ctx context.Context, id string) (store.Job, error)
	ListJobs(ctx context.Context, f store.JobFilter) ([]store.Job, int, error)
	store.Users
	store.Groups
	store.Roles
	store.RoleBindings
	store.APITokens
	store.Webhooks
	FindAudit(ctx context.Context, f store.AuditFilter) ([]api.AuditLog, int, error)
	GetAudit(ctx context.Context, id string) (api.AuditLog, error)
	store.Workflows
	store.CronJobs
	GetRun(ctx context.Context, id string) (store.Run, error)
	ListRuns(ctx context.Context, f store.RunFilter) ([]store.Run, int, error)
	RunValues(ctx context.Context, run string) ([]store.RunValue, error)
	SetRunValue(ctx context.Context, v store.RunValue) error
	store.EventSinks
	store.CloudEvents
	store.EventRules
	store.StateStores
	store.Destinations
	store.Promises
	store.CompositionDefinitions
	store.Compositions
}

// Auditor records the audit entries that no change's transaction wrote (failures, refusals, logins); *audit.Log
// implements it. Record never blocks on I/O but may wait, until ctx ends, for room in a full queue;
// RecordRefused counts refused (throttled) logins into one entry per user, address and window.
type Auditor interface {
	Record(ctx context.Context, e api.AuditLog)
	RecordRefused(ctx context.Context, e api.AuditLog)
}

// Engine is the job engine as the API uses it; *jobs.Engine implements it.
type Engine interface {
	// Submit queues a job; jobs.ErrTaskNotFound, *api.InvalidError for bad input.
	Submit(ctx context.Context, r jobs.Request) (jobs.Submitted, error)
	// Await returns the job once final, or its current state after max.
	Await(ctx context.Context, id string, max time.Duration) (store.Job, error)
	// Cancel ends a live job; store.ErrNotFound, jobs.ErrFinished.
	Cancel(ctx context.Context, id string) (store.Job, error)
	// Done returns a channel closed when the job is final; store.ErrNotFound.
	Done(ctx context.Context, id string) (<-chan struct{}, error)
}

var _ Engine = (*jobs.Engine)(nil)

// Defaults for Options.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultStdoutLimit  = 1 << 20
)

// Options configure a Handler. Store, Engine, Logs, Auth and Audit are required.
type Options struct {
	Store  Store
	Engine Engine
	Logs   *joblog.Store
	Auth   *auth.Authenticator
	Audit  Auditor
	// Logger receives the access log and the causes of internal errors; nil discards.
	Logger *slog.Logger
	// Registerer receives the HTTP metrics; nil registers none.
	Registerer prometheus.Registerer
	// Gatherer is served at /metrics; nil serves an empty registry.
	Gatherer prometheus.Gatherer
	// Ready reports whether the server can serve (the store answers); nil means always ready.
	Ready func(context.Context) error
	// Runs is the workflow engine; nil: no workflow can be run (definitions can still be saved).
	Runs Runs
	// Cron is the cron trigger loop, woken when cron jobs change and firing them by hand; nil: cron jobs can be
	// saved but not triggered by hand.
	Cron CronLoop
	// StepTokens checks the tokens of workflow steps calling the metadata API; nil: the metadata API refuses all.
	StepTokens StepTokens
	// Files is what multi-container jobs kept of their output; nil: none is served.
	Files *jobfiles.Store
	// MaxBodyBytes bounds every request body; 0 means DefaultMaxBodyBytes. Larger bodies answer 413.
	MaxBodyBytes int64
	// BodyTimeout bounds the time a request's body may take to arrive, from when its headers were read; a body
	// still arriving answers 408. 0 means no limit.
	BodyTimeout time.Duration
	// StdoutLimit bounds the stdout shown for a job that is still running; 0 means DefaultStdoutLimit.
	StdoutLimit int64
	// Images is the operator's image allowlist: a runner naming an image outside it is refused when saved (400).
	// Nil or empty allows every image. (The engine checks it again when a job is submitted.)
	Images *imagepolicy.Allowlist
	// AllowedOrigins are the origins (scheme://host[:port]) besides the server's own whose pages may make
	// state-changing requests with the session cookie (see origin.go); ParseOrigins checks them.
	AllowedOrigins []string
	// TrustedProxies are the peers (ParseProxies) whose X-Forwarded-For and X-Forwarded-Proto are believed: the
	// client's address then comes from the header, and https marks the session cookie Secure. Nil trusts none.
	TrustedProxies []netip.Prefix
	// Firer starts what triggers (webhooks) name, as their owners: the server's one Firer, shared with its cron
	// loop and event dispatcher. Nil: New makes one from Auth, Engine and Runs.
	Firer *trigger.Firer
	// Events takes CloudEvents in (POST /api/v1/events); nil: they are refused (503).
	Events Events
	// PrivilegedTasks lets event rules ask for privileged containers; otherwise saving such rules is a 400.
	PrivilegedTasks bool
	// MaxTokenLifetime bounds how long an API token may live: one created without an expiry gets this long, and
	// a later expiry (or none) is refused. 0: no bound.
	MaxTokenLifetime time.Duration
	// Promises is told of every stored change to promises and resource requests (reconciler.go); nil:
	// NopReconciler, which runs nothing.
	Promises PromiseReconciler
	// Charts reads the charts of Krateo CompositionDefinitions; nil: definitions are stored, never Ready.
	Charts ChartFetcher
	// Compositions is told of every stored change to Krateo compositions (compositions.go); nil: they are only
	// stored, and deleted at once.
	Compositions CompositionReconciler
	// SecretsInCluster: the server runs with a cluster, where a definition's passwordRef names a Kubernetes Secret
	// of its own namespace (read when the chart is fetched) and a GitStateStore's secretRef a Kubernetes Secret
	// (read at each write), not runners' secrets: no runner is checked, and naming a Secret in a secretRef needs
	// an admin.
	SecretsInCluster bool
}

// Route is one entry of the route table: an HTTP method, a ServeMux path pattern and how it is authorized.
type Route struct {
	Method string
	Path   string
	// Public routes need no credentials: login, health, readiness, metrics and the OpenAPI document.
	Public bool
	// Resource is the RBAC resource the route acts on ("" for public and session routes), Authz how the adapter
	// checks the caller, Param the path wildcard naming the object for Object checks, and Own whether the
	// object's owner passes an Object check.
	Resource string
	Authz    Authz
	Param    string
	Own      bool
}

// handlerFunc is a handler that returns its error for Handler.handle to answer with the right status.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type route struct {
	Route
	fn handlerFunc
}

// Handler serves the API. It is safe for concurrent use.
type Handler struct {
	st               Store
	engine           Engine
	logs             *joblog.Store
	files            *jobfiles.Store
	runs             Runs
	cron             CronLoop
	steps            StepTokens
	firer            *trigger.Firer
	auth             *auth.Authenticator
	audit            Auditor
	log              *slog.Logger
	ready            func(context.Context) error
	maxBody          int64
	bodyTimeout      time.Duration
	stdoutLimit      int64
	images           *imagepolicy.Allowlist
	origins          map[string]bool
	maxTokenLife     time.Duration
	evin             eventsIn
	reconciler       PromiseReconciler
	charts           ChartFetcher
	compositions     CompositionReconciler
	secretsInCluster bool
	metrics          *httpMetrics
	metricsPage      http.Handler
	mux              *http.ServeMux
	routes           []Route
	root             http.Handler
}

// New builds the API handler.
func New(opts Options) (*Handler, error) {
	if opts.Store == nil || opts.Engine == nil || opts.Logs == nil || opts.Auth == nil || opts.Audit == nil {
		return nil, errors.New("httpapi: Store, Engine, Logs, Auth and Audit are required")
	}
	if opts.MaxBodyBytes < 0 || opts.StdoutLimit < 0 {
		return nil, errors.New("httpapi: negative limit")
	}
	h := &Handler{
		st:               opts.Store,
		engine:           opts.Engine,
		logs:             opts.Logs,
		files:            opts.Files,
		runs:             opts.Runs,
		cron:             opts.Cron,
		steps:            opts.StepTokens,
		firer:            opts.Firer,
		auth:             opts.Auth,
		audit:            opts.Audit,
		log:              opts.Logger,
		ready:            opts.Ready,
		maxBody:          opts.MaxBodyBytes,
		bodyTimeout:      opts.BodyTimeout,
		stdoutLimit:      opts.StdoutLimit,
		images:           opts.Images,
		maxTokenLife:     opts.MaxTokenLifetime,
		evin:             eventsIn{events: opts.Events, privileged: opts.PrivilegedTasks},
		reconciler:       opts.Promises,
		charts:           opts.Charts,
		compositions:     opts.Compositions,
		secretsInCluster: opts.SecretsInCluster,
		mux:              http.NewServeMux(),
	}
	if h.firer == nil {
		h.firer = trigger.NewFirer(opts.Auth, opts.Engine, opts.Runs)
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.reconciler == nil {
		h.reconciler = NopReconciler{}
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.stdoutLimit == 0 {
		h.stdoutLimit = DefaultStdoutLimit
	}
	var err error
	if h.origins, err = ParseOrigins(opts.AllowedOrigins); err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	if h.metrics, err = newHTTPMetrics(opts.Registerer); err != nil {
		return nil, err
	}
	h.metricsPage = metricsHandler(opts.Gatherer)
	for _, rt := range h.table() {
		h.mux.Handle(rt.Method+" "+rt.Path, h.handle(rt))
		h.routes = append(h.routes, rt.Route)
	}
	// limitBody wraps the connection's own writer, so an oversized body also closes the connection.
	h.root = forwarded(opts.TrustedProxies, h.limitBody(h.observe(http.HandlerFunc(h.dispatch))))
	return h, nil
}

// ServeHTTP serves one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.root.ServeHTTP(w, r) }

// Routes returns the route table, in registration order.
func (h *Handler) Routes() []Route { return append([]Route(nil), h.routes...) }

// table is every route the API serves. The OpenAPI document lists the same routes; a test keeps them in step.
func (h *Handler) table() []route {
	pub := func(method, path string, fn handlerFunc) route {
		return route{Route{Method: method, Path: path, Public: true}, fn}
	}
	// session: any authenticated caller; the handler keeps them to what is theirs.
	session := func(method, path, resource string, fn handlerFunc) route {
		return route{Route{Method: method, Path: path, Resource: resource, Authz: Authenticated}, fn}
	}
	list := func(path, resource string, fn handlerFunc) route {
		return route{Route{Method: "GET", Path: path, Resource: resource, Authz: List}, fn}
	}
	create := func(method, path, resource string, fn handlerFunc) route {
		return route{Route{Method: method, Path: path, Resource: resource, Authz: Create}, fn}
	}
	obj := func(method, path, resource, param string, fn handlerFunc) route {
		return route{Route{Method: method, Path: path, Resource: resource, Authz: Object, Param: param}, fn}
	}
	own := func(method, path, resource string, fn handlerFunc) route {
		return route{Route{Method: method, Path: path, Resource: resource, Authz: Object, Param: "id", Own: true}, fn}
	}
	const (
		v1       = apiPrefix
		runners  = api.ResourceRunners
		tasks    = api.ResourceTasks
		jobs     = api.ResourceJobs
		users    = api.ResourceUsers
		groups   = api.ResourceGroups
		roles    = api.ResourceRoles
		bindings = api.ResourceRoleBindings
		tokens   = api.ResourceAPITokens
		webhooks = api.ResourceWebhooks
		auditLog = api.ResourceAuditLogs
		// workflows: definitions; runsRes: their runs, by workflow name.
		workflows = api.ResourceWorkflows
		runsRes   = api.ResourceRuns
		cronjobs  = api.ResourceCronJobs
		// evs: CloudEvents, by source; evRules: rule sets, by name.
		evs     = api.ResourceEvents
		evRules = api.ResourceEventRules
	)
	routes := []route{
		pub("GET", "/healthz", h.healthz),
		pub("GET", "/readyz", h.readyz),
		pub("GET", "/metrics", h.serveMetrics),
		pub("POST", v1+"/login", h.login),
		session("GET", v1+"/refresh", "", h.refresh),
		session("POST", v1+"/logout", "", h.logout),
		session("GET", v1+"/access", "", h.access),
		pub("GET", v1+"/openapi.json", h.openAPI),

		list(v1+"/runners", runners, h.listRunners),
		create("POST", v1+"/runners", runners, h.createRunner),
		create("PUT", v1+"/runners", runners, h.createRunner), // Kriten accepts PUT on the collection as create
		obj("GET", v1+"/runners/{id}", runners, "id", h.getRunner),
		obj("PUT", v1+"/runners/{id}", runners, "id", h.replaceRunner),
		obj("PATCH", v1+"/runners/{id}", runners, "id", h.patchRunner),
		obj("DELETE", v1+"/runners/{id}", runners, "id", h.deleteRunner),
		obj("GET", v1+"/runners/{id}/secret", runners, "id", h.getSecret),
		obj("POST", v1+"/runners/{id}/secret", runners, "id", h.mergeSecret),
		obj("PUT", v1+"/runners/{id}/secret", runners, "id", h.replaceSecret),
		obj("DELETE", v1+"/runners/{id}/secret", runners, "id", h.deleteSecret),

		list(v1+"/tasks", tasks, h.listTasks),
		create("POST", v1+"/tasks", tasks, h.createTask),
		create("PUT", v1+"/tasks", tasks, h.createTask),
		obj("GET", v1+"/tasks/{id}", tasks, "id", h.getTask),
		obj("PUT", v1+"/tasks/{id}", tasks, "id", h.replaceTask),
		obj("PATCH", v1+"/tasks/{id}", tasks, "id", h.patchTask),
		obj("DELETE", v1+"/tasks/{id}", tasks, "id", h.deleteTask),
		obj("GET", v1+"/tasks/{id}/schema", tasks, "id", h.getSchema),
		obj("POST", v1+"/tasks/{id}/schema", tasks, "id", h.setSchema),
		obj("PUT", v1+"/tasks/{id}/schema", tasks, "id", h.setSchema),
		obj("DELETE", v1+"/tasks/{id}/schema", tasks, "id", h.deleteSchema),
		obj("GET", v1+"/tasks/{id}/openapi.json", tasks, "id", h.taskOpenAPI),
		obj("POST", v1+"/tasks/{task}/run", jobs, "task", h.submitJob),

		list(v1+"/jobs", jobs, h.listJobs),
		obj("GET", v1+"/jobs/{id}", jobs, "id", h.getJob),
		obj("GET", v1+"/jobs/{id}/log", jobs, "id", h.jobLog),
		obj("GET", v1+"/jobs/{id}/output", jobs, "id", h.jobOutput),
		obj("GET", v1+"/jobs/{id}/output/{path...}", jobs, "id", h.jobOutputFile),
		obj("POST", v1+"/jobs/{id}/cancel", jobs, "id", h.cancelJob),
		obj("POST", v1+"/jobs/{id}/rerun", jobs, "id", h.rerunJob),
		obj("POST", v1+"/jobs/{task}", jobs, "task", h.submitJob),
		obj("PUT", v1+"/jobs/{task}", jobs, "task", h.submitJob),

		list(v1+"/workflows", workflows, h.listWorkflows),
		create("POST", v1+"/workflows", workflows, h.createWorkflow),
		obj("GET", v1+"/workflows/{id}", workflows, "id", h.getWorkflow),
		obj("PUT", v1+"/workflows/{id}", workflows, "id", h.replaceWorkflow),
		obj("DELETE", v1+"/workflows/{id}", workflows, "id", h.deleteWorkflow),
		obj("POST", v1+"/workflows/{workflow}/runs", runsRes, "workflow", h.startRun),
		list(v1+"/runs", runsRes, h.listRuns),
		obj("GET", v1+"/runs/{id}", runsRes, "id", h.getRun),
		obj("POST", v1+"/runs/{id}/cancel", runsRes, "id", h.cancelRun),
		obj("POST", v1+"/runs/{id}/rerun", runsRes, "id", h.rerunRun),
		obj("GET", v1+"/workflows/{id}/graph", workflows, "id", h.workflowGraph),
		obj("GET", v1+"/runs/{id}/graph", runsRes, "id", h.runGraph),

		list(v1+"/cronjobs", cronjobs, h.listCronJobs),
		create("POST", v1+"/cronjobs", cronjobs, h.createCronJob),
		create("PUT", v1+"/cronjobs", cronjobs, h.createCronJob), // Kriten accepts PUT on the collection as create
		obj("GET", v1+"/cronjobs/{id}", cronjobs, "id", h.getCronJob),
		obj("PUT", v1+"/cronjobs/{id}", cronjobs, "id", h.replaceCronJob),
		obj("PATCH", v1+"/cronjobs/{id}", cronjobs, "id", h.patchCronJob),
		obj("DELETE", v1+"/cronjobs/{id}", cronjobs, "id", h.deleteCronJob),
		obj("GET", v1+"/cronjobs/{id}/schema", cronjobs, "id", h.getCronJobSchema),
		obj("POST", v1+"/cronjobs/{id}/trigger", cronjobs, "id", h.triggerCronJob),
		create("POST", v1+"/events", evs, h.postEvents),
		list(v1+"/events", evs, h.listEvents),
		list(v1+"/events/{id}", evs, h.getEvent),
		list(v1+"/event_rules", evRules, h.listEventRules),
		create("POST", v1+"/event_rules", evRules, h.createEventRules),
		obj("GET", v1+"/event_rules/{id}", evRules, "id", h.getEventRules),
		obj("PUT", v1+"/event_rules/{id}", evRules, "id", h.replaceEventRules),
		obj("DELETE", v1+"/event_rules/{id}", evRules, "id", h.deleteEventRules),

		list(v1+"/users", users, h.listUsers),
		create("POST", v1+"/users", users, h.createUser),
		own("GET", v1+"/users/{id}", users, h.getUser),
		own("PUT", v1+"/users/{id}", users, h.replaceUser),
		own("PATCH", v1+"/users/{id}", users, h.patchUser),
		obj("DELETE", v1+"/users/{id}", users, "id", h.deleteUser),
		own("GET", v1+"/users/{id}/groups", users, h.userGroups),

		list(v1+"/groups", groups, h.listGroups),
		create("POST", v1+"/groups", groups, h.createGroup),
		obj("GET", v1+"/groups/{id}", groups, "id", h.getGroup),
		obj("PUT", v1+"/groups/{id}", groups, "id", h.replaceGroup),
		obj("PATCH", v1+"/groups/{id}", groups, "id", h.patchGroup),
		obj("DELETE", v1+"/groups/{id}", groups, "id", h.deleteGroup),
		obj("GET", v1+"/groups/{id}/users", groups, "id", h.groupUsers),
		obj("POST", v1+"/groups/{id}/users", groups, "id", h.addGroupUsers),
		obj("DELETE", v1+"/groups/{id}/users", groups, "id", h.removeGroupUsers),

		list(v1+"/roles", roles, h.listRoles),
		create("POST", v1+"/roles", roles, h.createRole),
		obj("GET", v1+"/roles/{id}", roles, "id", h.getRole),
		obj("PUT", v1+"/roles/{id}", roles, "id", h.replaceRole),
		obj("PATCH", v1+"/roles/{id}", roles, "id", h.patchRole),
		obj("DELETE", v1+"/roles/{id}", roles, "id", h.deleteRole),

		list(v1+"/role_bindings", bindings, h.listRoleBindings),
		create("POST", v1+"/role_bindings", bindings, h.createRoleBinding),
		obj("GET", v1+"/role_bindings/{id}", bindings, "id", h.getRoleBinding),
		obj("PUT", v1+"/role_bindings/{id}", bindings, "id", h.replaceRoleBinding),
		obj("PATCH", v1+"/role_bindings/{id}", bindings, "id", h.patchRoleBinding),
		obj("DELETE", v1+"/role_bindings/{id}", bindings, "id", h.deleteRoleBinding),

		session("GET", v1+"/api_tokens", tokens, h.listOwnTokens),
		session("POST", v1+"/api_tokens", tokens, h.createToken),
		session("DELETE", v1+"/api_tokens", tokens, h.revokeAll), // ?owner=me
		list(v1+"/api_tokens/all", tokens, h.listAllTokens),
		own("GET", v1+"/api_tokens/{id}", tokens, h.getToken),
		own("PUT", v1+"/api_tokens/{id}", tokens, h.replaceToken),
		own("PATCH", v1+"/api_tokens/{id}", tokens, h.patchToken),
		own("DELETE", v1+"/api_tokens/{id}", tokens, h.deleteToken),

		session("GET", v1+"/webhooks", webhooks, h.listOwnWebhooks),
		session("POST", v1+"/webhooks", webhooks, h.createWebhook),
		session("PUT", v1+"/webhooks", webhooks, h.createWebhook), // Kriten accepts PUT on the collection as create
		list(v1+"/webhooks/all", webhooks, h.listAllWebhooks),
		own("GET", v1+"/webhooks/{id}", webhooks, h.getWebhook),
		own("DELETE", v1+"/webhooks/{id}", webhooks, h.deleteWebhook),
		// Deliveries carry no credentials: the handler verifies their signature (webhooks.go).
		pub("POST", v1+"/webhooks/run/{id}", h.runWebhook),

		list(v1+"/audit_logs", auditLog, h.listAudit),
		obj("GET", v1+"/audit_logs/{id}", auditLog, "id", h.getAudit),

		session("POST", dryRunPath, "", h.dryRunList),
	}
	routes = append(routes, h.eventSinkRoutes()...)
	routes = append(routes, h.stateStoreRoutes()...)
	routes = append(routes, h.promiseRoutes()...)
	routes = append(routes, h.definitionRoutes()...)
	routes = append(routes, h.compositionRoutes()...)
	return append(routes, h.metadataRoutes(pub)...)
}

// handle adapts a route's handler: it names the route for metrics and logs, authenticates the caller of a
// protected route (putting the Principal in the context), authorizes it (Route.Authz), answers a returned error
// through writeError, and records every mutation in the audit log: in the transaction of the change it made, or,
// when it changed nothing, through the Auditor.
// routesOf makes the routes of one resource whose objects are named by the path parameter param: its Object
// routes are authorized by that parameter, the others (List, Create, …) by none.
func routesOf(resource, param string) func(method, path string, authz Authz, fn handlerFunc) route {
	return func(method, path string, authz Authz, fn handlerFunc) route {
		r := route{Route{Method: method, Path: path, Resource: resource, Authz: authz}, fn}
		if authz == Object {
			r.Param = param
		}
		return r
	}
}

func (h *Handler) handle(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sw, ok := w.(*statusWriter); ok {
			sw.route = rt.Path
			sw.quiet = rt.Public && rt.Method == http.MethodGet
		}
		if needsOriginCheck(r, rt.Route) {
			if err := h.checkOrigin(r); err != nil {
				h.writeError(w, r, err)
				return
			}
		}
		if rt.Public {
			if _, err := dryRunOf(r, rt.Route); err != nil { // login cannot be dry-run
				h.writeError(w, r, err)
				return
			}
			if err := rt.fn(w, r); err != nil {
				h.writeError(w, r, err)
			}
			return
		}
		p, err := h.authenticate(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		r = withLoaded(r.WithContext(auth.WithPrincipal(r.Context(), p)))
		if sw, ok := w.(*statusWriter); ok {
			sw.user = p.Username
		}
		mutation := r.Method != http.MethodGet && r.Method != http.MethodHead
		if sw, ok := w.(*statusWriter); ok && mutation && changesAccess(rt.Resource) {
			// Even a failed change may have half happened; forgetting costs each caller one read.
			sw.beforeAnswer = h.auth.Forget
		}
		if dry, err := dryRunOf(r, rt.Route); err != nil || dry {
			// A dry run changes nothing: like a read, it is not audited (dryrun.go).
			if err == nil {
				err = h.serveDryRun(w, r, rt.Route, p)
			}
			if err != nil {
				h.writeError(w, r, err)
			}
			return
		}
		var pending *store.PendingAudit
		if err = h.authorize(r, rt.Route, p); err == nil {
			if mutation {
				// The store writes the entry with the change it records (see store.WithAudit).
				pending = store.NewPendingAudit(auditEntry(r, rt.Route, p))
				r = r.WithContext(store.WithAudit(r.Context(), pending))
				if sw, ok := w.(*statusWriter); ok {
					sw.pending = pending
				}
			}
			err = rt.fn(w, r)
		}
		if err != nil {
			h.writeError(w, r, err)
		}
		if mutation {
			h.auditRequest(w, r, rt.Route, p, pending, err)
		}
	})
}

// changesAccess reports whether mutating resource can change who may do what (or whose sessions are valid).
func changesAccess(resource string) bool {
	switch resource {
	case api.ResourceUsers, api.ResourceGroups, api.ResourceRoles, api.ResourceRoleBindings:
		return true
	}
	return false
}

// dispatch routes r through the mux, answering unknown paths (404) and methods (405, with Allow) in JSON too.
func (h *Handler) dispatch(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	c := &captureWriter{header: http.Header{}}
	h.mux.ServeHTTP(c, r)
	if allow := c.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	status := c.status
	if status == 0 || status < 400 {
		status = http.StatusNotFound
	}
	writeJSON(w, status, api.Error{Error: lowerStatusText(status)})
}

// limitBody caps every request body at maxBody bytes, reading past which fails with *http.MaxBytesError (413),
// and at bodyTimeout, past which reading fails with *BodyTimeoutError (408).
func (h *Handler) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r2 := *r
			r2.Body = http.MaxBytesReader(w, r.Body, h.maxBody)
			r = withBodyDeadline(w, &r2, h.bodyTimeout)
		}
		next.ServeHTTP(w, r)
	})
}

// captureWriter records the status and headers the mux writes for a request no route matched, dropping its body.
type captureWriter struct {
	header http.Header
	status int
}

func (c *captureWriter) Header() http.Header         { return c.header }
func (c *captureWriter) Write(b []byte) (int, error) { return len(b), nil }
func (c *captureWriter) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func lowerStatusText(status int) string {
	if s := http.StatusText(status); s != "" {
		return strings.ToLower(s)
	}
	return fmt.Sprintf("status %d", status)
}

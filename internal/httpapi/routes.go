package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/joblog"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/store"
)

// Store is the slice of the store the API reads and writes directly; jobs are created through the Engine.
type Store interface {
	store.Runners
	store.Tasks
	GetJob(ctx context.Context, id string) (store.Job, error)
	ListJobs(ctx context.Context, f store.JobFilter) ([]store.Job, int, error)
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

// Options configure a Handler. Store, Engine, Logs and Auth are required.
type Options struct {
	Store  Store
	Engine Engine
	Logs   *joblog.Store
	Auth   *auth.Authenticator
	// Logger receives the access log and the causes of internal errors; nil discards.
	Logger *slog.Logger
	// Registerer receives the HTTP metrics; nil registers none.
	Registerer prometheus.Registerer
	// Gatherer is served at /metrics; nil serves an empty registry.
	Gatherer prometheus.Gatherer
	// Ready reports whether the server can serve (the store answers); nil means always ready.
	Ready func(context.Context) error
	// MaxBodyBytes bounds every request body; 0 means DefaultMaxBodyBytes. Larger bodies answer 413.
	MaxBodyBytes int64
	// StdoutLimit bounds the stdout shown for a job that is still running; 0 means DefaultStdoutLimit.
	StdoutLimit int64
}

// Route is one entry of the route table: an HTTP method and a ServeMux path pattern.
type Route struct {
	Method string
	Path   string
	// Public routes need no credentials: login, health, readiness and metrics.
	Public bool
}

// handlerFunc is a handler that returns its error for Handler.handle to answer with the right status.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type route struct {
	Route
	fn handlerFunc
}

// Handler serves the API. It is safe for concurrent use.
type Handler struct {
	st          Store
	engine      Engine
	logs        *joblog.Store
	auth        *auth.Authenticator
	log         *slog.Logger
	ready       func(context.Context) error
	maxBody     int64
	stdoutLimit int64
	metrics     *httpMetrics
	metricsPage http.Handler
	mux         *http.ServeMux
	routes      []Route
	root        http.Handler
}

// New builds the API handler.
func New(opts Options) (*Handler, error) {
	if opts.Store == nil || opts.Engine == nil || opts.Logs == nil || opts.Auth == nil {
		return nil, errors.New("httpapi: Store, Engine, Logs and Auth are required")
	}
	if opts.MaxBodyBytes < 0 || opts.StdoutLimit < 0 {
		return nil, errors.New("httpapi: negative limit")
	}
	h := &Handler{
		st:          opts.Store,
		engine:      opts.Engine,
		logs:        opts.Logs,
		auth:        opts.Auth,
		log:         opts.Logger,
		ready:       opts.Ready,
		maxBody:     opts.MaxBodyBytes,
		stdoutLimit: opts.StdoutLimit,
		mux:         http.NewServeMux(),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.stdoutLimit == 0 {
		h.stdoutLimit = DefaultStdoutLimit
	}
	var err error
	if h.metrics, err = newHTTPMetrics(opts.Registerer); err != nil {
		return nil, err
	}
	h.metricsPage = metricsHandler(opts.Gatherer)
	for _, rt := range h.table() {
		h.mux.Handle(rt.Method+" "+rt.Path, h.handle(rt))
		h.routes = append(h.routes, rt.Route)
	}
	// limitBody wraps the connection's own writer, so an oversized body also closes the connection.
	h.root = h.limitBody(h.observe(http.HandlerFunc(h.dispatch)))
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
	priv := func(method, path string, fn handlerFunc) route {
		return route{Route{Method: method, Path: path}, fn}
	}
	const v1 = "/api/v1"
	return []route{
		pub("GET", "/healthz", h.healthz),
		pub("GET", "/readyz", h.readyz),
		pub("GET", "/metrics", h.serveMetrics),
		pub("POST", v1+"/login", h.login),
		priv("GET", v1+"/refresh", h.refresh),
		priv("GET", v1+"/openapi.json", h.openAPI),

		priv("GET", v1+"/runners", h.listRunners),
		priv("POST", v1+"/runners", h.createRunner),
		priv("PUT", v1+"/runners", h.createRunner), // Kriten accepts PUT on the collection as create
		priv("GET", v1+"/runners/{id}", h.getRunner),
		priv("PUT", v1+"/runners/{id}", h.replaceRunner),
		priv("PATCH", v1+"/runners/{id}", h.patchRunner),
		priv("DELETE", v1+"/runners/{id}", h.deleteRunner),
		priv("GET", v1+"/runners/{id}/secret", h.getSecret),
		priv("POST", v1+"/runners/{id}/secret", h.mergeSecret),
		priv("PUT", v1+"/runners/{id}/secret", h.replaceSecret),
		priv("DELETE", v1+"/runners/{id}/secret", h.deleteSecret),

		priv("GET", v1+"/tasks", h.listTasks),
		priv("POST", v1+"/tasks", h.createTask),
		priv("PUT", v1+"/tasks", h.createTask),
		priv("GET", v1+"/tasks/{id}", h.getTask),
		priv("PUT", v1+"/tasks/{id}", h.replaceTask),
		priv("PATCH", v1+"/tasks/{id}", h.patchTask),
		priv("DELETE", v1+"/tasks/{id}", h.deleteTask),
		priv("GET", v1+"/tasks/{id}/schema", h.getSchema),
		priv("POST", v1+"/tasks/{id}/schema", h.setSchema),
		priv("PUT", v1+"/tasks/{id}/schema", h.setSchema),
		priv("DELETE", v1+"/tasks/{id}/schema", h.deleteSchema),
		priv("POST", v1+"/tasks/{task}/run", h.submitJob),

		priv("GET", v1+"/jobs", h.listJobs),
		priv("GET", v1+"/jobs/{id}", h.getJob),
		priv("GET", v1+"/jobs/{id}/log", h.jobLog),
		priv("POST", v1+"/jobs/{id}/cancel", h.cancelJob),
		priv("POST", v1+"/jobs/{task}", h.submitJob),
		priv("PUT", v1+"/jobs/{task}", h.submitJob),
	}
}

// handle adapts a route's handler: it names the route for metrics and logs, authenticates the caller of a
// protected route (putting the Principal in the context), and answers a returned error through writeError.
func (h *Handler) handle(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sw, ok := w.(*statusWriter); ok {
			sw.route = rt.Path
			sw.quiet = rt.Public && rt.Method == http.MethodGet
		}
		if !rt.Public {
			p, err := h.auth.Authenticate(r)
			if err != nil {
				h.writeError(w, r, err)
				return
			}
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		}
		if err := rt.fn(w, r); err != nil {
			h.writeError(w, r, err)
		}
	})
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

// limitBody caps every request body at maxBody bytes; reading past it fails with *http.MaxBytesError (413).
func (h *Handler) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r2 := *r
			r2.Body = http.MaxBytesReader(w, r.Body, h.maxBody)
			r = &r2
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

package ui

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/runplane/runplane/api"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Options configure the UI. API is required; a nil Logger discards.
type Options struct {
	// API serves the REST API (under /api/v1) and every path the UI does not: the UI reads its data through it.
	API    http.Handler
	Logger *slog.Logger
}

// Handler serves the UI's pages and assets, and hands every other request to the API. Safe for concurrent use.
type Handler struct {
	api   http.Handler
	log   *slog.Logger
	pages map[string]*template.Template
	mux   *http.ServeMux
}

// New builds the UI handler.
func New(opts Options) (*Handler, error) {
	if opts.API == nil {
		return nil, errors.New("ui: API is required")
	}
	h := &Handler{api: opts.API, log: opts.Logger, pages: map[string]*template.Template{}, mux: http.NewServeMux()}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	for _, p := range []string{"login", "tasks", "task", "jobs", "job", "error", "workflows", "workflow", "runs", "run",
		"admin", "admin_list", "admin_audit", "admin_runner", "admin_task", "admin_workflow", "admin_object", "tokens", "promises", "promise"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/graph.html", "templates/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("ui: parse %s: %w", p, err)
		}
		h.pages[p] = t
	}
	assets, err := fs.Sub(assetFS, "assets")
	if err != nil {
		return nil, fmt.Errorf("ui: %w", err)
	}
	h.mux.Handle("GET /assets/", http.StripPrefix("/assets/", cacheable(http.FileServerFS(assets))))
	h.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/tasks", http.StatusSeeOther)
	})
	h.mux.Handle("GET /login", h.page(h.loginPage))
	h.mux.Handle("GET /tasks", h.page(h.tasksPage))
	h.mux.Handle("GET /tasks/{name}", h.page(h.taskPage))
	h.mux.Handle("GET /jobs", h.page(h.jobsPage))
	h.mux.Handle("GET /jobs/{id}", h.page(h.jobPage))
	h.mux.Handle("GET /workflows", h.page(h.workflowsPage))
	h.mux.Handle("GET /workflows/{name}", h.page(h.workflowPage))
	h.mux.Handle("GET /runs", h.page(h.runsPage))
	h.mux.Handle("GET /runs/{id}", h.page(h.runPage))
	h.mux.Handle("GET /admin", h.page(h.adminPage))
	h.mux.Handle("GET /admin/{section}", h.page(h.adminListPage))
	h.mux.Handle("GET /admin/{section}/{id}", h.page(h.adminObjectPage))
	h.mux.Handle("GET /admin/runners/{name}", h.page(h.adminRunnerPage))
	h.mux.Handle("GET /admin/tasks/{name}", h.page(h.adminTaskPage))
	h.mux.Handle("GET /admin/workflows/{name}", h.page(h.adminWorkflowPage))
	h.mux.Handle("GET /account/tokens", h.page(h.tokensPage))
	h.mux.Handle("GET /promises", h.page(h.promisesPage))
	h.mux.Handle("GET /promises/{name}", h.page(h.promisePage))
	return h, nil
}

// ServeHTTP serves a UI page or asset, or hands the request to the API (which answers unknown paths in JSON).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		h.api.ServeHTTP(w, r)
		return
	}
	if _, pattern := h.mux.Handler(r); pattern == "" {
		h.api.ServeHTTP(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// cacheable lets browsers keep assets for a while; a new binary may change them, so not forever.
func cacheable(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// view is what every page's template gets.
type view struct {
	Title string
	Nav   string // the section the page belongs to: tasks, jobs, workflows, promises, admin, tokens
	User  bool   // signed in (the page came from the API with a session)
	Admin bool   // the API allows the caller at least one admin page
	// Can is the caller's access per resource (GET /api/v1/access): which links the layout offers.
	Can  map[string]api.Access
	Data any
}

// pageFunc renders one page: it answers the template name and its data, or an error.
type pageFunc func(r *http.Request) (name string, v view, err error)

// page adapts a pageFunc: a 401 from the API sends the browser to sign in (and back here afterwards); any other
// API error becomes an error page that says it in words.
func (h *Handler) page(fn pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, v, err := fn(r)
		var ae *apiError
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		case errors.As(err, &ae):
			w.WriteHeader(ae.Status)
			name, v = "error", view{Title: http.StatusText(ae.Status), User: ae.Status != http.StatusUnauthorized, Data: ae}
		case err != nil:
			h.log.Error("ui page", "path", r.URL.Path, "err", err)
			w.WriteHeader(http.StatusInternalServerError)
			name, v = "error", view{Title: "Error", User: true, Data: &apiError{Status: 500, Msg: "the page could not be built; the server log says why"}}
		}
		if v.User {
			if a, err := h.access(r); err == nil {
				v.Can, v.Admin = a.Resources, len(offered(a)) > 0
			}
		}
		h.render(w, name, v)
	})
}

func (h *Handler) render(w http.ResponseWriter, name string, v view) {
	var b bytes.Buffer
	if err := h.pages[name].Execute(&b, v); err != nil {
		h.log.Error("ui render", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	_, _ = w.Write(b.Bytes())
}

var funcs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.MarshalIndent(v, "", "  ")
		return string(b), err
	},
	"ansi":  ansiHTML,
	"deref": func(b *bool) bool { return b != nil && *b },
	"query": func(base string, kv ...string) string {
		q := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				q.Set(kv[i], kv[i+1])
			}
		}
		if len(q) == 0 {
			return base
		}
		return base + "?" + q.Encode()
	},
}

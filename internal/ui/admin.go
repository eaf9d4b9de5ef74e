package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/runplane/runplane/api"
)

// section is one admin page: a resource's list as the API answers it, the columns shown (never a secret), and
// how its objects are created, edited and deleted through the API.
type section struct {
	Key, Title string
	// Resource and Need are the access (GET /api/v1/access) the caller must hold on at least one object for the
	// page to be offered: read for most, write for tasks and workflows, which many read who administer nothing.
	Resource string
	Need     api.Access
	// List is the API list the page shows.
	List string
	// Cols are the JSON fields shown, in order; ID is the one that addresses an object under Obj.
	Cols []string
	ID   string
	Obj  string
	// Create is the API collection a new object is POSTed to, with Example as the JSON create form's starting
	// text; "" when the section has its own editor (Editor: the UI path of it, + "new" or the object's ID).
	Create, Example string
	Editor          string
	// Patch: an object can be edited as JSON on /admin/<key>/<id>, sent back with PATCH.
	Patch bool
}

const read, write = api.AccessRead, api.AccessWrite

var sections = []section{
	{Key: "runners", Title: "Runners", Resource: api.ResourceRunners, Need: read, List: "/api/v1/runners",
		Cols: []string{"name", "image", "gitURL", "branch"}, ID: "name", Obj: "/api/v1/runners/", Editor: "/admin/runners/"},
	{Key: "tasks", Title: "Tasks", Resource: api.ResourceTasks, Need: write, List: "/api/v1/tasks",
		Cols: []string{"name", "runner", "command", "synchronous"}, ID: "name", Obj: "/api/v1/tasks/", Editor: "/admin/tasks/"},
	{Key: "workflows", Title: "Workflows", Resource: api.ResourceWorkflows, Need: write, List: "/api/v1/workflows",
		Cols: []string{"name", "description"}, ID: "name", Obj: "/api/v1/workflows/", Editor: "/admin/workflows/"},
	{Key: "cronjobs", Patch: true, Title: "Cron jobs", Resource: api.ResourceCronJobs, Need: read, List: "/api/v1/cronjobs",
		Cols: []string{"name", "task", "workflow", "schedule", "disable", "owner", "next_run", "last_status"},
		ID:   "name", Obj: "/api/v1/cronjobs/", Create: "/api/v1/cronjobs",
		Example: `{"name": "nightly", "task": "hello", "schedule": "0 3 * * *", "extra_vars": {}}`},
	{Key: "webhooks", Title: "Webhooks", Resource: api.ResourceWebhooks, Need: read, List: "/api/v1/webhooks/all",
		Cols: []string{"id", "owner", "description", "task", "workflow", "scheme"},
		ID:   "id", Obj: "/api/v1/webhooks/", Create: "/api/v1/webhooks",
		Example: `{"description": "deploy on push", "task": "hello", "scheme": "infrahub"}`},
	{Key: "users", Patch: true, Title: "Users", Resource: api.ResourceUsers, Need: read, List: "/api/v1/users",
		Cols: []string{"username", "provider", "id"}, ID: "id", Obj: "/api/v1/users/", Create: "/api/v1/users",
		Example: `{"username": "alice", "provider": "local", "password": ""}`},
	{Key: "groups", Patch: true, Title: "Groups", Resource: api.ResourceGroups, Need: read, List: "/api/v1/groups",
		Cols: []string{"name", "provider", "user_ids", "role_ids", "id"}, ID: "id", Obj: "/api/v1/groups/", Create: "/api/v1/groups",
		Example: `{"name": "operators", "provider": "local", "user_ids": []}`},
	{Key: "roles", Patch: true, Title: "Roles", Resource: api.ResourceRoles, Need: read, List: "/api/v1/roles",
		Cols: []string{"name", "resource", "resource_ids", "access", "id"}, ID: "id", Obj: "/api/v1/roles/", Create: "/api/v1/roles",
		Example: `{"name": "run-hello", "resource": "jobs", "resource_ids": ["hello"], "access": "write"}`},
	{Key: "role_bindings", Patch: true, Title: "Role bindings", Resource: api.ResourceRoleBindings, Need: read, List: "/api/v1/role_bindings",
		Cols: []string{"name", "role_id", "group_id", "id"}, ID: "id", Obj: "/api/v1/role_bindings/", Create: "/api/v1/role_bindings",
		Example: `{"name": "operators-run-hello", "role_id": "", "group_id": ""}`},
	{Key: "audit_logs", Title: "Audit log", Resource: api.ResourceAuditLogs, Need: read, List: "/api/v1/audit_logs"},
}

func sectionByKey(key string) (section, bool) {
	i := slices.IndexFunc(sections, func(s section) bool { return s.Key == key })
	if i < 0 {
		return section{}, false
	}
	return sections[i], true
}

// access asks the API what the caller may do (GET /api/v1/access).
func (h *Handler) access(r *http.Request) (api.CallerAccess, error) {
	var a api.CallerAccess
	_, err := h.get(r, "/api/v1/access", &a)
	return a, err
}

// offers reports whether a grants what section s needs.
func offers(a api.CallerAccess, s section) bool {
	got, ok := a.Resources[s.Resource]
	return ok && (got == s.Need || got == api.AccessWrite)
}

// offered are the sections a offers: the admin index, and the layout's Admin link when there is one.
func offered(a api.CallerAccess) []section {
	var out []section
	for _, s := range sections {
		if offers(a, s) {
			out = append(out, s)
		}
	}
	return out
}

// refusal turns a 403 into false, any other error into itself.
func refusal(_ int, err error) (bool, error) {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusForbidden {
		return false, nil
	}
	return err == nil, err
}

func (h *Handler) adminPage(r *http.Request) (string, view, error) {
	a, err := h.access(r)
	if err != nil {
		return "", view{}, err
	}
	list := offered(a)
	if len(list) == 0 {
		return "", view{}, &apiError{Status: http.StatusForbidden, Msg: "forbidden: your roles allow none of the admin pages"}
	}
	return "admin", view{Title: "Admin", Nav: "admin", User: true, Data: list}, nil
}

// mustSection loads the section of the path's {section}, refusing (as the API would) one the caller may not see.
func (h *Handler) mustSection(r *http.Request, key string) (section, error) {
	s, ok := sectionByKey(key)
	if !ok {
		return section{}, &apiError{Status: http.StatusNotFound, Msg: fmt.Sprintf("there is no admin page %q", key)}
	}
	a, err := h.access(r)
	if err != nil {
		return section{}, err
	}
	if !offers(a, s) {
		return section{}, &apiError{Status: http.StatusForbidden, Msg: "forbidden: your roles do not allow the " + strings.ToLower(s.Title) + " admin page"}
	}
	return s, nil
}

// adminRow is one object of a list: its address and the text of each column.
type adminRow struct {
	ID    string
	Cells []string
}

func (h *Handler) adminListPage(r *http.Request) (string, view, error) {
	s, err := h.mustSection(r, r.PathValue("section"))
	if err != nil {
		return "", view{}, err
	}
	if s.Key == "audit_logs" {
		return h.auditPage(r, s)
	}
	var objs []map[string]any
	if _, err := h.get(r, s.List, &objs); err != nil {
		return "", view{}, err
	}
	rows := make([]adminRow, 0, len(objs))
	for _, o := range objs {
		row := adminRow{ID: cell(o[s.ID])}
		for _, c := range s.Cols {
			row.Cells = append(row.Cells, cell(o[c]))
		}
		rows = append(rows, row)
	}
	return "admin_list", view{Title: s.Title, Nav: "admin", User: true, Data: map[string]any{"S": s, "Rows": rows}}, nil
}

// cell is a JSON value as table text: strings as they are, lists joined, the rest as JSON.
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []any:
		parts := make([]string, 0, len(v))
		for _, x := range v {
			parts = append(parts, cell(x))
		}
		return strings.Join(parts, ", ")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (h *Handler) auditPage(r *http.Request, s section) (string, view, error) {
	in := r.URL.Query()
	q := url.Values{}
	keys := []string{"user", "event_type", "event_category", "event_target", "status", "since", "until"}
	for _, k := range keys {
		if v := strings.TrimSpace(in.Get(k)); v != "" {
			q.Set(k, v)
		}
	}
	q.Set("limit", "100")
	var entries []api.AuditLog
	if _, err := h.get(r, s.List+"?"+q.Encode(), &entries); err != nil {
		return "", view{}, err
	}
	return "admin_audit", view{Title: s.Title, Nav: "admin", User: true, Data: map[string]any{
		"Entries": entries, "Q": q, "Keys": keys,
	}}, nil
}

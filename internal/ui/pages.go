package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/runplane/runplane/api"
)

const jobsPerPage = 25

// safeNext keeps a post-sign-in destination to a path on this server: "/x…", never "//host", `/\host` or
// "http://…", and without control characters or spaces (browsers drop tabs and newlines from URLs, so "/\t/host"
// would become "//host"). Anything else is the catalog.
func safeNext(next string) string {
	const home = "/tasks"
	if len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return home
	}
	for _, c := range next {
		if c <= ' ' || c == 0x7f || c == '\\' {
			return home
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return home
	}
	return next
}

func (h *Handler) loginPage(r *http.Request) (string, view, error) {
	return "login", view{Title: "Sign in", Data: safeNext(r.URL.Query().Get("next"))}, nil
}

// runnerGroup is the catalog's tasks of one runner.
type runnerGroup struct {
	Runner string
	Tasks  []api.Task
}

func (h *Handler) tasksPage(r *http.Request) (string, view, error) {
	var tasks []api.Task
	if _, err := h.get(r, "/api/v1/tasks?runnable=true", &tasks); err != nil {
		return "", view{}, err
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	var groups []runnerGroup
	for _, t := range tasks {
		if q != "" && !strings.Contains(strings.ToLower(t.Name+" "+t.Runner), strings.ToLower(q)) {
			continue
		}
		i := slices.IndexFunc(groups, func(g runnerGroup) bool { return g.Runner == t.Runner })
		if i < 0 {
			groups = append(groups, runnerGroup{Runner: t.Runner})
			i = len(groups) - 1
		}
		groups[i].Tasks = append(groups[i].Tasks, t)
	}
	slices.SortFunc(groups, func(a, b runnerGroup) int { return strings.Compare(a.Runner, b.Runner) })
	return "tasks", view{Title: "Tasks", Nav: "tasks", User: true, Data: map[string]any{"Q": q, "Groups": groups}}, nil
}

func (h *Handler) taskPage(r *http.Request) (string, view, error) {
	name := r.PathValue("name")
	var t api.Task
	if _, err := h.get(r, "/api/v1/tasks/"+url.PathEscape(name), &t); err != nil {
		return "", view{}, err
	}
	canRun, err := h.mayRun(r, name)
	if err != nil {
		return "", view{}, err
	}
	schema := "{}"
	if len(t.Schema) > 0 {
		schema = string(t.Schema)
	}
	return "task", view{Title: t.Name, Nav: "tasks", User: true, Data: map[string]any{
		"Task": t, "Schema": schema, "CanRun": canRun,
	}}, nil
}

// mayRun asks the API whether the caller may run task (it lists it among the runnable ones).
func (h *Handler) mayRun(r *http.Request, task string) (bool, error) {
	var tasks []api.Task
	if _, err := h.get(r, "/api/v1/tasks?runnable=true", &tasks); err != nil {
		return false, err
	}
	return slices.ContainsFunc(tasks, func(t api.Task) bool { return t.Name == task }), nil
}

func (h *Handler) jobsPage(r *http.Request) (string, view, error) {
	in := r.URL.Query()
	page, _ := strconv.Atoi(in.Get("page"))
	page = max(page, 1)
	q := url.Values{}
	for _, k := range []string{"task", "status", "owner", "since", "until"} {
		if v := strings.TrimSpace(in.Get(k)); v != "" {
			q.Set(k, v)
		}
	}
	q.Set("limit", strconv.Itoa(jobsPerPage))
	q.Set("offset", strconv.Itoa((page-1)*jobsPerPage))
	var jobs []api.Job
	total, err := h.get(r, "/api/v1/jobs?"+q.Encode(), &jobs)
	if err != nil {
		return "", view{}, err
	}
	pages := 1
	if total > 0 {
		pages = (total + jobsPerPage - 1) / jobsPerPage
	}
	return "jobs", view{Title: "Jobs", Nav: "jobs", User: true, Data: map[string]any{
		"Jobs": jobs, "Task": q.Get("task"), "Status": q.Get("status"), "Owner": q.Get("owner"),
		"Since": q.Get("since"), "Until": q.Get("until"),
		"Page": page, "Pages": pages, "Total": total, "Prev": page - 1, "Next": page + 1,
		"Statuses": []api.JobStatus{api.JobQueued, api.JobRunning, api.JobSucceeded, api.JobFailed, api.JobCancelled},
	}}, nil
}

func (h *Handler) jobPage(r *http.Request) (string, view, error) {
	id := r.PathValue("id")
	var j api.Job
	if _, err := h.get(r, "/api/v1/jobs/"+url.PathEscape(id), &j); err != nil {
		return "", view{}, err
	}
	canRun, err := h.mayRun(r, j.Task)
	if err != nil {
		return "", view{}, err
	}
	var input, result any
	if len(j.Input) > 0 {
		_ = json.Unmarshal(j.Input, &input)
	}
	if len(j.JSONData) > 0 {
		_ = json.Unmarshal(j.JSONData, &result)
	}
	return "job", view{Title: j.ID, Nav: "jobs", User: true, Data: map[string]any{
		"Job": j, "Live": !j.Status.Final(), "CanRun": canRun, "Input": input, "Result": result,
		"ResultTable": flatTable(result),
	}}, nil
}

// flatTable is an object result whose values are all scalars, as rows for a table; nil otherwise (the page then
// shows the JSON).
func flatTable(v any) [][2]string {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	rows := make([][2]string, 0, len(m))
	for k, x := range m {
		switch x := x.(type) {
		case map[string]any, []any:
			return nil
		case string:
			rows = append(rows, [2]string{k, x})
		default:
			b, _ := json.Marshal(x)
			rows = append(rows, [2]string{k, string(b)})
		}
	}
	slices.SortFunc(rows, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return rows
}

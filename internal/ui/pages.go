package ui

import (
	"encoding/json"
	"maps"
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
	var jobs []api.Job
	q, data, err := h.list(r, "/api/v1/jobs", []string{"task", "status", "owner", "since", "until"}, jobsPerPage, &jobs)
	if err != nil {
		return "", view{}, err
	}
	return "jobs", view{Title: "Jobs", Nav: "jobs", User: true, Data: data.with(map[string]any{
		"Jobs": jobs, "Task": q.Get("task"), "Status": q.Get("status"), "Owner": q.Get("owner"),
		"Since": q.Get("since"), "Until": q.Get("until"),
		"Statuses": []api.JobStatus{api.JobQueued, api.JobRunning, api.JobSucceeded, api.JobFailed, api.JobCancelled},
	})}, nil
}

// pageData is what a paged list's template shows of its paging.
type pageData map[string]any

// with adds the page's own data to d.
func (d pageData) with(m map[string]any) map[string]any {
	maps.Copy(d, m)
	return d
}

// list reads one page (?page=, from 1) of the API's list at path into out, filtered by the request's query
// parameters named in filters (trimmed; empty ones dropped), per items a page. q is the filters as given.
func (h *Handler) list(r *http.Request, path string, filters []string, per int, out any) (q url.Values, d pageData, err error) {
	in := r.URL.Query()
	page, _ := strconv.Atoi(in.Get("page"))
	page = max(page, 1)
	q = url.Values{}
	for _, k := range filters {
		if v := strings.TrimSpace(in.Get(k)); v != "" {
			q.Set(k, v)
		}
	}
	query := url.Values{"limit": {strconv.Itoa(per)}, "offset": {strconv.Itoa((page - 1) * per)}}
	maps.Copy(query, q)
	total, err := h.get(r, path+"?"+query.Encode(), out)
	if err != nil {
		return q, nil, err
	}
	pages := 1
	if total > 0 {
		pages = (total + per - 1) / per
	}
	return q, pageData{"Page": page, "Pages": pages, "Total": total, "Prev": page - 1, "Next": page + 1}, nil
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

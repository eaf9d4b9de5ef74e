package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"

	"github.com/runplane/runplane/api"
)

func (h *Handler) workflowsPage(r *http.Request) (string, view, error) {
	var all, runnable []api.Workflow
	if _, err := h.get(r, "/api/v1/workflows", &all); err != nil {
		return "", view{}, err
	}
	if _, err := h.get(r, "/api/v1/workflows?runnable=true", &runnable); err != nil {
		return "", view{}, err
	}
	type row struct {
		api.Workflow
		CanRun bool
	}
	rows := make([]row, 0, len(all))
	for _, w := range all {
		rows = append(rows, row{w, slices.ContainsFunc(runnable, func(x api.Workflow) bool { return x.Name == w.Name })})
	}
	return "workflows", view{Title: "Workflows", Nav: "workflows", User: true, Data: rows}, nil
}

func (h *Handler) workflowPage(r *http.Request) (string, view, error) {
	name := r.PathValue("name")
	var w api.Workflow
	if _, err := h.get(r, "/api/v1/workflows/"+url.PathEscape(name), &w); err != nil {
		return "", view{}, err
	}
	var g api.WorkflowGraph
	if _, err := h.get(r, "/api/v1/workflows/"+url.PathEscape(name)+"/graph", &g); err != nil {
		return "", view{}, err
	}
	canRun, err := h.mayStart(r, name)
	if err != nil {
		return "", view{}, err
	}
	var runs []api.Run
	canRead, err := refusal(h.get(r, "/api/v1/runs?limit=10&workflow="+url.QueryEscape(name), &runs))
	if err != nil {
		return "", view{}, err
	}
	schema := "{}"
	if len(w.Parameters) > 0 {
		schema = string(w.Parameters)
	}
	return "workflow", view{Title: w.Name, Nav: "workflows", User: true, Data: map[string]any{
		"Workflow": w, "Schema": schema, "CanRun": canRun, "Graph": layout(g, nil), "Runs": runs, "CanReadRuns": canRead,
	}}, nil
}

// mayStart asks the API whether the caller may start runs of workflow (it lists it among the runnable ones).
func (h *Handler) mayStart(r *http.Request, workflow string) (bool, error) {
	var list []api.Workflow
	if ok, err := refusal(h.get(r, "/api/v1/workflows?runnable=true", &list)); !ok {
		return false, err // a reader of runs who may not list workflows starts none from here
	}
	return slices.ContainsFunc(list, func(w api.Workflow) bool { return w.Name == workflow }), nil
}

func (h *Handler) runPage(r *http.Request) (string, view, error) {
	id := r.PathValue("id")
	var run api.Run
	if _, err := h.get(r, "/api/v1/runs/"+url.PathEscape(id), &run); err != nil {
		return "", view{}, err
	}
	var g api.WorkflowGraph
	if _, err := h.get(r, "/api/v1/runs/"+url.PathEscape(id)+"/graph", &g); err != nil {
		return "", view{}, err
	}
	canRun, err := h.mayStart(r, run.Workflow)
	if err != nil {
		return "", view{}, err
	}
	var params any
	if len(run.Parameters) > 0 {
		_ = json.Unmarshal(run.Parameters, &params)
	}
	return "run", view{Title: "Run " + run.ID, Nav: "workflows", User: true, Data: map[string]any{
		"Run": run, "Live": !run.Status.Final(), "CanRun": canRun, "Params": params, "Graph": layout(g, run.Steps),
	}}, nil
}

const runsPerPage = 25

func (h *Handler) runsPage(r *http.Request) (string, view, error) {
	var runs []api.Run
	q, data, err := h.list(r, "/api/v1/runs", []string{"workflow", "status", "owner"}, runsPerPage, &runs)
	if err != nil {
		return "", view{}, err
	}
	return "runs", view{Title: "Runs", Nav: "workflows", User: true, Data: data.with(map[string]any{
		"Runs": runs, "Workflow": q.Get("workflow"), "Status": q.Get("status"), "Owner": q.Get("owner"),
		"Statuses": []api.RunStatus{api.RunQueued, api.RunRunning, api.RunSucceeded, api.RunFailed, api.RunCancelled},
	})}, nil
}

package httpapi

import (
	"net/http"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/workflow"
)

// The graph of a workflow, or of the definition a run started with: each step and the steps it needs, explicit
// (dependsOn) and implicit (the steps its expressions read), as the run advancer orders them. A client draws the
// DAG from it without parsing expressions itself.

func (h *Handler) workflowGraph(w http.ResponseWriter, r *http.Request) error {
	wf, err := h.workflow(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeGraph(w, wf)
}

func (h *Handler) runGraph(w http.ResponseWriter, r *http.Request) error {
	run, err := h.run(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeGraph(w, run.Definition)
}

func writeGraph(w http.ResponseWriter, wf api.Workflow) error {
	plan, err := workflow.Compile(wf)
	if err != nil {
		return err
	}
	g := api.WorkflowGraph{Workflow: wf.Name, Steps: make([]api.GraphStep, 0, len(wf.Steps))}
	for _, s := range wf.Steps {
		needs := plan.Dependencies(s.Name)
		if needs == nil {
			needs = []string{}
		}
		g.Steps = append(g.Steps, api.GraphStep{Name: s.Name, Description: s.Description, Task: s.Task, Needs: needs})
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

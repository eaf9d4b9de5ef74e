package httpapi

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/workflow"
)

// Workflows are addressed by name. A body is JSON (api.Workflow), or YAML (Content-Type application/yaml): a
// `kind: Workflow` manifest or Relay's workflow file unchanged, its name from metadata.name or ?name=.
// Saving validates everything up front (workflow.Validate: steps, dependencies, cycles, expressions, the tasks
// and runners named) and checks that the caller may hand what the workflow runs to whoever may start it.

func (h *Handler) listWorkflows(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r, 0, 0)
	if err != nil {
		return err
	}
	all, err := h.st.ListWorkflows(r.Context())
	if err != nil {
		return err
	}
	all = keep(all, readable(r.Context(), api.ResourceWorkflows), func(w api.Workflow) string { return w.Name })
	// ?runnable=true keeps the workflows the caller may also start (write access to their runs): the web UI's list.
	runnable, err := queryBool(r, "runnable")
	if err != nil {
		return err
	}
	if runnable {
		all = keep(all, func(names ...string) bool { return may(r.Context(), api.AccessWrite, api.ResourceRuns, names...) },
			func(w api.Workflow) string { return w.Name })
	}
	s := page.slice(len(all))
	writeList(w, "workflows", all[s.from:s.to], s, len(all))
	return nil
}

func (h *Handler) getWorkflow(w http.ResponseWriter, r *http.Request) error {
	wf, err := h.workflow(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wf)
	return nil
}

func (h *Handler) createWorkflow(w http.ResponseWriter, r *http.Request) error {
	in, err := readWorkflow(r, "")
	if err != nil {
		return err
	}
	setTarget(w, in.Name)
	if err := mustMay(r.Context(), api.AccessWrite, api.ResourceWorkflows, in.Name); err != nil {
		return err
	}
	if err := h.checkWorkflow(r.Context(), in, nil); err != nil {
		return err
	}
	if _, err := h.st.GetWorkflow(r.Context(), in.Name); err == nil {
		return withMsg(store.ErrConflict, "workflow %q already exists", in.Name)
	}
	secrets, err := h.syncTriggers(r.Context(), &in, nil)
	if err != nil {
		return err
	}
	if err := h.st.CreateWorkflow(r.Context(), in); err != nil {
		_ = h.dropTriggers(context.WithoutCancel(r.Context()), in, nil)
		if errors.Is(err, store.ErrConflict) {
			return withMsg(err, "workflow %q already exists", in.Name)
		}
		return err
	}
	return h.answerWorkflow(w, r, in.Name, secrets)
}

// replaceWorkflow (PUT) replaces the definition. Runs already started keep the one they started with.
func (h *Handler) replaceWorkflow(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	in, err := readWorkflow(r, name)
	if err != nil {
		return err
	}
	if err := matchName(&in.Name, name, "workflow"); err != nil {
		return err
	}
	stored, err := h.workflow(r.Context(), name)
	if err != nil {
		return err
	}
	if err := h.checkWorkflow(r.Context(), in, &stored); err != nil {
		return err
	}
	secrets, err := h.syncTriggers(r.Context(), &in, &stored)
	if err != nil {
		return err
	}
	if err := h.st.UpdateWorkflow(r.Context(), in); err != nil {
		return err
	}
	if err := h.dropTriggers(r.Context(), stored, &in); err != nil {
		return err
	}
	return h.answerWorkflow(w, r, name, secrets)
}

func (h *Handler) deleteWorkflow(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	stored, err := h.st.GetWorkflow(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("workflow %q not found", name)
	}
	if err != nil {
		return err
	}
	if err := h.st.DeleteWorkflow(r.Context(), name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("workflow %q not found", name)
		}
		return err
	}
	if err := h.dropTriggers(r.Context(), stored, nil); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, msg{Msg: "workflow deleted successfully"})
	return nil
}

// readWorkflow decodes a workflow body: JSON, or YAML in any form workflow.Parse reads. name, when the body names
// none (a Relay file), comes from the URL or ?name=.
func readWorkflow(r *http.Request, name string) (api.Workflow, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var in api.Workflow
	switch ct {
	case "application/yaml", "application/x-yaml", "text/yaml":
		// Not readInput: that one wants JSON.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			if isBodyError(err) {
				return api.Workflow{}, err
			}
			return api.Workflow{}, api.Invalidf("read request body: %v", err)
		}
		if in, err = workflow.Parse(body); err != nil {
			return api.Workflow{}, err
		}
	default:
		if err := decodeJSON(r.Body, &in); err != nil {
			return api.Workflow{}, err
		}
	}
	if in.Name == "" {
		in.Name = r.URL.Query().Get("name")
	}
	if in.Name == "" {
		in.Name = name
	}
	if err := api.ValidateName(in.Name); err != nil {
		return api.Workflow{}, err
	}
	return in, nil
}

// checkWorkflow validates w and refuses a workflow through which its author would widen anyone's rights: whoever
// may start its runs runs its task steps (so the author needs write on those tasks' jobs) and its inline steps
// with their runners' checkouts and secrets (so the author needs read on those runners), as for a task and its
// runner. What the stored definition prev already named needs nothing new.
func (h *Handler) checkWorkflow(ctx context.Context, w api.Workflow, prev *api.Workflow) error {
	refs, err := h.refsOf(ctx, w)
	if err != nil {
		return err
	}
	if err := workflow.Validate(w, refs); err != nil {
		return err
	}
	if err := h.checkTriggers(ctx, w); err != nil {
		return err
	}
	had := map[string]bool{}
	if prev != nil {
		for _, s := range prev.Steps {
			had["task/"+s.Task] = s.Task != ""
			had["runner/"+s.Runner] = s.Runner != ""
		}
	}
	for i, s := range w.Steps {
		if err := s.Kubernetes.CheckNoToken("steps[" + strconv.Itoa(i) + "].kubernetes"); err != nil {
			return err
		}
		if s.Task != "" && !had["task/"+s.Task] && !may(ctx, api.AccessWrite, api.ResourceJobs, s.Task) {
			return withMsg(ErrForbidden, "forbidden: steps[%d] %q runs task %q: write access to its jobs required", i, s.Name, s.Task)
		}
		if s.Runner != "" && !had["runner/"+s.Runner] && !may(ctx, api.AccessRead, api.ResourceRunners, s.Runner) {
			return withMsg(ErrForbidden, "forbidden: steps[%d] %q uses runner %q: read access to it required", i, s.Name, s.Runner)
		}
		for _, c := range s.Containers {
			if err := h.checkImage(c.Image); err != nil {
				return errors.Join(api.Invalidf("steps[%d] %q: container %q: %v", i, s.Name, c.Name, err), err)
			}
		}
		if err := h.checkImage(s.Image); err != nil {
			return errors.Join(api.Invalidf("steps[%d] %q.image: %v", i, s.Name, err), err)
		}
	}
	return nil
}

// knownRefs are which of the tasks and runners a workflow names exist, looked up before workflow.Validate asks.
type knownRefs struct{ tasks, runners map[string]bool }

func (k knownRefs) TaskExists(name string) (bool, error)   { return k.tasks[name], nil }
func (k knownRefs) RunnerExists(name string) (bool, error) { return k.runners[name], nil }

// refsOf looks up the tasks and runners w's steps name.
func (h *Handler) refsOf(ctx context.Context, w api.Workflow) (knownRefs, error) {
	k := knownRefs{tasks: map[string]bool{}, runners: map[string]bool{}}
	for _, s := range w.Steps {
		if _, seen := k.tasks[s.Task]; s.Task != "" && !seen {
			_, err := h.st.GetTask(ctx, s.Task)
			if k.tasks[s.Task], err = exists(err); err != nil {
				return k, err
			}
		}
		if _, seen := k.runners[s.Runner]; s.Runner != "" && !seen {
			_, err := h.st.GetRunner(ctx, s.Runner)
			if k.runners[s.Runner], err = exists(err); err != nil {
				return k, err
			}
		}
	}
	return k, nil
}

func exists(err error) (bool, error) {
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// workflow loads a workflow, naming it in a 404.
func (h *Handler) workflow(ctx context.Context, name string) (api.Workflow, error) {
	wf, err := h.st.GetWorkflow(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return api.Workflow{}, withMsg(err, "workflow %q not found", name)
	}
	return wf, err
}

func (h *Handler) answerWorkflow(w http.ResponseWriter, r *http.Request, name string, secrets map[string]api.TriggerSecret) error {
	wf, err := h.workflow(r.Context(), name)
	if err != nil {
		return err
	}
	if dryRunFrom(r.Context()) != nil {
		secrets = nil // nothing was stored: no webhook has that secret
	}
	writeJSON(w, http.StatusOK, api.WorkflowSaved{Workflow: wf, TriggerSecrets: secrets})
	return nil
}

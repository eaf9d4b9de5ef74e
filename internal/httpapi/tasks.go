package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/schema"
	"github.com/runplane/runplane/internal/store"
)

// Tasks are addressed by name. A task's runner must exist and its schema must compile (400 otherwise).

func (h *Handler) listTasks(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r, 0, 0)
	if err != nil {
		return err
	}
	all, err := h.st.ListTasks(r.Context())
	if err != nil {
		return err
	}
	all = keep(all, readable(r.Context(), api.ResourceTasks), func(t api.Task) string { return t.Name })
	// ?runnable=true keeps the tasks the caller may also run (write access to their jobs): the web UI's catalog.
	runnable, err := queryBool(r, "runnable")
	if err != nil {
		return err
	}
	if runnable {
		all = keep(all, func(names ...string) bool { return may(r.Context(), api.AccessWrite, api.ResourceJobs, names...) },
			func(t api.Task) string { return t.Name })
	}
	s := page.slice(len(all))
	writeList(w, "tasks", all[s.from:s.to], s, len(all))
	return nil
}

func (h *Handler) getTask(w http.ResponseWriter, r *http.Request) error {
	t, err := h.task(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (h *Handler) createTask(w http.ResponseWriter, r *http.Request) error {
	var in api.Task
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	setTarget(w, in.Name)
	in.Schema = normalizeSchema(in.Schema)
	if err := h.checkTask(r.Context(), in, ""); err != nil {
		return err
	}
	if err := mustMay(r.Context(), api.AccessWrite, api.ResourceTasks, in.Name); err != nil {
		return err
	}
	if err := h.st.CreateTask(r.Context(), in); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return withMsg(err, "task %q already exists", in.Name)
		}
		return err
	}
	return h.answerTask(w, r, in.Name)
}

// replaceTask (PUT) replaces every field of the task.
func (h *Handler) replaceTask(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	var in api.Task
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	if err := matchName(&in.Name, name, "task"); err != nil {
		return err
	}
	if _, err := h.task(r.Context(), name); err != nil {
		return err
	}
	in.Schema = normalizeSchema(in.Schema)
	return h.updateTask(w, r, in)
}

// patchTask (PATCH) changes only the fields present. Each replaces the stored value whole, kubernetes and resources
// too: their settings sent replace the stored ones (null or {} removes them), as a schema does, rather than merging
// into them key by key, which would leave no way to remove a node selector label, a toleration or a limit.
func (h *Handler) patchTask(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	cur, err := h.task(r.Context(), name)
	if err != nil {
		return err
	}
	body, err := readInput(r.Body)
	if err != nil {
		return err
	}
	storedKube, storedResources := cur.Kubernetes, cur.Resources
	cur.Kubernetes, cur.Resources = nil, nil
	if err := decodeJSON(bytes.NewReader(body), &cur); err != nil {
		return err
	}
	if !hasField(body, "kubernetes") {
		cur.Kubernetes = storedKube
	}
	if !hasField(body, "resources") {
		cur.Resources = storedResources
	}
	if cur.Name != name {
		return api.Invalidf("name %q in the body does not match task %q in the URL", cur.Name, name)
	}
	cur.Schema = normalizeSchema(cur.Schema)
	return h.updateTask(w, r, cur)
}

func (h *Handler) updateTask(w http.ResponseWriter, r *http.Request, t api.Task) error {
	stored, err := h.task(r.Context(), t.Name)
	if err != nil {
		return err
	}
	if err := h.checkTask(r.Context(), t, stored.Runner); err != nil {
		return err
	}
	if err := h.st.UpdateTask(r.Context(), t); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return withMsg(err, "task %q not found", t.Name)
		}
		return err
	}
	return h.answerTask(w, r, t.Name)
}

func (h *Handler) deleteTask(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	if err := h.st.DeleteTask(r.Context(), name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return withMsg(err, "task %q not found", name)
		}
		return err
	}
	writeJSON(w, http.StatusOK, msg{Msg: "task deleted successfully"})
	return nil
}

// getSchema answers the task's input schema; {} (accept anything) when it has none.
func (h *Handler) getSchema(w http.ResponseWriter, r *http.Request) error {
	t, err := h.task(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if len(t.Schema) == 0 {
		writeJSON(w, http.StatusOK, map[string]any{})
		return nil
	}
	writeJSON(w, http.StatusOK, t.Schema)
	return nil
}

// setSchema (POST or PUT) replaces the task's schema with the body, which must be a valid schema.
func (h *Handler) setSchema(w http.ResponseWriter, r *http.Request) error {
	t, err := h.task(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := decodeJSON(r.Body, &raw); err != nil {
		return err
	}
	t.Schema = normalizeSchema(raw)
	if _, err := schema.Compile(t.Schema); err != nil {
		return err
	}
	if err := h.st.UpdateTask(r.Context(), t); err != nil {
		return err
	}
	return h.getSchema(w, r)
}

func (h *Handler) deleteSchema(w http.ResponseWriter, r *http.Request) error {
	t, err := h.task(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	t.Schema = nil
	if err := h.st.UpdateTask(r.Context(), t); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, msg{Msg: "schema deleted successfully"})
	return nil
}

// checkTask validates t, checks that its runner (optional for a task with containers) exists, that the caller
// may read it when it is not the task's runner already (a task runs with its runner's token and secrets, so
// pointing one at a runner needs access to that runner), that its containers' images are allowed and that its
// schema compiles.
func (h *Handler) checkTask(ctx context.Context, t api.Task, prevRunner string) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if err := t.Kubernetes.CheckNoToken("kubernetes"); err != nil {
		return err
	}
	for i, c := range t.Containers {
		if err := h.checkImage(c.Image); err != nil {
			return errors.Join(api.Invalidf("containers[%d] %q: %v", i, c.Name, err), err)
		}
	}
	if t.Runner != "" {
		if t.Runner != prevRunner {
			if err := mustMay(ctx, api.AccessRead, api.ResourceRunners, t.Runner); err != nil {
				return err
			}
		}
		if _, err := h.st.GetRunner(ctx, t.Runner); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return api.Invalidf("runner %q does not exist", t.Runner)
			}
			return err
		}
	}
	if _, err := schema.Compile(t.Schema); err != nil {
		return err
	}
	return nil
}

// task loads a task, naming it in a 404.
func (h *Handler) task(ctx context.Context, name string) (api.Task, error) {
	t, err := h.st.GetTask(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return api.Task{}, withMsg(err, "task %q not found", name)
	}
	return t, err
}

func (h *Handler) answerTask(w http.ResponseWriter, r *http.Request, name string) error {
	t, err := h.task(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// hasField reports whether the JSON object body has the field name, matched as encoding/json matches struct
// fields: case-insensitively.
func hasField(body []byte, name string) bool {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return false
	}
	for k := range fields {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// normalizeSchema stores "no schema" one way: absent, not "null" or blank.
func normalizeSchema(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

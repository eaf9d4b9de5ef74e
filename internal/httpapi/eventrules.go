package httpapi

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/trigger/events"
)

// Event rule sets are addressed by name. A body is a Keptn job-executor config (apiVersion v2, actions) with name
// (or ?name=), multiple and runner: JSON, or YAML (Content-Type application/yaml), parsed strictly (unknown keys
// are 400). The rules' runs run as whoever created or last replaced the set, its owner, who must be able to start
// them: write on event_rules of the name lets one save it, and saving also needs write on runs of the same name
// (what the owner needs when an event fires the rules: no one gets through rules what they could not start by
// hand), read on its runner, images the allowlist allows and, unless the server allows them, no privileged task.

func (h *Handler) listEventRules(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r, 0, 0)
	if err != nil {
		return err
	}
	all, err := h.st.ListEventRules(r.Context())
	if err != nil {
		return err
	}
	all = keep(all, readable(r.Context(), api.ResourceEventRules), func(x store.EventRuleSet) string { return x.Name })
	out := make([]api.EventRules, 0, len(all))
	for _, x := range all {
		out = append(out, x.EventRules)
	}
	s := page.slice(len(out))
	writeList(w, "event_rules", out[s.from:s.to], s, len(out))
	return nil
}

func (h *Handler) getEventRules(w http.ResponseWriter, r *http.Request) error {
	x, err := h.eventRules(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, x.EventRules)
	return nil
}

func (h *Handler) createEventRules(w http.ResponseWriter, r *http.Request) error {
	in, err := readEventRules(r, "")
	if err != nil {
		return err
	}
	setTarget(w, in.Name)
	if err := mustMay(r.Context(), api.AccessWrite, api.ResourceEventRules, in.Name); err != nil {
		return err
	}
	set, err := h.checkEventRules(r.Context(), in)
	if err != nil {
		return err
	}
	stored, err := h.st.CreateEventRules(r.Context(), set)
	if errors.Is(err, store.ErrConflict) {
		return withMsg(err, "event rules %q already exist", in.Name)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stored.EventRules)
	return nil
}

// replaceEventRules (PUT) replaces the rule set; its caller becomes its owner.
func (h *Handler) replaceEventRules(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	in, err := readEventRules(r, name)
	if err != nil {
		return err
	}
	if err := matchName(&in.Name, name, "event rules"); err != nil {
		return err
	}
	cur, err := h.eventRules(r.Context(), name)
	if err != nil {
		return err
	}
	if err := ruleSetOfWorkflow(cur); err != nil {
		return err
	}
	set, err := h.checkEventRules(r.Context(), in)
	if err != nil {
		return err
	}
	stored, err := h.st.UpdateEventRules(r.Context(), set)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stored.EventRules)
	return nil
}

func (h *Handler) deleteEventRules(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	if cur, err := h.st.GetEventRules(r.Context(), name); err == nil {
		if err := ruleSetOfWorkflow(cur); err != nil {
			return err
		}
	}
	if err := h.st.DeleteEventRules(r.Context(), name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("event rules %q not found", name)
		}
		return err
	}
	writeJSON(w, http.StatusOK, msg{Msg: "event rules deleted successfully"})
	return nil
}

// readEventRules decodes a rule set body; name, when the body names none (a Keptn file as it is), comes from
// ?name= or the URL.
func readEventRules(r *http.Request, name string) (api.EventRules, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, events.MaxConfigBytes+1))
	if err != nil {
		if isBodyError(err) {
			return api.EventRules{}, err
		}
		return api.EventRules{}, api.Invalidf("read request body: %v", err)
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isYAML := ct == "application/yaml" || ct == "application/x-yaml" || ct == "text/yaml"
	in, err := events.ParseRules(body, !isYAML)
	if err != nil {
		return api.EventRules{}, err
	}
	if in.Name == "" {
		in.Name = r.URL.Query().Get("name")
	}
	if in.Name == "" {
		in.Name = name
	}
	if err := api.ValidateName(in.Name); err != nil {
		return api.EventRules{}, err
	}
	if in.Workflow != "" {
		return api.EventRules{}, api.Invalidf("workflow: set by the server on a workflow's event trigger: give the workflow the trigger")
	}
	return in, nil
}

// checkEventRules refuses rules through which the caller would start more than they may (see above) and returns
// the set to store, owned by the caller.
func (h *Handler) checkEventRules(ctx context.Context, in api.EventRules) (store.EventRuleSet, error) {
	if !may(ctx, api.AccessWrite, api.ResourceRuns, in.Name) {
		return store.EventRuleSet{}, withMsg(ErrForbidden,
			"forbidden: event rules %q start runs of %q as you: write access to those runs required", in.Name, in.Name)
	}
	if in.Runner != "" {
		if _, err := h.st.GetRunner(ctx, in.Runner); errors.Is(err, store.ErrNotFound) {
			return store.EventRuleSet{}, api.Invalidf("runner %q not found", in.Runner)
		} else if err != nil {
			return store.EventRuleSet{}, err
		}
		if !may(ctx, api.AccessRead, api.ResourceRunners, in.Runner) {
			return store.EventRuleSet{}, withMsg(ErrForbidden, "forbidden: the rules use runner %q: read access to it required", in.Runner)
		}
	}
	for i, a := range in.Actions {
		for j, t := range a.Tasks {
			if err := h.checkImage(t.Image); err != nil {
				return store.EventRuleSet{}, errors.Join(api.Invalidf("actions[%d].tasks[%d].image: %v", i, j, err), err)
			}
			for k, e := range t.Env {
				if e.ValueFrom == api.EnvFromSecret && in.Runner == "" {
					return store.EventRuleSet{}, api.Invalidf(
						"actions[%d].tasks[%d].env[%d]: valueFrom secret reads the runner's secret %q: name the rule set's runner", i, j, k, e.Name)
				}
			}
		}
	}
	if at, ok := events.Privileged(in); ok && !h.evin.privileged {
		return store.EventRuleSet{}, api.Invalidf("%s.securityContext.privileged: privileged tasks are not allowed on this server", at)
	}
	p, _ := auth.PrincipalFrom(ctx)
	in.Owner = p.Username
	return store.EventRuleSet{EventRules: in, OwnerID: p.UserID}, nil
}

// eventRules loads a rule set, naming it in a 404.
func (h *Handler) eventRules(ctx context.Context, name string) (store.EventRuleSet, error) {
	x, err := h.st.GetEventRules(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.EventRuleSet{}, withMsg(err, "event rules %q not found", name)
	}
	return x, err
}

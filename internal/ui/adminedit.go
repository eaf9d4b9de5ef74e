package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"

	"github.com/runplane/runplane/api"
)

// The admin editors of runners, tasks and workflows. "new" names the form for a new object. What they show comes
// from the API's GET, which never answers a runner's token or secret values (only that they are set): the forms
// send the API's mask back for what the user left alone.

func (h *Handler) adminRunnerPage(r *http.Request) (string, view, error) {
	s, err := h.mustSection(r, "runners")
	if err != nil {
		return "", view{}, err
	}
	name := r.PathValue("name")
	var rn api.Runner
	if name != "new" {
		if _, err := h.get(r, s.Obj+url.PathEscape(name), &rn); err != nil {
			return "", view{}, err
		}
	}
	keys := make([]string, 0, len(rn.Secret))
	for k := range rn.Secret {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return "admin_runner", view{Title: "Runner " + name, Nav: "admin", User: true, Data: map[string]any{
		"New": name == "new", "Runner": rn, "HasToken": rn.Token != "", "SecretKeys": keys, "Mask": api.Mask,
	}}, nil
}

func (h *Handler) adminTaskPage(r *http.Request) (string, view, error) {
	s, err := h.mustSection(r, "tasks")
	if err != nil {
		return "", view{}, err
	}
	name := r.PathValue("name")
	t := api.Task{Schema: json.RawMessage(`{"type":"object","properties":{}}`)}
	if name != "new" {
		if _, err := h.get(r, s.Obj+url.PathEscape(name), &t); err != nil {
			return "", view{}, err
		}
	}
	var runners []api.Runner
	if _, err := h.get(r, "/api/v1/runners", &runners); err != nil {
		if ok, _ := refusal(0, err); !ok { // a task author who may not read runners types the name
			runners = nil
		}
	}
	schema := "{}"
	if len(t.Schema) > 0 {
		var v any
		if json.Unmarshal(t.Schema, &v) == nil {
			b, _ := json.MarshalIndent(v, "", "  ")
			schema = string(b)
		}
	}
	return "admin_task", view{Title: "Task " + name, Nav: "admin", User: true, Data: map[string]any{
		"New": name == "new", "Task": t, "Schema": schema, "Runners": runners,
	}}, nil
}

func (h *Handler) adminWorkflowPage(r *http.Request) (string, view, error) {
	s, err := h.mustSection(r, "workflows")
	if err != nil {
		return "", view{}, err
	}
	name := r.PathValue("name")
	text := "name: example\nsteps:\n  - name: hello\n    task: hello\n"
	if name != "new" {
		var w api.Workflow
		if _, err := h.get(r, s.Obj+url.PathEscape(name), &w); err != nil {
			return "", view{}, err
		}
		// JSON is YAML: the stored definition, as the API answers it, is the editor's text.
		b, err := json.MarshalIndent(w, "", "  ")
		if err != nil {
			return "", view{}, err
		}
		text = string(b)
	}
	return "admin_workflow", view{Title: "Workflow " + name, Nav: "admin", User: true, Data: map[string]any{
		"New": name == "new", "Name": name, "Text": text,
	}}, nil
}

// tokensPage is the caller's own API tokens: anyone signed in may hold some, so it is not an admin page.
func (h *Handler) tokensPage(r *http.Request) (string, view, error) {
	var tokens []api.APIToken
	if _, err := h.get(r, "/api/v1/api_tokens", &tokens); err != nil {
		return "", view{}, err
	}
	return "tokens", view{Title: "API tokens", Nav: "tokens", User: true, Data: tokens}, nil
}

// adminObjectPage edits one object of a section as JSON: what the API's GET answers (which never holds a secret),
// sent back with PATCH.
func (h *Handler) adminObjectPage(r *http.Request) (string, view, error) {
	s, err := h.mustSection(r, r.PathValue("section"))
	if err != nil {
		return "", view{}, err
	}
	if !s.Patch {
		return "", view{}, &apiError{Status: http.StatusNotFound, Msg: "the " + s.Key + " admin page has no editor"}
	}
	id := r.PathValue("id")
	var obj map[string]any
	if _, err := h.get(r, s.Obj+url.PathEscape(id), &obj); err != nil {
		return "", view{}, err
	}
	for _, k := range []string{"created_at", "updated_at", "builtin", "next_run", "last_run", "last_job", "last_status", "last_message"} {
		delete(obj, k) // the server's, not the editor's
	}
	b, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return "", view{}, err
	}
	return "admin_object", view{Title: s.Title + " " + id, Nav: "admin", User: true, Data: map[string]any{
		"S": s, "ID": id, "Path": s.Obj + url.PathEscape(id), "Text": string(b),
	}}, nil
}

package httpapi

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// Runners are addressed by name. Every answer masks the token and the secret values (api.Mask); an update that
// sends the mask back keeps the stored value and one that sends "" deletes it (api.Runner.MergeSecrets).

func (h *Handler) listRunners(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r, 0, 0)
	if err != nil {
		return err
	}
	all, err := h.st.ListRunners(r.Context())
	if err != nil {
		return err
	}
	all = keep(all, readable(r.Context(), api.ResourceRunners), func(x api.Runner) string { return x.Name })
	items := page.slice(len(all))
	out := make([]api.Runner, 0, items.n)
	for _, x := range all[items.from:items.to] {
		out = append(out, x.Masked())
	}
	writeList(w, "runners", out, items, len(all))
	return nil
}

func (h *Handler) getRunner(w http.ResponseWriter, r *http.Request) error {
	x, err := h.runner(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, x.Masked())
	return nil
}

// createRunner stores a new runner. A mask sent on create stands for no value.
func (h *Handler) createRunner(w http.ResponseWriter, r *http.Request) error {
	var in api.Runner
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	setTarget(w, in.Name)
	in = prepareRunner(in.MergeSecrets(api.Runner{}))
	if err := in.Validate(); err != nil {
		return err
	}
	if err := h.checkImage(in.Image); err != nil {
		return err
	}
	if err := mustMay(r.Context(), api.AccessWrite, api.ResourceRunners, in.Name); err != nil {
		return err
	}
	if err := h.st.CreateRunner(r.Context(), in); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return withMsg(err, "runner %q already exists", in.Name)
		}
		return err
	}
	return h.answerRunner(w, r, in.Name)
}

// replaceRunner (PUT) replaces every field; the secret map becomes exactly the one sent.
func (h *Handler) replaceRunner(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	var in api.Runner
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	if err := matchName(&in.Name, name, "runner"); err != nil {
		return err
	}
	stored, err := h.runner(r, name)
	if err != nil {
		return err
	}
	if err := guardToken(in.Token, in, stored); err != nil {
		return err
	}
	return h.updateRunner(w, r, prepareRunner(in.MergeSecrets(stored)))
}

// patchRunner (PATCH) changes only the fields present; keys of a secret map sent merge into the stored map.
func (h *Handler) patchRunner(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	stored, err := h.runner(r, name)
	if err != nil {
		return err
	}
	// Decode onto the masked stored runner: absent fields keep their (masked) value and a secret map merges into
	// the masked map; MergeSecrets then turns every remaining mask back into the stored value.
	cur := stored.Masked()
	if err := decodeJSON(r.Body, &cur); err != nil {
		return err
	}
	if cur.Name != name {
		return api.Invalidf("name %q in the body does not match runner %q in the URL", cur.Name, name)
	}
	if err := guardToken(cur.Token, cur, stored); err != nil {
		return err
	}
	return h.updateRunner(w, r, prepareRunner(cur.MergeSecrets(stored)))
}

func (h *Handler) updateRunner(w http.ResponseWriter, r *http.Request, next api.Runner) error {
	if err := next.Validate(); err != nil {
		return err
	}
	if err := h.checkImage(next.Image); err != nil {
		return err
	}
	if err := h.st.UpdateRunner(r.Context(), next); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return withMsg(err, "runner %q not found", next.Name)
		}
		return err
	}
	return h.answerRunner(w, r, next.Name)
}

func (h *Handler) deleteRunner(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	err := h.st.DeleteRunner(r.Context(), name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return withMsg(err, "runner %q not found", name)
	case errors.Is(err, store.ErrConflict):
		return withMsg(err, "%s", h.runnerInUse(r, name, conflictDetail(err, fmt.Sprintf("runner %q is used by a task", name))))
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, msg{Msg: "runner deleted successfully"})
	return nil
}

// runnerInUse is the 409 message for deleting a runner tasks still use: the store's count, and the names of those
// tasks the caller may read (only those: a conflict must not tell what the caller could not list).
func (h *Handler) runnerInUse(r *http.Request, name, detail string) string {
	all, err := h.st.ListTasks(r.Context())
	if err != nil {
		return detail
	}
	ok := readable(r.Context(), api.ResourceTasks)
	var names []string
	for _, t := range all {
		if t.Runner == name && ok(t.Name) {
			names = append(names, t.Name)
		}
	}
	if len(names) == 0 {
		return detail
	}
	return detail + " (of them you may read: " + strings.Join(names, ", ") + ")"
}

// getSecret answers the runner's secret map with every value masked.
func (h *Handler) getSecret(w http.ResponseWriter, r *http.Request) error {
	x, err := h.runner(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, maskedSecret(x))
	return nil
}

// mergeSecret (POST) merges the keys sent into the secret map: a mask keeps a value, "" deletes a key.
func (h *Handler) mergeSecret(w http.ResponseWriter, r *http.Request) error {
	return h.setSecret(w, r, true)
}

// replaceSecret (PUT) makes the secret map exactly the one sent (a mask still keeps a stored value).
func (h *Handler) replaceSecret(w http.ResponseWriter, r *http.Request) error {
	return h.setSecret(w, r, false)
}

func (h *Handler) setSecret(w http.ResponseWriter, r *http.Request, merge bool) error {
	name := r.PathValue("id")
	var in map[string]string
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	stored, err := h.runner(r, name)
	if err != nil {
		return err
	}
	next := stored
	next.Secret = map[string]string{}
	if merge {
		maps.Copy(next.Secret, maskedSecret(stored))
	}
	maps.Copy(next.Secret, in)
	next = next.MergeSecrets(stored)
	if err := next.Validate(); err != nil {
		return err
	}
	if err := h.st.UpdateRunner(r.Context(), next); err != nil {
		return err
	}
	x, err := h.runner(r, name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, maskedSecret(x))
	return nil
}

// deleteSecret removes every secret of the runner, or only the keys the body lists (as a JSON array of keys or
// an object whose keys are deleted).
func (h *Handler) deleteSecret(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	var body any
	present, err := readOptionalJSON(r.Body, &body)
	if err != nil {
		return err
	}
	var keys []string
	if present {
		switch b := body.(type) {
		case []any:
			for _, k := range b {
				s, ok := k.(string)
				if !ok {
					return api.Invalidf("body: want an array of secret keys")
				}
				keys = append(keys, s)
			}
		case map[string]any:
			for k := range b {
				keys = append(keys, k)
			}
		default:
			return api.Invalidf("body: want an array of secret keys, an object, or nothing")
		}
	}
	stored, err := h.runner(r, name)
	if err != nil {
		return err
	}
	next := stored
	if present {
		next.Secret = maps.Clone(stored.Secret)
		for _, k := range keys {
			delete(next.Secret, k)
		}
	} else {
		next.Secret = nil
	}
	if err := h.st.UpdateRunner(r.Context(), next); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, msg{Msg: "secret deleted successfully"})
	return nil
}

// checkImage refuses a runner image outside the operator's allowlist as invalid input (400). The error still
// wraps imagepolicy.ErrNotAllowed, which the status table answers with 403 where it comes from a job submission
// instead (the runner was saved before the list changed). An empty image is not checked here: a runner without
// one can be saved, and its jobs are refused at submission.
func (h *Handler) checkImage(image string) error {
	if image == "" {
		return nil
	}
	if err := h.images.Check(image); err != nil {
		return errors.Join(&api.InvalidError{Msg: err.Error()}, err)
	}
	return nil
}

// guardToken refuses to keep a stored token (sent back as the mask, or left out of a PATCH) when gitURL moves to
// another scheme, host or port: the token would be sent to a server its owner never gave it to, by someone who
// never knew it. Such an update must send the token again, or "" to drop it.
func guardToken(sent string, next, stored api.Runner) error {
	if sent != api.Mask || stored.Token == "" || origin(next.GitURL) == origin(stored.GitURL) {
		return nil
	}
	return api.Invalidf("gitURL moves to another host: send the token again (or \"\" to remove it) instead of the mask")
}

// origin is a URL's scheme, host and port, lowercased.
func origin(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return strings.ToLower(p.Scheme + "://" + p.Host)
}

// runner loads a runner, naming it in a 404.
func (h *Handler) runner(r *http.Request, name string) (api.Runner, error) {
	x, err := h.st.GetRunner(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return api.Runner{}, withMsg(err, "runner %q not found", name)
	}
	return x, err
}

// answerRunner answers the runner as stored, masked.
func (h *Handler) answerRunner(w http.ResponseWriter, r *http.Request, name string) error {
	x, err := h.runner(r, name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, x.Masked())
	return nil
}

// prepareRunner fills the defaults a stored runner shows: the branch it checks out.
func prepareRunner(x api.Runner) api.Runner {
	if x.Branch == "" {
		x.Branch = api.DefaultBranch
	}
	return x
}

func maskedSecret(x api.Runner) map[string]string {
	m := x.Masked().Secret
	if m == nil {
		m = map[string]string{}
	}
	return m
}

// matchName checks the name in a body against the name in the URL; an absent body name takes the URL's.
func matchName(body *string, url, kind string) error {
	if *body == "" {
		*body = url
		return nil
	}
	if *body != url {
		return api.Invalidf("name %q in the body does not match %s %q in the URL", *body, kind, url)
	}
	return nil
}

// conflictDetail is the store's own message for a conflict when it has one beyond the bare sentinel.
func conflictDetail(err error, fallback string) string {
	if s := err.Error(); s != store.ErrConflict.Error() && s != "" {
		return s
	}
	return fallback
}

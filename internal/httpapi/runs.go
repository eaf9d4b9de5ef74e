package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/rbac"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/store"
)

// Runs is the workflow engine as the API uses it; *runs.Engine implements it.
type Runs interface {
	// Start stores a run and advances it; runs.ErrWorkflowNotFound, *api.InvalidError for bad parameters,
	// runs.ErrKeyReused.
	Start(ctx context.Context, r runs.Request) (store.Run, bool, error)
	// Await returns the run once final, or as it is after max.
	Await(ctx context.Context, id string, max time.Duration) (store.Run, error)
	// Cancel asks a live run to end cancelled; store.ErrNotFound, runs.ErrFinished.
	Cancel(ctx context.Context, id, by string) (store.Run, error)
	// Rerun starts a new run with the same parameters, only what failed or was skipped when fromFailed.
	Rerun(ctx context.Context, id, owner, ownerID string, fromFailed bool) (store.Run, error)
}

var _ Runs = (*runs.Engine)(nil)

// startRun starts a run of the workflow in the path with the body as its parameters, answering as a job
// submission does: 200 with the whole run when it finished within the wait (?wait, else the workflow's
// sync_timeout when it is synchronous), else {"msg","id","status"} with its URL in Location (202 for a client
// that prefers async answers). An Idempotency-Key the caller used before returns the earlier run.
func (h *Handler) startRun(w http.ResponseWriter, r *http.Request) error {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		return auth.ErrUnauthenticated
	}
	if h.runs == nil {
		return notFound("workflows are not enabled on this server")
	}
	name := r.PathValue("workflow")
	key, asked, pref, err := submission(r)
	if err != nil {
		return err
	}
	params, err := readInput(r.Body)
	if err != nil {
		return err
	}
	run, created, err := h.runs.Start(r.Context(), runs.Request{Workflow: name, Owner: p.Username, OwnerID: p.UserID,
		Parameters: params, IdempotencyKey: key})
	switch {
	case errors.Is(err, runs.ErrWorkflowNotFound):
		return withMsg(err, "workflow %q not found", name)
	case errors.Is(err, runs.ErrKeyReused):
		return withMsg(err, "Idempotency-Key %q was already used for a run of another workflow: use a new key", key)
	case err != nil:
		return err
	}
	_ = created
	setTarget(w, run.ID)
	wait := min(api.MaxSyncTimeout, runWait(asked, run.Definition))
	if wait > 0 && !run.Status.Final() {
		done, err := h.runs.Await(r.Context(), run.ID, wait)
		if err == nil {
			run = done
		} else if r.Context().Err() == nil {
			return err
		}
	}
	if wait > 0 && run.Status.Final() {
		return h.answerRun(w, r, run)
	}
	answerCreated(w, pref, "/runs/", api.RunCreated{Msg: api.RunCreatedMsg, ID: run.ID, Status: run.Status}, run.ID)
	return nil
}

// runWait is how long a run submission waits: ?wait if asked, else the workflow's sync timeout when it is
// synchronous (api.DefaultSyncTimeout unless it sets one), else 0.
func runWait(asked *time.Duration, w api.Workflow) time.Duration {
	switch {
	case asked != nil:
		return *asked
	case w.Synchronous && w.SyncTimeout > 0:
		return time.Duration(w.SyncTimeout)
	case w.Synchronous:
		return api.DefaultSyncTimeout
	}
	return 0
}

// listRuns answers runs newest first, a page at a time, filtered by ?workflow, ?status, ?owner and always to the
// workflows whose runs the caller may read.
func (h *Handler) listRuns(w http.ResponseWriter, r *http.Request) error {
	pg, err := parsePage(r, defaultJobsLimit, maxJobsLimit)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var f store.RunFilter
	if f.Workflow, err = single(q, "workflow"); err != nil {
		return err
	}
	if f.Owner, err = single(q, "owner"); err != nil {
		return err
	}
	if f.Status, err = statuses(q, api.RunQueued, api.RunRunning, api.RunSucceeded, api.RunFailed, api.RunCancelled); err != nil {
		return err
	}
	f.Limit, f.Offset = pg.limit, pg.offset
	f.Workflows = readableNames(r, api.ResourceRuns)
	list, total, err := h.st.ListRuns(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]api.Run, 0, len(list))
	for _, run := range list {
		out = append(out, masked(run.Run, nil))
	}
	writeList(w, "runs", out, span{from: pg.offset, to: pg.offset + len(out)}, total)
	return nil
}

// getRun answers one run, its steps with their jobs and outputs (sensitive ones masked). ?wait long-polls as for
// a job.
func (h *Handler) getRun(w http.ResponseWriter, r *http.Request) error {
	asked, err := waitParam(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	run, err := h.run(r.Context(), id)
	if err != nil {
		return err
	}
	if asked != nil && *asked > 0 && !run.Status.Final() && h.runs != nil {
		if run, err = h.runs.Await(r.Context(), id, min(*asked, api.MaxSyncTimeout)); err != nil {
			return err
		}
	}
	return h.answerRun(w, r, run)
}

func (h *Handler) cancelRun(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.PrincipalFrom(r.Context())
	id := r.PathValue("id")
	if _, err := h.run(r.Context(), id); err != nil {
		return err
	}
	run, err := h.runs.Cancel(r.Context(), id, p.Username)
	if errors.Is(err, runs.ErrFinished) {
		return withMsg(err, "run %s already finished", id)
	}
	if err != nil {
		return err
	}
	return h.answerRun(w, r, run)
}

// rerunRun starts a new run with the run's parameters (?from=failed: only what failed or was skipped, reusing
// the outputs of what succeeded) and answers it as a submission.
func (h *Handler) rerunRun(w http.ResponseWriter, r *http.Request) error {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		return auth.ErrUnauthenticated
	}
	id := r.PathValue("id")
	from := r.URL.Query().Get("from")
	if from != "" && from != "failed" {
		return api.Invalidf("query parameter from=%q: want failed, or nothing to run everything again", from)
	}
	if _, err := h.run(r.Context(), id); err != nil {
		return err
	}
	run, err := h.runs.Rerun(r.Context(), id, p.Username, p.UserID, from == "failed")
	if errors.Is(err, runs.ErrWorkflowNotFound) {
		return withMsg(err, "the run's workflow no longer exists")
	}
	if err != nil {
		return err
	}
	setTarget(w, run.ID)
	w.Header().Set("Location", apiPrefix+"/runs/"+url.PathEscape(run.ID))
	writeJSON(w, http.StatusOK, api.RunCreated{Msg: api.RunCreatedMsg, ID: run.ID, Status: run.Status})
	return nil
}

// run loads a run, naming it in a 404.
func (h *Handler) run(ctx context.Context, id string) (store.Run, error) {
	if h.runs == nil {
		return store.Run{}, notFound("run %s not found", id)
	}
	run, err := h.st.GetRun(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Run{}, withMsg(err, "run %s not found", id)
	}
	return run, err
}

// answerRun writes run with the outputs its steps set through the metadata API, sensitive ones masked.
func (h *Handler) answerRun(w http.ResponseWriter, r *http.Request, run store.Run) error {
	values, err := h.st.RunValues(r.Context(), run.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, masked(run.Run, values))
	return nil
}

// masked is run as the API shows it: each step's outputs are its result's, overridden by the values it set
// through the metadata API, and a sensitive one reads as api.Mask.
func masked(run api.Run, values []store.RunValue) api.Run {
	steps := make([]api.StepRun, len(run.Steps))
	copy(steps, run.Steps)
	for i := range steps {
		s := &steps[i]
		var out map[string]json.RawMessage
		for _, v := range values {
			if v.Step != s.Name || v.Kind != store.ValueOutput {
				continue
			}
			if out == nil {
				out = make(map[string]json.RawMessage, len(s.Outputs)+1)
				for k, x := range s.Outputs {
					out[k] = x
				}
			}
			out[v.Name] = v.Value
			if v.Sensitive {
				out[v.Name] = json.RawMessage(`"` + api.Mask + `"`)
			}
		}
		if out != nil {
			s.Outputs = out
		}
	}
	run.Steps = steps
	return run
}

// readableNames returns the names of the objects of resource the caller may read (nil: all of them), for
// filtering a list in the store.
func readableNames(r *http.Request, resource string) []string {
	p, _ := auth.PrincipalFrom(r.Context())
	if rbac.Allow(p.Grants, api.AccessRead, resource, "") {
		return nil
	}
	names := []string{}
	for _, g := range p.Grants {
		if g.Resource == resource || g.Resource == api.ResourceAll {
			names = append(names, g.ResourceIDs...)
		}
	}
	return names
}

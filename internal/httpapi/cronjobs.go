package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/schema"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/trigger"
	"github.com/runplane/runplane/internal/trigger/cron"
	"github.com/runplane/runplane/internal/workflow"
)

// Cron jobs (Kriten's /cronjobs) are addressed by name. Saving one validates it (schedule, timezone, policy),
// requires its target to exist and extra_vars to fit the target's schema, and refuses one through which the
// caller would widen anyone's rights: the caller must be allowed to start the target (jobs write on the task,
// runs write on the workflow), and the cron job runs as its owner — the caller, unless the body names another
// user the caller may write (an administrator: a caller who may change a user's password can act as that user
// anyway). PUT and PATCH without an owner make the caller the owner, as Kriten does.

// CronLoop is the cron trigger loop as the API uses it; *cron.Loop implements it.
type CronLoop interface {
	// Changed wakes the loop after a cron job was saved or deleted.
	Changed()
	// FireNow fires a cron job at once as its owner; errors wrap trigger.ErrRefused when the owner may not.
	FireNow(ctx context.Context, c store.CronJob) (trigger.Fired, error)
}

var _ CronLoop = (*cron.Loop)(nil)

func (h *Handler) listCronJobs(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r, 0, 0)
	if err != nil {
		return err
	}
	all, err := h.st.ListCronJobs(r.Context())
	if err != nil {
		return err
	}
	all = keep(all, readable(r.Context(), api.ResourceCronJobs), func(c store.CronJob) string { return c.Name })
	s := page.slice(len(all))
	out := make([]api.CronJob, 0, s.to-s.from)
	for _, c := range all[s.from:s.to] {
		out = append(out, view(c))
	}
	writeList(w, "cronjobs", out, s, len(all))
	return nil
}

func (h *Handler) getCronJob(w http.ResponseWriter, r *http.Request) error {
	c, err := h.cronJob(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view(c))
	return nil
}

func (h *Handler) createCronJob(w http.ResponseWriter, r *http.Request) error {
	var in api.CronJob
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	setTarget(w, in.Name)
	if err := mustMay(r.Context(), api.AccessWrite, api.ResourceCronJobs, in.Name); err != nil {
		return err
	}
	c, err := h.checkCronJob(r.Context(), in)
	if err != nil {
		return err
	}
	stored, err := h.st.CreateCronJob(r.Context(), c)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return withMsg(err, "cronjob %q already exists", in.Name)
		}
		return err
	}
	h.cronChanged()
	writeJSON(w, http.StatusOK, view(stored))
	return nil
}

// replaceCronJob (PUT) replaces the definition; what the cron job fired so far stays.
func (h *Handler) replaceCronJob(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	var in api.CronJob
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	return h.updateCronJob(w, r, name, in)
}

// patchCronJob (PATCH) changes the fields the body names.
func (h *Handler) patchCronJob(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	cur, err := h.cronJob(r.Context(), name)
	if err != nil {
		return err
	}
	body, err := readInput(r.Body)
	if err != nil {
		return err
	}
	in := cur.CronJob
	if err := decodeJSON(bytes.NewReader(body), &in); err != nil {
		return err
	}
	if !hasField(body, "owner") {
		in.Owner = ""
	}
	// A target named in the body replaces the other one.
	if hasField(body, "task") && !hasField(body, "workflow") {
		in.Workflow = ""
	}
	if hasField(body, "workflow") && !hasField(body, "task") {
		in.Task = ""
	}
	return h.updateCronJob(w, r, name, in)
}

func (h *Handler) updateCronJob(w http.ResponseWriter, r *http.Request, name string, in api.CronJob) error {
	if err := matchName(&in.Name, name, "cronjob"); err != nil {
		return err
	}
	cur, err := h.cronJob(r.Context(), name)
	if err != nil {
		return err
	}
	if err := h.ownedByWorkflow(r.Context(), cur); err != nil {
		return err
	}
	c, err := h.checkCronJob(r.Context(), in)
	if err != nil {
		return err
	}
	stored, err := h.st.UpdateCronJob(r.Context(), c)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return withMsg(err, "cronjob %q not found", name)
		}
		return err
	}
	h.cronChanged()
	writeJSON(w, http.StatusOK, view(stored))
	return nil
}

func (h *Handler) deleteCronJob(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("id")
	if cur, err := h.st.GetCronJob(r.Context(), name); err == nil {
		if err := h.ownedByWorkflow(r.Context(), cur); err != nil {
			return err
		}
	}
	if err := h.st.DeleteCronJob(r.Context(), name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("cronjob %q not found", name)
		}
		return err
	}
	h.cronChanged()
	writeJSON(w, http.StatusOK, msg{Msg: "cronjob deleted successfully"})
	return nil
}

// getCronJobSchema answers the schema of the cron job's target ({} when it has none), as Kriten's
// GET /cronjobs/{id}/schema does: what extra_vars must fit.
func (h *Handler) getCronJobSchema(w http.ResponseWriter, r *http.Request) error {
	c, err := h.cronJob(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	raw, err := h.targetSchema(r.Context(), c.CronJob)
	if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			return withMsg(store.ErrNotFound, "%s", err.Error())
		}
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		writeJSON(w, http.StatusOK, map[string]any{})
		return nil
	}
	writeJSON(w, http.StatusOK, json.RawMessage(raw))
	return nil
}

// triggerCronJob (POST /cronjobs/{id}/trigger) fires the cron job now, as its owner, whatever its schedule and
// even when disabled; the caller must be allowed to start its target too.
func (h *Handler) triggerCronJob(w http.ResponseWriter, r *http.Request) error {
	c, err := h.cronJob(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := mayStart(r.Context(), "cron job", c.Task, c.Workflow); err != nil {
		return err
	}
	if h.cron == nil {
		return withMsg(store.ErrUnavailable, "cron jobs cannot fire on this server")
	}
	fired, err := h.cron.FireNow(r.Context(), c)
	switch {
	case errors.Is(err, trigger.ErrRefused):
		return withMsg(ErrForbidden, "forbidden: cronjob %q: %v", c.Name, err)
	case errors.Is(err, store.ErrNotFound):
		return withMsg(err, "cronjob %q: its %s no longer exists", c.Name, targetKind(c.Task, c.Workflow))
	case err != nil:
		return err
	case fired.Run != "":
		writeJSON(w, http.StatusOK, map[string]string{"msg": "run created successfully", "id": fired.Run})
	default:
		writeJSON(w, http.StatusOK, api.NewJobCreated(fired.Job, fired.JobStatus))
	}
	return nil
}

// checkCronJob validates in for saving and returns it as stored: its owner resolved, its next run computed.
func (h *Handler) checkCronJob(ctx context.Context, in api.CronJob) (store.CronJob, error) {
	in.ClearStatus()
	sch, err := cron.Check(&in)
	if err != nil {
		return store.CronJob{}, err
	}
	if err := mayStart(ctx, "cron job", in.Task, in.Workflow); err != nil {
		return store.CronJob{}, err
	}
	raw, err := h.targetSchema(ctx, in)
	if err != nil {
		return store.CronJob{}, err
	}
	if err := checkExtraVars(in, raw); err != nil {
		return store.CronJob{}, err
	}
	c := store.CronJob{CronJob: in}
	if c.Owner, c.OwnerID, err = h.ownerOf(ctx, in.Owner); err != nil {
		return store.CronJob{}, err
	}
	if !in.Disable {
		if next := sch.Next(time.Now()); !next.IsZero() {
			c.NextRun = &next
		}
	}
	return c, nil
}

// targetSchema is the schema c's extra_vars must fit: the task's schema or the workflow's parameters. A target
// that does not exist is store.ErrInvalid (400), naming the field.
func (h *Handler) targetSchema(ctx context.Context, c api.CronJob) ([]byte, error) {
	if c.Workflow != "" {
		wf, err := h.st.GetWorkflow(ctx, c.Workflow)
		if errors.Is(err, store.ErrNotFound) {
			return nil, withMsg(store.ErrInvalid, "workflow: workflow %q not found", c.Workflow)
		}
		return wf.Parameters, err
	}
	t, err := h.st.GetTask(ctx, c.Task)
	if errors.Is(err, store.ErrNotFound) {
		return nil, withMsg(store.ErrInvalid, "task: task %q not found", c.Task)
	}
	return t.Schema, err
}

// checkExtraVars validates extra_vars against the target's schema as a firing will: a 400 listing the failing
// paths under /extra_vars.
func checkExtraVars(c api.CronJob, raw []byte) error {
	var err error
	if c.Workflow != "" {
		var p *workflow.Plan
		if p, err = workflow.Compile(api.Workflow{Name: c.Workflow, Parameters: raw,
			Steps: []api.Step{{Name: "s", Task: "t"}}}); err == nil {
			_, err = p.Parameters(c.ExtraVars)
		}
	} else if len(bytes.TrimSpace(raw)) != 0 && string(bytes.TrimSpace(raw)) != "null" {
		var s *schema.Schema
		if s, err = schema.Compile(raw); err == nil {
			err = s.Validate(c.ExtraVars)
		}
	}
	var inv *api.InvalidError
	if errors.As(err, &inv) {
		out := &api.InvalidError{Msg: "extra_vars: " + inv.Msg}
		for _, f := range inv.Fields {
			out.Fields = append(out.Fields, api.FieldError{Path: "/extra_vars" + f.Path, Message: f.Message})
		}
		return out
	}
	return err
}

// ownerOf resolves the owner a body names ("" or the caller: the caller) to a user name and id. Naming another
// user needs write access to that user.
func (h *Handler) ownerOf(ctx context.Context, name string) (string, string, error) {
	p, _ := auth.PrincipalFrom(ctx)
	if name == "" || name == p.Username {
		return p.Username, p.UserID, nil
	}
	var u store.User
	err := store.ErrNotFound
	for _, provider := range []string{api.ProviderLocal, api.ProviderActiveDirectory} {
		if u, err = h.st.GetUserByName(ctx, provider, name); !errors.Is(err, store.ErrNotFound) {
			break
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		// Said only to whoever may write users: others learn nothing about who exists.
		if !may(ctx, api.AccessWrite, api.ResourceUsers, name) {
			return "", "", ownerForbidden()
		}
		return "", "", withMsg(store.ErrInvalid, "owner: user %q not found", name)
	}
	if err != nil {
		return "", "", err
	}
	if !may(ctx, api.AccessWrite, api.ResourceUsers, u.ID, u.Username) {
		return "", "", ownerForbidden()
	}
	return u.Username, u.ID, nil
}

func ownerForbidden() error {
	return withMsg(ErrForbidden, "forbidden: owner: a cron job runs as its owner; only a caller with write access to a user may make that user the owner (leave owner out to own it yourself)")
}

// view is a cron job as the API shows it, next_run as of now: the stored one dates from its last save or firing,
// which may be long ago when no server ran.
func view(c store.CronJob) api.CronJob {
	out := c.CronJob
	out.NextRun = nil
	if out.Disable {
		return out
	}
	if sch, err := cron.Check(&out); err == nil {
		if next := sch.Next(time.Now()); !next.IsZero() {
			out.NextRun = &next
		}
	}
	return out
}

// cronJob loads a cron job, naming it in a 404.
func (h *Handler) cronJob(ctx context.Context, name string) (store.CronJob, error) {
	c, err := h.st.GetCronJob(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.CronJob{}, withMsg(err, "cronjob %q not found", name)
	}
	return c, err
}

func (h *Handler) cronChanged() {
	if h.cron != nil {
		h.cron.Changed()
	}
}

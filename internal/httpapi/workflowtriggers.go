package httpapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/audit"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/trigger/cron"
)

// A workflow's triggers (api.WorkflowTrigger) are saved with it as the objects that fire them: a schedule is the
// cron job <workflow>.<trigger>, a webhook or push a webhook, both owned by whoever saves the workflow and checked
// as saving them by hand would be. The workflow's stored triggers name their objects (Object), which is how a
// firing finds its binding and how a hand edit is told from the workflow's own.

// checkTriggers refuses, before anything is saved, triggers that would not save by hand: a schedule that does not
// parse (400), and what the caller may not do (403): start the workflow's runs, write the cron job.
func (h *Handler) checkTriggers(ctx context.Context, w api.Workflow) error {
	for i, t := range w.Triggers {
		label := fmt.Sprintf("triggers[%d] %q", i, t.Name)
		name := api.TriggerObjectName(w.Name, t.Name)
		if err := mayStart(ctx, "trigger", "", w.Name); err != nil {
			return err
		}
		switch t.Source.Type {
		case api.TriggerSourceSchedule:
			c := api.CronJob{Name: name, Workflow: w.Name, Schedule: t.Source.Schedule, Timezone: t.Source.Timezone}
			if _, err := cron.Check(&c); err != nil {
				return api.Invalidf("%s.source: %s", label, invalidText(err))
			}
			if !may(ctx, api.AccessWrite, api.ResourceCronJobs, name) {
				return withMsg(ErrForbidden, "forbidden: %s is the cron job %q: write access to it required", label, name)
			}
		case api.TriggerSourceEvent:
			if !may(ctx, api.AccessWrite, api.ResourceEventRules, name) {
				return withMsg(ErrForbidden, "forbidden: %s is the event rule set %q: write access to it required", label, name)
			}
		}
	}
	return nil
}

// invalidText is err's message, for an *api.InvalidError wrapped into another.
func invalidText(err error) string {
	var ie *api.InvalidError
	if errors.As(err, &ie) {
		return ie.Msg
	}
	return err.Error()
}

// syncTriggers creates or updates the objects of w's triggers, owned by the caller, and sets each trigger's
// Object. prev is the stored definition (nil for a new workflow): a webhook of a trigger that stays a webhook of
// the same scheme is kept (its sender holds its id and secret). It answers the secrets of the webhooks it made.
func (h *Handler) syncTriggers(ctx context.Context, w *api.Workflow, prev *api.Workflow) (map[string]api.TriggerSecret, error) {
	p, _ := auth.PrincipalFrom(ctx)
	ctx = objectsCtx(ctx)
	old := map[string]api.WorkflowTrigger{}
	if prev != nil {
		for _, t := range prev.Triggers {
			old[t.Name] = t
		}
	}
	secrets := map[string]api.TriggerSecret{}
	changed := false
	for i := range w.Triggers {
		t := &w.Triggers[i]
		t.Object = ""
		was, had := old[t.Name]
		switch t.Source.Type {
		case api.TriggerSourceSchedule:
			name := api.TriggerObjectName(w.Name, t.Name)
			c := store.CronJob{CronJob: api.CronJob{Name: name, Workflow: w.Name, Schedule: t.Source.Schedule,
				Timezone: t.Source.Timezone, Owner: p.Username}, OwnerID: p.UserID}
			sch, err := cron.Check(&c.CronJob)
			if err != nil {
				return nil, err
			}
			if next := sch.Next(time.Now()); !next.IsZero() {
				c.NextRun = &next
			}
			cur, err := h.st.GetCronJob(ctx, name)
			op := "create"
			switch {
			case errors.Is(err, store.ErrNotFound):
				_, err = h.st.CreateCronJob(ctx, c)
			case err != nil:
			case cur.Workflow != w.Name || !had || was.Object != name:
				return nil, withMsg(store.ErrConflict, "triggers[%d] %q: cron job %q exists and is not this workflow's: rename the trigger or delete the cron job", i, t.Name, name)
			default:
				op = "update"
				_, err = h.st.UpdateCronJob(ctx, c)
			}
			if err != nil {
				return nil, err
			}
			h.auditObject(ctx, op, api.ResourceCronJobs, name, w.Name, t.Name)
			t.Object, changed = name, true
		case api.TriggerSourceWebhook, api.TriggerSourcePush:
			if had && was.Source.Type == t.Source.Type && was.Source.Scheme == t.Source.Scheme && was.Object != "" {
				if _, err := h.st.GetWebhook(ctx, was.Object); err == nil {
					t.Object = was.Object
					continue
				} else if !errors.Is(err, store.ErrNotFound) {
					return nil, err
				}
			}
			secret, err := newWebhookSecret()
			if err != nil {
				return nil, err
			}
			scheme := t.Source.Scheme
			if scheme == "" {
				scheme = api.WebhookSchemeAuto
			}
			hook, err := h.st.CreateWebhook(ctx, api.Webhook{Owner: p.UserID, Secret: secret, Workflow: w.Name,
				Scheme: scheme, Description: fmt.Sprintf("workflow %s, trigger %s (%s)", w.Name, t.Name, t.Source.Type)})
			if err != nil {
				return nil, storeErr(err)
			}
			t.Object = hook.ID
			h.auditObject(ctx, "create", api.ResourceWebhooks, hook.ID, w.Name, t.Name)
			secrets[t.Name] = api.TriggerSecret{Webhook: hook.ID, URL: "/api/v1/webhooks/run/" + hook.ID, Secret: secret}
		case api.TriggerSourceEvent:
			name := api.TriggerObjectName(w.Name, t.Name)
			set := store.EventRuleSet{OwnerID: p.UserID, EventRules: api.EventRules{Name: name, Owner: p.Username,
				APIVersion: "v2", Workflow: w.Name, Actions: []api.KeptnAction{{Name: t.Name,
					Events: []api.KeptnEvent{{Name: t.Source.Event}}, Tasks: []api.KeptnTask{}}}}}
			if t.Source.EventSource != "" {
				set.Actions[0].Events[0].JSONPath = api.KeptnJSONPath{Property: "$.source", Match: t.Source.EventSource}
			}
			cur, err := h.st.GetEventRules(ctx, name)
			op := "create"
			switch {
			case errors.Is(err, store.ErrNotFound):
				_, err = h.st.CreateEventRules(ctx, set)
			case err != nil:
			case cur.Workflow != w.Name || !had || was.Object != name:
				return nil, withMsg(store.ErrConflict, "triggers[%d] %q: event rule set %q exists and is not this workflow's: rename the trigger or delete the rule set", i, t.Name, name)
			default:
				op = "update"
				_, err = h.st.UpdateEventRules(ctx, set)
			}
			if err != nil {
				return nil, err
			}
			h.auditObject(ctx, op, api.ResourceEventRules, name, w.Name, t.Name)
			t.Object = name
		}
	}
	if changed {
		h.cronChanged()
	}
	return secrets, nil
}

// dropTriggers deletes the objects of prev's triggers that w no longer has (w nil: every one, the workflow is
// gone). An object already gone is no error.
func (h *Handler) dropTriggers(ctx context.Context, prev api.Workflow, w *api.Workflow) error {
	ctx = objectsCtx(ctx)
	keep := map[string]bool{}
	if w != nil {
		for _, t := range w.Triggers {
			keep[t.Object] = true
		}
	}
	for _, t := range prev.Triggers {
		if t.Object == "" || keep[t.Object] {
			continue
		}
		var err error
		resource := api.ResourceCronJobs
		switch t.Source.Type {
		case api.TriggerSourceSchedule:
			err = h.st.DeleteCronJob(ctx, t.Object)
			h.cronChanged()
		case api.TriggerSourceWebhook, api.TriggerSourcePush:
			resource = api.ResourceWebhooks
			err = h.st.DeleteWebhook(ctx, t.Object)
		case api.TriggerSourceEvent:
			resource = api.ResourceEventRules
			err = h.st.DeleteEventRules(ctx, t.Object)
		}
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("delete the object of trigger %q of workflow %s: %w", t.Name, prev.Name, err)
		}
		h.auditObject(ctx, "delete", resource, t.Object, prev.Name, t.Name)
	}
	return nil
}

// ownedByWorkflow is a 409 when the cron job c is a workflow's trigger: it changes with its workflow only.
func (h *Handler) ownedByWorkflow(ctx context.Context, c store.CronJob) error {
	if c.Workflow == "" {
		return nil
	}
	wf, err := h.st.GetWorkflow(ctx, c.Workflow)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, t := range wf.Triggers {
		if t.Source.Type == api.TriggerSourceSchedule && t.Object == c.Name {
			return withMsg(store.ErrConflict, "cronjob %q is trigger %q of workflow %q: change or remove the trigger in the workflow", c.Name, t.Name, wf.Name)
		}
	}
	return nil
}

// ruleSetOfWorkflow is a 409 for the rule set of a workflow's event trigger: it changes with its workflow only.
func ruleSetOfWorkflow(rs store.EventRuleSet) error {
	if rs.Workflow == "" {
		return nil
	}
	return withMsg(store.ErrConflict, "event rules %q are an event trigger of workflow %q: change or remove the trigger in the workflow", rs.Name, rs.Workflow)
}

// objectsCtx is ctx for the writes of a workflow's trigger objects: without the request's pending audit entry,
// which the workflow's own write records; each object's change gets its own entry (auditObject).
func objectsCtx(ctx context.Context) context.Context {
	return store.WithAudit(ctx, nil)
}

// auditObject records the change of a workflow trigger's object, as the caller, naming the workflow and trigger.
// A dry run records nothing.
func (h *Handler) auditObject(ctx context.Context, op, resource, target, workflow, trigger string) {
	if dryRunFrom(ctx) != nil || h.audit == nil {
		return
	}
	p, _ := auth.PrincipalFrom(ctx)
	h.audit.Record(context.WithoutCancel(ctx), audit.Bound(api.AuditLog{UserID: p.UserID, Username: p.Username,
		Provider: p.Provider, EventType: op, EventCategory: resource, EventTarget: target, Status: api.AuditSuccess,
		Reason: fmt.Sprintf("trigger %s of workflow %s", trigger, workflow)}))
}

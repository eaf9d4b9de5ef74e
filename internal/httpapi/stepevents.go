package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/rbac"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/trigger/events"
)

// metaEvent takes an event a step sends ({data, key}, Relay's shape, and an optional type) into the bus, as
// POST /api/v1/events takes one: stored first (deduplicated by source and id), then dispatched to the event
// rules (202). The step acts for its run's owner: the event's source is runplane/workflows/<workflow>, and the
// owner needs events write on it, as they would to post it themselves (403 otherwise, and nothing is stored).
// The event is also kept with the run.
func (h *Handler) metaEvent(w http.ResponseWriter, r *http.Request, s stepCaller) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if isBodyError(err) {
			return err
		}
		return api.Invalidf("read request body: %v", err)
	}
	ev, err := events.StepEvent(events.StepOrigin{Workflow: s.run.Workflow, Run: s.scope.Run, Step: s.scope.Step,
		Attempt: s.scope.Attempt}, body, time.Now())
	if err != nil {
		return err
	}
	// The request's context ends if the step's client half-closes after sending (setValue says more).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	defer cancel()
	if h.evin.events != nil {
		if err := h.mayEmit(ctx, s.run, ev.Source); err != nil {
			return err
		}
		if _, err := h.evin.events.Accept(ctx, []api.Event{ev}); err != nil {
			return err
		}
	}
	// Named after the event's identity, so a retried POST keeps one value.
	name := strconv.Itoa(s.scope.Attempt) + "/" + ev.ID[strings.LastIndex(ev.ID, "/")+1:]
	kept := fmt.Appendf(nil, `{"id":%q,"source":%q,"type":%q,"data":%s}`, ev.ID, ev.Source, ev.Type, ev.Data)
	if err := h.setValue(r, store.RunValue{Run: s.scope.Run, Step: s.scope.Step, Kind: valueEvent, Name: name, Value: kept}); err != nil {
		return err
	}
	setTarget(w, ev.ID)
	writeJSON(w, http.StatusAccepted, api.EventsAccepted{Msg: api.EventsAcceptedMsg,
		Events: []api.EventAccepted{{ID: ev.ID, Source: ev.Source}}})
	return nil
}

// valueEvent is the kind of the run values that hold events steps sent.
const valueEvent = "event"

// mayEmit is a 403 unless run's owner, with the rights they hold now, may post events of source.
func (h *Handler) mayEmit(ctx context.Context, run store.Run, source string) error {
	refused := withMsg(ErrForbidden, "forbidden: the run's owner %s needs write access to events of source %q", run.Owner, source)
	id, err := h.runOwnerID(ctx, run)
	if errors.Is(err, store.ErrNotFound) {
		return refused
	}
	if err != nil {
		return err
	}
	p, err := h.auth.PrincipalOf(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return refused
	}
	if err != nil {
		return err
	}
	if !rbac.Allow(p.Grants, api.AccessWrite, api.ResourceEvents, source) {
		return refused
	}
	return nil
}

// runOwnerID is the id of the user run runs as: who started it, or, for a run a trigger started (its OwnerID is
// the firing's scope, "trigger:<kind>:<trigger id>"), the trigger's owner now. store.ErrNotFound when that
// trigger is gone or of a kind this does not know: its step may then not act for anyone.
func (h *Handler) runOwnerID(ctx context.Context, run store.Run) (string, error) {
	rest, ok := strings.CutPrefix(run.OwnerID, "trigger:")
	if !ok {
		return run.OwnerID, nil
	}
	kind, id, _ := strings.Cut(rest, ":")
	switch api.TriggerKind(kind) {
	case api.TriggerWebhook:
		hook, err := h.st.GetWebhook(ctx, id)
		return hook.Owner, err
	case api.TriggerCron:
		list, err := h.st.ListCronJobs(ctx)
		if err != nil {
			return "", err
		}
		for _, c := range list {
			if c.ID == id {
				return c.OwnerID, nil
			}
		}
	case api.TriggerEvent:
		list, err := h.st.ListEventRules(ctx)
		if err != nil {
			return "", err
		}
		for _, rs := range list {
			if rs.ID == id {
				return rs.OwnerID, nil
			}
		}
	}
	return "", store.ErrNotFound
}

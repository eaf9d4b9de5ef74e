package runs

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/workflow"
)

// ErrSkipped is a trigger's firing whose when was false: no run was started (the message says which entry).
var ErrSkipped = errors.New("runs: the trigger's when is false")

// Bind is what fired a trigger, for a workflow's own triggers (api.WorkflowTrigger): when the workflow has a
// trigger whose object is Object and whose source fits Kind, the run's parameters are that trigger's binding
// evaluated over the payload, and its when decides whether the run starts at all.
type Bind struct {
	Kind api.TriggerKind
	// Object is the firing object's name or id: the cron job's name, the webhook's id, the rule set's name.
	Object string
	// Payload is what fired (JSON): a webhook's body, an event's data. A cron job's is made here.
	Payload []byte
	// ScheduledTime is a cron job's scheduled time.
	ScheduledTime *time.Time
}

// bindTrigger finds w's trigger b fired and evaluates it: the run's parameters (derived true), ErrSkipped
// (wrapped, saying why) when its when is false, an *api.InvalidError when the binding fails over this payload.
// A firing of an object that is none of w's triggers (a cron job made by hand) is not derived: nothing to bind.
func bindTrigger(plan *workflow.Plan, w api.Workflow, b Bind) (params []byte, derived bool, err error) {
	var t *api.WorkflowTrigger
	for i := range w.Triggers {
		x := &w.Triggers[i]
		if x.Object == b.Object && x.Object != "" && sourceKind(x.Source.Type) == b.Kind {
			t = x
		}
	}
	if t == nil {
		return nil, false, nil
	}
	payload := b.Payload
	switch t.Source.Type {
	case api.TriggerSourceSchedule:
		doc := map[string]any{"cronjob": b.Object}
		if b.ScheduledTime != nil {
			doc["scheduled_time"] = b.ScheduledTime.UTC().Format(time.RFC3339)
		}
		payload, _ = json.Marshal(doc)
	case api.TriggerSourcePush:
		// Relay's push body is {"data": {...}}: the binding reads data.
		var body struct {
			Data json.RawMessage `json:"data"`
		}
		if len(payload) > 0 {
			if err := json.Unmarshal(payload, &body); err != nil {
				return nil, true, api.Invalidf("trigger %q: a push body is a JSON object {\"data\": {...}}: %v", t.Name, err)
			}
		}
		payload = body.Data
	}
	bound, err := plan.Bind(t.Name, payload)
	if err != nil {
		return nil, true, err
	}
	if bound.Skip != "" {
		return nil, true, fmt.Errorf("%w: %s", ErrSkipped, bound.Skip)
	}
	return bound.Parameters, true, nil
}

// sourceKind is the kind of trigger object a source type is.
func sourceKind(t string) api.TriggerKind {
	switch t {
	case api.TriggerSourceSchedule:
		return api.TriggerCron
	case api.TriggerSourceWebhook, api.TriggerSourcePush:
		return api.TriggerWebhook
	case api.TriggerSourceEvent:
		return api.TriggerEvent
	}
	return ""
}

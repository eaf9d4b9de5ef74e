package api

import "encoding/json"

// WorkflowTrigger is one of a workflow's triggers (Relay's `triggers:` entries): something that starts a run of
// the workflow — a schedule, a webhook, a push, or an event — with parameters bound from what fired it. Saving
// the workflow creates the trigger's object (a cron job, a webhook, an event rule set) owned by whoever saved it;
// removing the trigger, or the workflow, deletes it.
type WorkflowTrigger struct {
	Name   string        `json:"name"`
	Source TriggerSource `json:"source"`
	// Binding maps the payload (the webhook's body, the push's data, the event's data, the schedule's time) to
	// the run's parameters; evaluated when the trigger fires.
	Binding *TriggerBinding `json:"binding,omitempty"`
	// When: the run starts only when every entry (a CEL expression over event) is true at firing time.
	When Conditions `json:"when,omitempty"`
	// Object is set by the server: the object the trigger is, by the name or id it has in its own API (the cron
	// job's name, the webhook's id, the event rule set's name). Ignored on input.
	Object string `json:"object,omitempty"`
}

// The types of a trigger's source.
const (
	TriggerSourceSchedule = "schedule" // a cron job (Relay's)
	TriggerSourceWebhook  = "webhook"  // a webhook; Relay's trigger image is not run (Relay's)
	TriggerSourcePush     = "push"     // a webhook whose body is {"data": {...}} (Relay's)
	TriggerSourceEvent    = "event"    // CloudEvents in, matched by type (runplane's)
)

// TriggerSource is what fires a trigger.
type TriggerSource struct {
	Type string `json:"type"`
	// Schedule (schedule) is cron syntax, as cron jobs read it; Timezone its IANA zone (default UTC).
	Schedule string `json:"schedule,omitempty"`
	Timezone string `json:"timezone,omitempty"`
	// Image (webhook) is Relay's trigger container. runplane does not run it: the delivery's JSON body is the
	// payload the binding reads (what Relay's stdlib JSON trigger image would have emitted).
	Image string `json:"image,omitempty"`
	// Scheme (webhook, push) is how deliveries are signed; empty means WebhookSchemeAuto.
	Scheme WebhookScheme `json:"scheme,omitempty"`
	// Schema (push) is accepted as Relay wrote it and not used.
	Schema json.RawMessage `json:"schema,omitempty"`
	// Event (event) is a regular expression searched in the CloudEvent's type; EventSource, when set, must equal
	// its source.
	Event       string `json:"event,omitempty"`
	EventSource string `json:"eventSource,omitempty"`
}

// TriggerBinding maps the payload to the run's parameters: each value is an expression (${event.x}, or Relay's
// !Data x) or a literal.
type TriggerBinding struct {
	Parameters map[string]json.RawMessage `json:"parameters,omitempty"`
}

// TriggerObjectName is the name of the cron job or event rule set a workflow's trigger creates.
func TriggerObjectName(workflow, trigger string) string { return workflow + "." + trigger }

// WorkflowSaved is the answer to saving a workflow (POST /workflows, PUT /workflows/{name}): the workflow as
// stored, and the webhooks its webhook and push triggers got by this save, with their secrets — the only time
// they are shown.
type WorkflowSaved struct {
	Workflow
	TriggerSecrets map[string]TriggerSecret `json:"trigger_secrets,omitempty"`
}

// TriggerSecret is a new webhook of a workflow's trigger: its id, the path its sender POSTs to, and its secret.
type TriggerSecret struct {
	Webhook string `json:"webhook"`
	URL     string `json:"url"`
	Secret  string `json:"secret"`
}

package api

import "time"

// TriggerKind is what kind of trigger started a job or run.
type TriggerKind string

// The kinds of trigger.
const (
	TriggerCron    TriggerKind = "cron"
	TriggerWebhook TriggerKind = "webhook"
	TriggerEvent   TriggerKind = "event"
)

// Trigger says what started a job or run that no one submitted directly: a cron job at its scheduled time, a
// webhook delivery, an event matched by a rule. A job or run started through the API has none.
type Trigger struct {
	Kind TriggerKind `json:"kind"`
	// Name names the trigger: the cron job's name, the webhook's id, the event rule's name.
	Name string `json:"name"`
	// ScheduledTime is the time a cron job fired for (not when it ran).
	ScheduledTime *time.Time `json:"scheduled_time,omitempty"`
	// Delivery is the delivery's or event's id, Source an event's source.
	Delivery string `json:"delivery,omitempty"`
	Source   string `json:"source,omitempty"`
}

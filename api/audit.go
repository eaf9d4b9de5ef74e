package api

import "time"

// AuditLog is one audited event: a mutation through the API or a login attempt. It never holds a password, token
// or secret value.
type AuditLog struct {
	ID       string `json:"id"`
	UserID   string `json:"user_id"`
	Username string `json:"username"`
	Provider string `json:"provider"`
	// EventType is the action: create, update, delete, run, cancel, login, logout.
	EventType string `json:"event_type"`
	// EventCategory is the resource acted on (runners, jobs, ...), or "auth" for logins.
	EventCategory string `json:"event_category"`
	// EventTarget names the object acted on: a name or id.
	EventTarget string `json:"event_target"`
	// Status is success, failure or denied.
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	Source     string    `json:"source"`
	CreateTime time.Time `json:"created_at"`
}

// Outcomes of an audited event.
const (
	AuditSuccess = "success"
	AuditFailure = "failure"
	AuditDenied  = "denied"
)

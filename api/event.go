package api

import (
	"encoding/json"
	"time"
)

// Event is a CloudEvent (1.0) as runplane stores it: received on POST /api/v1/events, or produced by runplane (the
// .started/.finished answers to Keptn's *.triggered events). Source and ID identify it (the CloudEvents rule):
// a second event with both is a duplicate.
type Event struct {
	ID              string     `json:"id"`
	Source          string     `json:"source"`
	Type            string     `json:"type"`
	SpecVersion     string     `json:"specversion"`
	Subject         string     `json:"subject,omitempty"`
	Time            *time.Time `json:"time,omitempty"`
	DataContentType string     `json:"datacontenttype,omitempty"`
	DataSchema      string     `json:"dataschema,omitempty"`
	// Extensions are the event's extension attributes (shkeptncontext, triggeredid, gitcommitid, ...).
	Extensions map[string]any `json:"extensions,omitempty"`
	// Data is the payload: JSON when the event's data is JSON, else a JSON string of its text (or of its base64
	// when binary, with DataBase64 set).
	Data       json.RawMessage `json:"data,omitempty"`
	DataBase64 bool            `json:"data_base64,omitempty"`

	// ReceiveTime is when runplane stored it.
	ReceiveTime time.Time `json:"received_time"`
	// Produced: runplane made it (a Keptn .started/.finished answer); produced events are not dispatched.
	Produced bool `json:"produced,omitempty"`
	// DispatchTime is when it was matched against the event rules; nil while that is still to do.
	DispatchTime *time.Time `json:"dispatch_time,omitempty"`
}

// EventAccepted is the answer to POST /api/v1/events: one entry per event, duplicates included.
type EventAccepted struct {
	ID        string `json:"id"`
	Source    string `json:"source"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// EventsAccepted answers POST /api/v1/events (202): every event of the request, each stored once.
type EventsAccepted struct {
	Msg    string          `json:"msg"`
	Events []EventAccepted `json:"events"`
}

// EventsAcceptedMsg is the message of an accepted POST /api/v1/events.
const EventsAcceptedMsg = "events accepted"

package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
)

// Emitter puts an event into the outbox, to be delivered to every sink it matches.
type Emitter interface {
	// Emit stores e in the outbox and returns once it is stored (nothing is stored while no sink exists). e.ID
	// must be stable: emitting an event whose id was emitted before stores nothing, so a producer that retries
	// or runs on several replicas sends one event. An empty Source becomes the server's; a zero Time now.
	Emit(ctx context.Context, e Event) error
}

// Event is a CloudEvent (specversion 1.0) with JSON data.
type Event struct {
	ID      string
	Source  string
	Type    string
	Subject string
	Time    time.Time
	// Data is the event's payload, JSON (datacontenttype application/json); nil for none.
	Data json.RawMessage
	// Extensions are extension context attributes, such as Keptn's shkeptncontext and triggeredid.
	Extensions map[string]string
}

// SpecVersion is the CloudEvents version of every event.
const SpecVersion = "1.0"

// ContentType is the media type of an event in structured mode.
const ContentType = "application/cloudevents+json; charset=utf-8"

// The context attributes the specification defines: no extension may take their names.
var reserved = map[string]bool{"specversion": true, "id": true, "source": true, "type": true, "subject": true,
	"time": true, "datacontenttype": true, "dataschema": true, "data": true, "data_base64": true}

// Validate checks what the specification requires of an event: id, source and type; extension names of 1 to 20
// lowercase letters and digits; JSON data.
func (e Event) Validate() error {
	switch {
	case e.ID == "":
		return errors.New("event: id is required")
	case e.Source == "":
		return errors.New("event: source is required")
	case e.Type == "":
		return errors.New("event: type is required")
	}
	for name := range e.Extensions {
		if len(name) == 0 || len(name) > 20 || strings.ContainsFunc(name, func(r rune) bool {
			return (r < 'a' || r > 'z') && (r < '0' || r > '9')
		}) {
			return fmt.Errorf("event: extension %.30q: want 1 to 20 lowercase letters and digits", name)
		}
		if reserved[name] {
			return fmt.Errorf("event: extension %q is a context attribute", name)
		}
	}
	if len(e.Data) > 0 && !json.Valid(e.Data) {
		return errors.New("event: data is not JSON")
	}
	return nil
}

// MarshalJSON writes the event in the structured JSON format of the specification.
func (e Event) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, 8+len(e.Extensions))
	for k, v := range e.Extensions {
		m[k] = v
	}
	m["specversion"] = SpecVersion
	m["id"], m["source"], m["type"] = e.ID, e.Source, e.Type
	if e.Subject != "" {
		m["subject"] = e.Subject
	}
	if !e.Time.IsZero() {
		m["time"] = e.Time.UTC().Format(time.RFC3339Nano)
	}
	if len(e.Data) > 0 {
		m["datacontenttype"] = "application/json"
		m["data"] = json.RawMessage(e.Data)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON reads an event in structured JSON format (with JSON data).
func (e *Event) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*e = Event{}
	str := func(k string) (string, error) {
		raw, ok := m[k]
		if !ok {
			return "", nil
		}
		delete(m, k)
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("event: %s: want a string", k)
		}
		return s, nil
	}
	var err error
	var spec, t, ct string
	for _, f := range []struct {
		k string
		p *string
	}{{"specversion", &spec}, {"id", &e.ID}, {"source", &e.Source}, {"type", &e.Type}, {"subject", &e.Subject},
		{"time", &t}, {"datacontenttype", &ct}} {
		if *f.p, err = str(f.k); err != nil {
			return err
		}
	}
	if spec != SpecVersion {
		return fmt.Errorf("event: specversion %q: want %q", spec, SpecVersion)
	}
	if t != "" {
		if e.Time, err = time.Parse(time.RFC3339Nano, t); err != nil {
			return fmt.Errorf("event: time %q: want RFC 3339", t)
		}
	}
	if d, ok := m["data"]; ok {
		e.Data = d
		delete(m, "data")
	}
	for k, raw := range m {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			s = string(raw) // integers and booleans, as their JSON text
		}
		if e.Extensions == nil {
			e.Extensions = map[string]string{}
		}
		e.Extensions[k] = s
	}
	return nil
}

// Stored adapts an Emitter to events stored as api.Event (the Keptn answers the event dispatcher produces): its
// Emit converts each and emits it. Extension values that are not strings are sent as their JSON.
type Stored struct{ Emitter Emitter }

// Emit converts e and emits it.
func (s Stored) Emit(ctx context.Context, e api.Event) error {
	out := Event{ID: e.ID, Source: e.Source, Type: e.Type, Subject: e.Subject, Data: e.Data}
	if e.Time != nil {
		out.Time = *e.Time
	}
	if len(e.Extensions) > 0 {
		out.Extensions = make(map[string]string, len(e.Extensions))
		for k, v := range e.Extensions {
			if s, ok := v.(string); ok {
				out.Extensions[k] = s
				continue
			}
			b, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("outbox: event %q: extension %s: %w", e.ID, k, err)
			}
			out.Extensions[k] = string(b)
		}
	}
	return s.Emitter.Emit(ctx, out)
}

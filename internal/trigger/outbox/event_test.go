package outbox_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/internal/trigger/outbox"
)

func TestEventValidate(t *testing.T) {
	ok := outbox.Event{ID: "1", Source: "/s", Type: "t"}
	with := func(f func(e *outbox.Event)) outbox.Event { e := ok; f(&e); return e }
	tests := []struct {
		name    string
		e       outbox.Event
		wantErr string
	}{
		{"minimal", ok, ""},
		{"keptn extensions", with(func(e *outbox.Event) {
			e.Extensions = map[string]string{"shkeptncontext": "c", "triggeredid": "t", "gitcommitid": "abc"}
		}), ""},
		{"no id", with(func(e *outbox.Event) { e.ID = "" }), "id is required"},
		{"no source", with(func(e *outbox.Event) { e.Source = "" }), "source is required"},
		{"no type", with(func(e *outbox.Event) { e.Type = "" }), "type is required"},
		{"uppercase extension", with(func(e *outbox.Event) { e.Extensions = map[string]string{"Keptn": "x"} }), "lowercase"},
		{"long extension", with(func(e *outbox.Event) {
			e.Extensions = map[string]string{"abcdefghijklmnopqrstu": "x"}
		}), "lowercase"},
		{"reserved extension", with(func(e *outbox.Event) { e.Extensions = map[string]string{"data": "x"} }), "context attribute"},
		{"data not JSON", with(func(e *outbox.Event) { e.Data = json.RawMessage("{") }), "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.e.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate(%+v) = %v, want %q", tt.e, err, tt.wantErr)
			}
		})
	}
}

// TestEventJSON: an event is written in the specification's structured format, and read back the same.
func TestEventJSON(t *testing.T) {
	e := outbox.Event{ID: "job/a/succeeded", Source: "https://runplane.example.com", Type: "dev.runplane.job.succeeded",
		Subject: "a", Time: time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC), Data: json.RawMessage(`{"a":"<b>"}`),
		Extensions: map[string]string{"shkeptncontext": "c"}}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"specversion": "1.0", "id": "job/a/succeeded", "source": "https://runplane.example.com",
		"type": "dev.runplane.job.succeeded", "subject": "a", "time": "2026-01-02T03:04:05.0000006Z",
		"datacontenttype": "application/json", "data": map[string]any{"a": "<b>"}, "shkeptncontext": "c"}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("Marshal(%+v) (-want +got):\n%s", e, diff)
	}
	var back outbox.Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	back.Data = compact(t, back.Data)
	e.Data = compact(t, e.Data)
	if diff := cmp.Diff(e, back); diff != "" {
		t.Errorf("Unmarshal(Marshal(e)) (-want +got):\n%s", diff)
	}
}

func compact(t *testing.T, b json.RawMessage) json.RawMessage {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return out
}

// FuzzEventJSON: whatever reads as an event and validates writes out as JSON that reads back as the same event.
func FuzzEventJSON(f *testing.F) {
	f.Add(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"a":1},"shkeptncontext":"c"}`)
	f.Add(`{"specversion":"1.0","id":"1","source":"/s","type":"t","time":"2026-01-02T03:04:05Z","ext":3}`)
	f.Fuzz(func(t *testing.T, in string) {
		var e outbox.Event
		if json.Unmarshal([]byte(in), &e) != nil || e.Validate() != nil {
			return
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", e, err)
		}
		var back outbox.Event
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if back.ID != e.ID || back.Type != e.Type || back.Source != e.Source || !back.Time.Equal(e.Time) ||
			len(back.Extensions) != len(e.Extensions) {
			t.Fatalf("round trip of %s = %+v, want %+v", in, back, e)
		}
	})
}

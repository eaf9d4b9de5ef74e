package events

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

func TestStepEvent(t *testing.T) {
	o := StepOrigin{Workflow: "release", Run: "r1", Step: "build", Attempt: 2}
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		body     string
		wantID   string // "hash" for a content hash
		wantType string
		wantData string
		wantErr  string
	}{
		{"relay shape with key", `{"data":{"a":1},"key":"k1"}`, "r1/build/2/k1", StepEventType, `{"a":1}`, ""},
		{"type field", `{"data":{"a":1},"key":"k1","type":"com.example.built"}`, "r1/build/2/k1", "com.example.built", `{"a":1}`, ""},
		{"type in the data", `{"data":{"type":"com.example.pushed","x":2}}`, "hash", "com.example.pushed", `{"type":"com.example.pushed","x":2}`, ""},
		{"type field wins over the data's", `{"data":{"type":"a.b"},"type":"c.d"}`, "hash", "c.d", `{"type":"a.b"}`, ""},
		{"non-string type in the data", `{"data":{"type":3}}`, "hash", StepEventType, `{"type":3}`, ""},
		{"relay source ignored", `{"data":{"x":1},"source":{"type":"trigger","trigger":{"name":"t"}}}`, "hash", StepEventType, `{"x":1}`, ""},
		{"scalar data", `{"data":"hello"}`, "hash", StepEventType, `"hello"`, ""},
		{"no data", `{"key":"k"}`, "", "", "", "data: required"},
		{"null data", `{"data":null}`, "", "", "", "data: required"},
		{"not json", `{bad`, "", "", "", "body:"},
		{"two objects", `{"data":1} {"data":2}`, "", "", "", "one JSON object"},
		{"key with space", `{"data":1,"key":"a b"}`, "", "", "", "key \"a b\""},
		{"long key", `{"data":1,"key":"` + strings.Repeat("k", 201) + `"}`, "", "", "", "key: 1 to 200"},
		{"type with newline", `{"data":1,"type":"a\nb"}`, "", "", "", "type \"a\\nb\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := StepEvent(o, []byte(tt.body), now)
			if tt.wantErr != "" {
				var inv *api.InvalidError
				if err == nil || !errors.As(err, &inv) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("StepEvent(%s) = %v, want an invalid error containing %q", tt.body, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("StepEvent(%s): %v", tt.body, err)
			}
			if tt.wantID == "hash" {
				if !strings.HasPrefix(e.ID, "r1/build/2/sha256:") {
					t.Errorf("StepEvent(%s).ID = %q, want a content hash under r1/build/2/", tt.body, e.ID)
				}
			} else if e.ID != tt.wantID {
				t.Errorf("StepEvent(%s).ID = %q, want %q", tt.body, e.ID, tt.wantID)
			}
			if e.Source != "runplane/workflows/release" || e.Type != tt.wantType || string(e.Data) != tt.wantData ||
				e.Subject != "r1" || e.Extensions["runplanestep"] != "build" || e.Extensions["runplaneattempt"] != "2" ||
				e.Time == nil || !e.Time.Equal(now) {
				t.Errorf("StepEvent(%s) = %+v, want source runplane/workflows/release, type %s, data %s, subject r1, step build, attempt 2",
					tt.body, e, tt.wantType, tt.wantData)
			}
		})
	}
}

// TestStepEventID: a retried POST is the same event; another body, attempt or run is another.
func TestStepEventID(t *testing.T) {
	o := StepOrigin{Workflow: "w", Run: "r1", Step: "s", Attempt: 1}
	id := func(o StepOrigin, body string) string {
		t.Helper()
		e, err := StepEvent(o, []byte(body), time.Now())
		if err != nil {
			t.Fatalf("StepEvent(%s): %v", body, err)
		}
		return e.ID
	}
	first := id(o, `{"data":{"a":1,"b":2}}`)
	if again := id(o, `{"data": {"a": 1, "b": 2}}`); again != first {
		t.Errorf("the same event reformatted: id %q, want %q", again, first)
	}
	o2 := o
	o2.Attempt = 2
	o3 := o
	o3.Run = "r2"
	for name, other := range map[string]string{
		"other data":    id(o, `{"data":{"a":2,"b":2}}`),
		"other type":    id(o, `{"data":{"a":1,"b":2},"type":"x.y"}`),
		"other attempt": id(o2, `{"data":{"a":1,"b":2}}`),
		"other run":     id(o3, `{"data":{"a":1,"b":2}}`),
	} {
		if other == first {
			t.Errorf("%s: id %q, the same as the first event's", name, other)
		}
	}
}

func FuzzStepEvent(f *testing.F) {
	for _, s := range []string{`{"data":{"a":1},"key":"k"}`, `{"data":{"type":"x"}}`, `{"data":1,"type":"t"}`, `{}`, `{bad`, `[]`} {
		f.Add([]byte(s))
	}
	o := StepOrigin{Workflow: "w", Run: "r", Step: "s", Attempt: 1}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := StepEvent(o, body, time.Unix(0, 0))
		if err != nil {
			var inv *api.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("StepEvent(%q): %v, want an invalid error", body, err)
			}
			return
		}
		if !strings.HasPrefix(e.ID, "r/s/1/") || e.Source != "runplane/workflows/w" || e.Type == "" || len(e.Data) == 0 {
			t.Fatalf("StepEvent(%q) = %+v", body, e)
		}
	})
}

package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// TestSchemaCostRefusedAtSave: the 22-level anyOf/$ref schema of issue 11 (79 s of CPU per submission) and a
// $ref cycle are refused when saved, quickly, with a 400 that says why; a recursive tree schema is accepted.
func TestSchemaCostRefusedAtSave(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "t", Runner: "repo", Command: "true"})

	var b strings.Builder
	b.WriteString(`{"$defs": {`)
	for i := range 22 {
		fmt.Fprintf(&b, `"d%d": {"anyOf": [{"$ref": "#/$defs/d%d"}, {"$ref": "#/$defs/d%d", "required": ["x"]}]}, `, i, i+1, i+1)
	}
	b.WriteString(`"d22": {"type": "object", "required": ["never"]}}, "$ref": "#/$defs/d0"}`)
	bomb := b.String()
	tests := []struct {
		name, path, method, body string
		status                   int
		want                     string
	}{
		{"bomb as a task's schema", "/api/v1/tasks", "POST", `{"name": "b", "runner": "repo", "command": "true", "schema": ` + bomb + `}`,
			400, "schema is not allowed: schema is too expensive to evaluate"},
		{"bomb through the schema route", "/api/v1/tasks/t/schema", "PUT", bomb, 400, "schema is too expensive to evaluate"},
		{"cyclic $ref", "/api/v1/tasks/t/schema", "PUT", `{"properties": {"a": {"$ref": "#/$defs/a"}}, "$defs": {"a": {"$ref": "#/$defs/a"}}}`,
			400, "$ref cycle that never descends into the input: #/$defs/a -> #/$defs/a"},
		{"recursive tree", "/api/v1/tasks/t/schema", "PUT", `{"type": "object", "properties": {"name": {"type": "string"},
			"children": {"type": "array", "items": {"$ref": "#"}}}}`, 200, ""},
	}
	for _, tt := range tests {
		start := time.Now()
		res := ts.do(t, req{method: tt.method, path: tt.path, body: tt.body}).want(t, tt.status)
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: answered in %v, want under 1s", tt.name, d)
		}
		if tt.want != "" {
			if msg := res.apiError(t).Error; !strings.Contains(msg, tt.want) {
				t.Errorf("%s: error %q, want it to contain %q", tt.name, msg, tt.want)
			}
		}
	}
	// The recursive schema saved last validates submissions.
	created(t, ts.submit(t, "/api/v1/jobs/t", `{"name": "a", "children": [{"name": "b", "children": []}]}`, nil))
	ts.submit(t, "/api/v1/jobs/t", `{"children": [{"name": 1}]}`, nil).want(t, http.StatusBadRequest)
}

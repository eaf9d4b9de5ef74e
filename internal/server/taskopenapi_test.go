package server

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/runplane/runplane/api"
)

// TestTaskOpenAPI fetches a task's own OpenAPI document and runs the task through the paths and schema it gives.
func TestTaskOpenAPI(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.withRepo(t)
	schema := `{"type":"object","required":["who"],"properties":{"who":{"type":"string"}}}`
	ts.createTask(t, api.Task{Name: "hello", Runner: "repo", Command: "sh hello.sh", Synchronous: true, Schema: json.RawMessage(schema)})

	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]struct {
			Post struct {
				RequestBody struct {
					Content map[string]struct {
						Schema struct {
							Ref string `json:"$ref"`
						} `json:"schema"`
					} `json:"content"`
				} `json:"requestBody"`
				Responses map[string]json.RawMessage `json:"responses"`
			} `json:"post"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	ts.do(t, req{method: "GET", path: "/api/v1/tasks/hello/openapi.json"}).want(t, http.StatusOK).decode(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	var input map[string]any
	if err := json.Unmarshal(doc.Components.Schemas["TaskInput"], &input); err != nil || input["required"] == nil {
		t.Errorf("TaskInput = %s, want the task's schema", doc.Components.Schemas["TaskInput"])
	}
	for _, path := range []string{"/api/v1/jobs/hello", "/api/v1/tasks/hello/run"} {
		op, ok := doc.Paths[path]
		if !ok {
			t.Errorf("document lacks POST %s", path)
			continue
		}
		if ref := op.Post.RequestBody.Content["application/json"].Schema.Ref; ref != "#/components/schemas/TaskInput" {
			t.Errorf("POST %s: body schema %q, want the task's", path, ref)
		}
		for _, code := range []string{"200", "202", "400"} {
			if op.Post.Responses[code] == nil {
				t.Errorf("POST %s: no %s answer", path, code)
			}
		}
		// The document is true: the path runs the task, and the schema is the one enforced.
		finished(t, ts.submit(t, path, `{"who":"doc"}`, nil))
		ts.submit(t, path, `{}`, nil).want(t, http.StatusBadRequest)
	}
	ts.do(t, req{method: "GET", path: "/api/v1/tasks/nope/openapi.json"}).want(t, http.StatusNotFound).apiError(t)
	ts.do(t, req{method: "GET", path: "/api/v1/tasks/hello/openapi.json", noAuth: true}).want(t, http.StatusUnauthorized)
}

package client_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// jsonEqual compares two JSON texts by value.
func jsonEqual(t *testing.T, what string, got, want json.RawMessage) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %q is not JSON: %v", what, got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

func TestTasks(t *testing.T) {
	f := setup(t)
	c, ctx := f.c, t.Context()

	in := api.Task{Name: "t1", Runner: "scripts", Command: "./hello.sh", Timeout: api.Duration(time.Minute)}
	got, err := c.CreateTask(ctx, in)
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("CreateTask answer (-want +got):\n%s", diff)
	}
	if got, err = c.GetTask(ctx, "t1"); err != nil {
		t.Fatalf("GetTask: %v", err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("GetTask (-want +got):\n%s", diff)
	}
	list, err := c.ListTasks(ctx)
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	var names []string
	for _, x := range list {
		names = append(names, x.Name)
	}
	if diff := cmp.Diff([]string{"fail", "greet", "hello", "slow", "t1"}, names); diff != "" {
		t.Errorf("ListTasks names (-want +got):\n%s", diff)
	}

	in.Command, in.Synchronous = "./fail.sh", true
	if got, err = c.UpdateTask(ctx, in); err != nil {
		t.Fatalf("UpdateTask: %v", err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("UpdateTask answer (-want +got):\n%s", diff)
	}
	if got, err = c.PatchTask(ctx, "t1", map[string]any{"command": "./slow.sh"}); err != nil {
		t.Fatalf("PatchTask: %v", err)
	}
	in.Command = "./slow.sh"
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("PatchTask answer (-want +got):\n%s", diff)
	}

	schema, err := c.SetTaskSchema(ctx, "t1", json.RawMessage(greetSchema))
	if err != nil {
		t.Fatalf("SetTaskSchema: %v", err)
	}
	jsonEqual(t, "SetTaskSchema", schema, json.RawMessage(greetSchema))
	schema, err = c.GetTaskSchema(ctx, "t1")
	if err != nil {
		t.Fatalf("GetTaskSchema: %v", err)
	}
	jsonEqual(t, "GetTaskSchema", schema, json.RawMessage(greetSchema))
	if err := c.DeleteTaskSchema(ctx, "t1"); err != nil {
		t.Fatalf("DeleteTaskSchema: %v", err)
	}
	if got, err = c.GetTask(ctx, "t1"); err != nil || len(got.Schema) > 0 {
		t.Errorf("GetTask after DeleteTaskSchema: schema %s, %v; want none", got.Schema, err)
	}
	if schema, err = c.GetTaskSchema(ctx, "t1"); err != nil || string(schema) != "{}" {
		t.Errorf("GetTaskSchema after DeleteTaskSchema = %s, %v; want {}", schema, err)
	}

	if err := c.DeleteTask(ctx, "t1"); err != nil {
		t.Fatalf("DeleteTask: %v", err)
	}
	if _, err := c.GetTask(ctx, "t1"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("GetTask after delete: %v, want ErrNotFound", err)
	}
}

func TestTaskErrors(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	tests := []struct {
		name string
		call func() error
		want int
	}{
		{"create with missing runner", func() error {
			_, err := f.c.CreateTask(ctx, api.Task{Name: "x", Runner: "missing", Command: "true"})
			return err
		}, 400},
		{"create without command", func() error {
			_, err := f.c.CreateTask(ctx, api.Task{Name: "x", Runner: "scripts"})
			return err
		}, 400},
		{"create with invalid schema", func() error {
			_, err := f.c.CreateTask(ctx, api.Task{Name: "x", Runner: "scripts", Command: "true",
				Schema: json.RawMessage(`{"type": 12}`)})
			return err
		}, 400},
		{"create duplicate", func() error {
			_, err := f.c.CreateTask(ctx, api.Task{Name: "hello", Runner: "scripts", Command: "true"})
			return err
		}, 409},
		{"set invalid schema", func() error {
			_, err := f.c.SetTaskSchema(ctx, "hello", json.RawMessage(`{"type": "no-such-type"}`))
			return err
		}, 400},
		{"schema of missing", func() error { _, err := f.c.GetTaskSchema(ctx, "missing"); return err }, 404},
		{"update missing", func() error {
			_, err := f.c.UpdateTask(ctx, api.Task{Name: "missing", Runner: "scripts", Command: "true"})
			return err
		}, 404},
		{"delete missing", func() error { return f.c.DeleteTask(ctx, "missing") }, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkStatus(t, tt.name, tt.call(), tt.want)
		})
	}
}

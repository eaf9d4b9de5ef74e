package jobs_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/jobs"
)

// A job of containers given input files finds them in its input directory before its first container starts (a
// Kratix pipeline's object.yaml): they are stored with the job, and the engine, started after the submission, reads
// them from the store when it claims the job.
func TestInputFiles(t *testing.T) {
	e := newEnv(t, jobs.Options{}, nil)
	e.task(t, api.Task{Name: "pipeline", Containers: []api.Container{
		{Name: "read", Command: []string{"sh", "-c", `cat "$RUNPLANE_INPUT_DIR/object.yaml"; printf '%s\n' "$RUNPLANE_INPUT_DIR"/*`}},
	}})
	e.task(t, api.Task{Name: "plain", Command: "true"})
	object := "apiVersion: marketplace.kratix.io/v1\nkind: Redis\nmetadata: {name: cache}\nspec: {size: small}\n"
	files := map[string][]byte{"object.yaml": []byte(object), "extra": []byte("x")}

	sub, err := e.eng.Submit(t.Context(), jobs.Request{Task: "pipeline", Owner: "alice", InputFiles: files})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	e.start(t)
	job := e.await(t, sub.ID)
	if job.Status != api.JobSucceeded {
		t.Fatalf("job %s: %s (%s)", job.ID, job.Status, job.Reason)
	}
	log := job.Stdout
	if !strings.Contains(log, object) || !strings.Contains(log, "/extra\n") {
		t.Errorf("log = %q, want the object and both files listed", log)
	}

	tests := []struct {
		name, task string
		files      map[string][]byte
		want       string
	}{
		{"command job", "plain", files, "need a job of containers"},
		{"path", "pipeline", map[string][]byte{"../object.yaml": nil}, "want a relative path"},
		{"reserved", "pipeline", map[string][]byte{"..data": nil}, "want a relative path"},
		{"too big", "pipeline", map[string][]byte{"a": make([]byte, executor.MaxInputFiles/2+1), "b": make([]byte, executor.MaxInputFiles/2)}, "over the 900 KiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.eng.Submit(t.Context(), jobs.Request{Task: tc.task, Owner: "alice", InputFiles: tc.files})
			var inv *api.InvalidError
			if !errors.As(err, &inv) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Submit = %v, want a 400 saying %q", err, tc.want)
			}
		})
	}
}

package runs_test

import (
	"errors"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/jobfiles"
)

// A step of containers keeps what they leave in its output and metadata directories with its job, unless it
// discards them (discardFiles, what an event rule's Keptn task sets): then nothing of it is kept, not even an
// empty directory, and the step succeeds all the same.
func TestStepDiscardFiles(t *testing.T) {
	e := newEnv(t)
	r := e.addEngine(t, engineOpts{})
	write := api.Container{Name: "write", Image: "alpine", Command: []string{"sh", "-c",
		`echo out > "$RUNPLANE_OUTPUT_DIR/out.txt" && echo 'message: hi' > "$RUNPLANE_METADATA_DIR/status.yaml"`}}
	w := api.Workflow{Name: "files", Steps: []api.Step{
		{Name: "keep", Containers: []api.Container{write}},
		{Name: "discard", Containers: []api.Container{write}, DiscardFiles: true},
	}}
	run := runKratix(t, e, r, w)

	tests := []struct {
		step     string
		wantKept bool
	}{
		{"keep", true},
		{"discard", false},
	}
	for _, tc := range tests {
		t.Run(tc.step, func(t *testing.T) {
			id := step(t, run, tc.step).Job
			files, err := e.files.List(id)
			job, jerr := e.st.GetJob(t.Context(), id)
			if jerr != nil {
				t.Fatal(jerr)
			}
			if tc.wantKept {
				if err != nil || len(files) != 1 || files[0].Path != "out.txt" {
					t.Errorf("List(%s) = %v, %v, want out.txt", id, files, err)
				}
				if job.Metadata == nil || len(job.Metadata.Status) == 0 {
					t.Errorf("job %s metadata = %+v, want its status.yaml", id, job.Metadata)
				}
				return
			}
			if !errors.Is(err, jobfiles.ErrNotFound) {
				t.Errorf("List(%s) = %v, %v, want %v", id, files, err, jobfiles.ErrNotFound)
			}
			if job.Metadata != nil {
				t.Errorf("job %s metadata = %+v, want none", id, job.Metadata)
			}
		})
	}
}

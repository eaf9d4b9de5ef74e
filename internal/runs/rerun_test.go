package runs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/store"
)

// TestRerunFromFailed: a rerun from failed keeps the steps that succeeded, with their outputs (those of their
// ^JSON result and those they set through the metadata API), and runs only the rest.
func TestRerunFromFailed(t *testing.T) {
	e := newEnv(t)
	ran, ok := filepath.Join(e.dir, "ran"), filepath.Join(e.dir, "ok")
	b := sh("b", mark(ran)+fmt.Sprintf(`; test -f %s && printf '^JSON {"got": "%%s"} ^JSON\n' "$V-$G"`, ok), "a")
	b.Env = api.EnvVars{{Name: "V", Value: "${outputs.a.v}"}, {Name: "G", Value: "${outputs.a.greeting}"}}
	e.workflow(t, api.Workflow{Name: "re", Steps: []api.Step{
		sh("a", mark(ran)+`; echo '^JSON {"v": "x"} ^JSON'`),
		b,
		sh("c", mark(ran), "b"),
	}})
	r := e.addEngine(t, engineOpts{wrap: func(j runs.Jobs) runs.Jobs { return &setOutput{Engine: j.(*jobs.Engine), st: e.st} }})
	first := e.await(t, r, e.start(t, r, "re", `{}`).ID)
	if first.Status != api.RunFailed || step(t, first, "a").Status != api.StepSucceeded || step(t, first, "b").Status != api.StepFailed {
		t.Fatalf("first run = %s: %+v; want failed with a succeeded and b failed", first.Status, first.Steps)
	}
	if err := os.WriteFile(ok, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := r.Rerun(t.Context(), first.ID, "ann", "u-ann", true)
	if err != nil {
		t.Fatal(err)
	}
	again = e.await(t, r, again.ID)
	if again.Status != api.RunSucceeded {
		t.Fatalf("rerun = %s (%s): %+v; want succeeded", again.Status, again.Reason, again.Steps)
	}
	if a := step(t, again, "a"); a.Job != step(t, first, "a").Job || string(a.Outputs["v"]) != `"x"` {
		t.Errorf("rerun's a = job %s outputs %s; want the first run's job %s and its outputs", a.Job, a.Outputs, step(t, first, "a").Job)
	}
	if got := string(step(t, again, "b").Outputs["got"]); got != `"x-hello"` {
		t.Errorf("rerun's b read %s, want \"x-hello\": a's ^JSON output and the output it set through the metadata API", got)
	}
	var steps []string
	for _, j := range e.jobsOf(t, again.ID) {
		steps = append(steps, j.Step)
	}
	if fmt.Sprint(steps) != "[b c]" {
		t.Errorf("the rerun ran jobs of steps %v, want [b c]", steps)
	}
	count := map[string]int{}
	for _, m := range marks(t, ran) {
		count[m[1]]++
	}
	if count["a"] != 1 || count["b"] != 2 || count["c"] != 1 {
		t.Errorf("steps ran %v times, want a once, b twice, c once", count)
	}
}

// setOutput sets output greeting of step a once its job is submitted, as a's job would through the metadata API.
type setOutput struct {
	*jobs.Engine
	st store.Runs
}

func (s *setOutput) Submit(ctx context.Context, r jobs.Request) (jobs.Submitted, error) {
	if r.Step == "a" {
		v, _ := json.Marshal("hello")
		if err := s.st.SetRunValue(ctx, store.RunValue{Run: r.Run, Step: r.Step, Kind: store.ValueOutput, Name: "greeting", Value: v}); err != nil {
			return jobs.Submitted{}, err
		}
	}
	return s.Engine.Submit(ctx, r)
}

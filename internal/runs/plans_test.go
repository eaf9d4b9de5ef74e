package runs

import (
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// TestPlansShareAcrossDescriptions: definitions that differ only in their description (an event rule's action,
// whose description names each event) share one compiled plan; one with a NUL byte there is still refused.
func TestPlansShareAcrossDescriptions(t *testing.T) {
	def := func(desc string) api.Workflow {
		return api.Workflow{Name: "rules", Description: desc, Steps: []api.Step{{Name: "a", Image: "alpine", Command: api.Strings{"true"}}}}
	}
	var p plans
	first, err := p.get(def("for event e1 from src"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		w       api.Workflow
		same    bool
		wantErr bool
	}{
		{"another event", def("for event e2 from src"), true, false},
		{"no description", def(""), true, false},
		{"another step", api.Workflow{Name: "rules", Steps: []api.Step{{Name: "b", Image: "alpine", Command: api.Strings{"true"}}}}, false, false},
		{"a NUL byte in the description", def("bad\x00"), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.get(tt.w)
			if (err != nil) != tt.wantErr {
				t.Fatalf("get(%q) error = %v, want error %v", tt.w.Description, err, tt.wantErr)
			}
			if err == nil && (got == first) != tt.same {
				t.Errorf("get(%q) is the first plan: %v, want %v", tt.w.Description, got == first, tt.same)
			}
		})
	}
}

// TestPlansForRun: a run's plan is found by the run (its id and creation time) once known, whoever decoded the
// run; a run of the same id created at another time (a deleted run's id reused) gets its own definition's plan.
func TestPlansForRun(t *testing.T) {
	step := func(name string) api.Workflow {
		return api.Workflow{Name: "w", Steps: []api.Step{{Name: name, Image: "alpine", Command: api.Strings{"true"}}}}
	}
	at := time.Date(2026, 12, 7, 10, 0, 0, 123456789, time.UTC)
	run := func(def api.Workflow, created time.Time) store.Run {
		return store.Run{Run: api.Run{ID: "w-abcde", Workflow: "w", CreateTime: created}, Definition: def}
	}
	var p plans
	first, err := p.forRun(run(step("a"), at))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  store.Run
		same bool
	}{
		{"the run read again", run(step("a"), at), true},
		{"the run read again from PostgreSQL (microseconds)", run(step("a"), at.Truncate(time.Microsecond)), true},
		{"the id reused later for another definition", run(step("b"), at.Add(time.Hour)), false},
	}
	if _, ok := p.definition(run(api.Workflow{}, at.Add(2*time.Hour))); ok {
		t.Errorf("definition of a run never seen: found, want none")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.forRun(tt.run)
			if err != nil {
				t.Fatal(err)
			}
			if (got == first) != tt.same {
				t.Errorf("forRun(%s at %s) is the first plan: %v, want %v", tt.run.ID, tt.run.CreateTime, got == first, tt.same)
			}
			if got, want := got.Definition().Steps[0].Name, tt.run.Definition.Steps[0].Name; got != want {
				t.Errorf("forRun(%s at %s) plans step %s, want %s", tt.run.ID, tt.run.CreateTime, got, want)
			}
			// The definition is remembered too, the run's own, for a run read without it.
			bare := tt.run
			bare.Definition = api.Workflow{}
			def, ok := p.definition(bare)
			if !ok || def.Steps[0].Name != tt.run.Definition.Steps[0].Name {
				t.Errorf("definition(%s at %s) = %v, %v; want its definition", tt.run.ID, tt.run.CreateTime, def, ok)
			}
		})
	}
}

package runs

import (
	"testing"

	"github.com/runplane/runplane/api"
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

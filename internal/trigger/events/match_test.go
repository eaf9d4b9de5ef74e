package events

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

func action(name string, silent bool, events ...api.KeptnEvent) api.KeptnAction {
	return api.KeptnAction{Name: name, Silent: silent, Events: events, Tasks: []api.KeptnTask{{Name: "t", Image: "alpine"}}}
}

func on(re string) api.KeptnEvent { return api.KeptnEvent{Name: re} }

func onPath(re, prop, match string) api.KeptnEvent {
	return api.KeptnEvent{Name: re, JSONPath: api.KeptnJSONPath{Property: prop, Match: match}}
}

func TestMatch(t *testing.T) {
	doc := Document(api.Event{ID: "1", Source: "s", Type: "sh.keptn.event.test.triggered",
		Extensions: map[string]any{"shkeptncontext": "ctx"},
		Data:       []byte(`{"test":{"teststrategy":"locust"},"count":3,"flag":true}`)})
	const typ = "sh.keptn.event.test.triggered"
	tests := []struct {
		name     string
		actions  []api.KeptnAction
		multiple bool
		want     []int
	}{
		{"none", []api.KeptnAction{action("a", false, on("deployment"))}, false, nil},
		{"first non-silent wins", []api.KeptnAction{action("a", false, on("test")), action("b", false, on("test"))}, false, []int{0}},
		{"silent falls through", []api.KeptnAction{action("a", true, on("test")), action("b", false, on("test")), action("c", false, on("test"))}, false, []int{0, 1}},
		{"silent only", []api.KeptnAction{action("a", true, on("test")), action("b", true, on(".*"))}, false, []int{0, 1}},
		{"multiple runs all", []api.KeptnAction{action("a", false, on("test")), action("b", false, on("deploy")), action("c", false, on("triggered$"))}, true, []int{0, 2}},
		{"regex is unanchored", []api.KeptnAction{action("a", false, on(`event\.test`))}, false, []int{0}},
		{"anchored regex", []api.KeptnAction{action("a", false, on(`^test`))}, false, nil},
		{"bad regex matches nothing", []api.KeptnAction{action("a", false, on("(")), action("b", false, on("test"))}, false, []int{1}},
		{"jsonpath equal", []api.KeptnAction{action("a", false, onPath("test", "$.data.test.teststrategy", "locust"))}, false, []int{0}},
		{"jsonpath differs", []api.KeptnAction{action("a", false, onPath("test", "$.data.test.teststrategy", "health")), action("b", false, on("test"))}, false, []int{1}},
		{"jsonpath missing", []api.KeptnAction{action("a", false, onPath("test", "$.data.nope", "x"))}, false, nil},
		{"jsonpath number is not a string", []api.KeptnAction{action("a", false, onPath("test", "$.data.count", "3"))}, false, nil},
		{"jsonpath on an extension", []api.KeptnAction{action("a", false, onPath("test", "$.shkeptncontext", "ctx"))}, false, []int{0}},
		{"second event entry", []api.KeptnAction{action("a", false, on("deployment"), onPath("test", "$.source", "s"))}, false, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Match(api.EventRules{APIVersion: "v2", Actions: tt.actions, Multiple: tt.multiple}, typ, doc)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Match() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"HOST": "https://x", "N": "3"}
	tests := []struct{ in, want string }{
		{"--host=$(HOST)", "--host=https://x"},
		{"$(N)$(N)", "33"},
		{"$$(HOST)", "$(HOST)"},
		{"$(UNKNOWN)", "$(UNKNOWN)"},
		{"$(HOST", "$(HOST"},
		{"cost $5", "cost $5"},
		{"end$", "end$"},
	}
	for _, tt := range tests {
		if got := expand(tt.in, vars); got != tt.want {
			t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStepName(t *testing.T) {
	tests := []struct {
		j    int
		name string
		want string
	}{
		{0, "Greet the world", "1-greet-the-world"},
		{1, "Run locust smoke tests!", "2-run-locust-smoke-tests"},
		{2, "", "3"},
		{9, "  ---  ", "10"},
		{0, "a very long task name that goes on and on and on past the sixty-three limit", "1-a-very-long-task-name-that-goes-on-and-on-and-on-past-the-six"},
	}
	for _, tt := range tests {
		if got := StepName(tt.j, tt.name); got != tt.want || api.ValidateName(got) != nil {
			t.Errorf("StepName(%d, %q) = %q (valid: %v), want %q", tt.j, tt.name, got, api.ValidateName(got), tt.want)
		}
	}
}

package ui

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

func TestLayout(t *testing.T) {
	step := func(name string, needs ...string) api.GraphStep {
		return api.GraphStep{Name: name, Needs: append([]string{}, needs...)}
	}
	tests := []struct {
		name  string
		steps []api.GraphStep
		// columns is each step's column (depth), rows its row within the column, edges how many are drawn.
		columns, rows map[string]int
		edges         int
	}{
		{"one step", []api.GraphStep{step("a")}, map[string]int{"a": 0}, map[string]int{"a": 0}, 0},
		{"chain", []api.GraphStep{step("a"), step("b", "a"), step("c", "b")},
			map[string]int{"a": 0, "b": 1, "c": 2}, map[string]int{"a": 0, "b": 0, "c": 0}, 2},
		{"diamond", []api.GraphStep{step("a"), step("b", "a"), step("c", "a"), step("d", "b", "c")},
			map[string]int{"a": 0, "b": 1, "c": 1, "d": 2}, map[string]int{"a": 0, "b": 0, "c": 1, "d": 0}, 4},
		{"deepest need decides", []api.GraphStep{step("a"), step("b", "a"), step("c", "a", "b")},
			map[string]int{"a": 0, "b": 1, "c": 2}, map[string]int{"a": 0, "b": 0, "c": 0}, 3},
		{"need defined later", []api.GraphStep{step("b", "a"), step("a")},
			map[string]int{"a": 0, "b": 1}, map[string]int{"a": 0, "b": 0}, 1},
		{"unknown need ignored", []api.GraphStep{step("a", "ghost")}, map[string]int{"a": 0}, map[string]int{"a": 0}, 0},
		{"cycle drawn, not looped", []api.GraphStep{step("a", "b"), step("b", "a")}, nil, nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := layout(api.WorkflowGraph{Steps: tt.steps}, nil)
			if len(g.Nodes) != len(tt.steps) || len(g.Edges) != tt.edges {
				t.Fatalf("layout = %d nodes, %d edges, want %d, %d", len(g.Nodes), len(g.Edges), len(tt.steps), tt.edges)
			}
			for _, n := range g.Nodes {
				if c, ok := tt.columns[n.Name]; ok && n.X != pad+c*(nodeW+gapX) {
					t.Errorf("step %s at x %d, want column %d", n.Name, n.X, c)
				}
				if r, ok := tt.rows[n.Name]; ok && n.Y != pad+r*(nodeH+gapY) {
					t.Errorf("step %s at y %d, want row %d", n.Name, n.Y, r)
				}
				if n.Status != api.StepPending {
					t.Errorf("step %s = %s, want pending without a run", n.Name, n.Status)
				}
			}
		})
	}
}

func TestLayoutStates(t *testing.T) {
	g := layout(api.WorkflowGraph{Steps: []api.GraphStep{{Name: "a", Needs: []string{}}, {Name: strings.Repeat("x", 40), Needs: []string{"a"}}}},
		[]api.StepRun{{Name: "a", Status: api.StepSucceeded, Job: "t-abcde"}})
	if a := g.Nodes[0]; a.Status != api.StepSucceeded || a.Job != "t-abcde" {
		t.Errorf("node a = %+v, want succeeded with its job", a)
	}
	if x := g.Nodes[1]; x.Status != api.StepPending || len([]rune(x.Label)) != maxLabel {
		t.Errorf("node x = %+v, want pending and its label cut to %d", x, maxLabel)
	}
}

// FuzzLayout: whatever graph the API answers (a workflow's names and needs are its author's), layout ends, draws
// every step inside the picture, and an edge only between drawn steps.
func FuzzLayout(f *testing.F) {
	f.Add(`[{"name":"a","needs":[]},{"name":"b","needs":["a"]}]`)
	f.Add(`[{"name":"a","needs":["a"]}]`)
	f.Add(`[{"name":"a","needs":["b"]},{"name":"b","needs":["a"]},{"name":"a","needs":[]}]`)
	f.Fuzz(func(t *testing.T, in string) {
		var steps []api.GraphStep
		if json.Unmarshal([]byte(in), &steps) != nil || len(steps) > 300 {
			return
		}
		g := layout(api.WorkflowGraph{Steps: steps}, nil)
		names := map[string]bool{}
		for _, n := range g.Nodes {
			names[n.Name] = true
			if n.X < 0 || n.Y < 0 || n.X+nodeW > g.Width || n.Y+nodeH > g.Height {
				t.Fatalf("node %q at (%d,%d) outside %dx%d", n.Name, n.X, n.Y, g.Width, g.Height)
			}
		}
		for _, e := range g.Edges {
			if !names[e.From] || !names[e.To] {
				t.Fatalf("edge %q→%q between steps not drawn", e.From, e.To)
			}
		}
	})
}

// FuzzRequestForm: any promise spec.api gives a request form without panicking, its schema valid JSON.
func FuzzRequestForm(f *testing.F) {
	f.Add(`{"spec":{"scope":"Namespaced","versions":[{"name":"v1","schema":{"openAPIV3Schema":{"properties":{"spec":{"type":"object"}}}}}]}}`, "g/v1")
	f.Add(`{"spec":{"versions":[{"name":"v1","schema":null}]}}`, "v1")
	f.Add(`[]`, "")
	f.Fuzz(func(t *testing.T, crdJSON, apiVersion string) {
		p := api.Promise{Spec: api.PromiseSpec{API: json.RawMessage(crdJSON)}}
		p.Status.APIVersion = apiVersion
		_, _, _, schema := requestForm(p)
		if !json.Valid([]byte(schema)) {
			t.Fatalf("requestForm(%q) schema %q is not JSON", crdJSON, schema)
		}
	})
}

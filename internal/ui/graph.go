package ui

import (
	"fmt"

	"github.com/runplane/runplane/api"
)

// The run graph's geometry, in SVG user units: steps in columns by depth (a step one column right of the deepest
// step it needs), in definition order within a column.
const (
	nodeW, nodeH = 176, 44
	gapX, gapY   = 56, 16
	pad          = 8
	maxLabel     = 22
)

// graph is a workflow's DAG laid out for the run page's SVG, and its steps in definition order for the table
// beside it.
type graph struct {
	Width, Height int
	Nodes         []node
	Edges         []edge
}

// node is one step: where it is drawn, and its state when the graph is a run's.
type node struct {
	X, Y   int
	Name   string
	Label  string // Name, shortened to fit the box
	Task   string
	Needs  []string
	Status api.StepStatus
	Job    string
	Msg    string
}

// edge is an arrow from a needed step to the step that needs it, as an SVG path.
type edge struct {
	From, To string
	D        string
}

// layout places g's steps by depth. steps, for a run, gives each its state; a step without one is pending.
func layout(g api.WorkflowGraph, steps []api.StepRun) graph {
	state := map[string]api.StepRun{}
	for _, s := range steps {
		state[s.Name] = s
	}
	needs := map[string][]string{}
	for _, s := range g.Steps {
		needs[s.Name] = s.Needs
	}
	depth := map[string]int{}
	var depthOf func(name string, seen map[string]bool) int
	depthOf = func(name string, seen map[string]bool) int {
		if d, ok := depth[name]; ok {
			return d
		}
		if seen[name] { // the API never answers a cycle; draw one anyway rather than loop
			return 0
		}
		seen[name] = true
		d := 0
		for _, n := range needs[name] {
			if _, known := needs[n]; known {
				d = max(d, depthOf(n, seen)+1)
			}
		}
		depth[name] = d
		return d
	}
	rows := map[int]int{} // steps placed so far in each column
	out := graph{}
	at := map[string]node{}
	for _, s := range g.Steps {
		d := depthOf(s.Name, map[string]bool{})
		n := node{X: pad + d*(nodeW+gapX), Y: pad + rows[d]*(nodeH+gapY), Name: s.Name, Label: s.Name, Task: s.Task,
			Needs: s.Needs, Status: api.StepPending}
		rows[d]++
		if len([]rune(n.Label)) > maxLabel {
			n.Label = string([]rune(n.Label)[:maxLabel-1]) + "…"
		}
		if st, ok := state[s.Name]; ok {
			n.Status, n.Job, n.Msg = st.Status, st.Job, st.Message
		}
		out.Nodes = append(out.Nodes, n)
		at[s.Name] = n
		out.Width = max(out.Width, n.X+nodeW+pad)
		out.Height = max(out.Height, n.Y+nodeH+pad)
	}
	for _, n := range out.Nodes {
		for _, need := range n.Needs {
			from, ok := at[need]
			if !ok {
				continue
			}
			x1, y1 := from.X+nodeW, from.Y+nodeH/2
			x2, y2 := n.X, n.Y+nodeH/2
			mid := (x1 + x2) / 2
			out.Edges = append(out.Edges, edge{From: need, To: n.Name,
				D: fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1, y1, mid, y1, mid, y2, x2-6, y2)})
		}
	}
	return out
}

package api

// WorkflowGraph is a workflow's steps as a graph: each step with the steps it needs (its dependsOn and the steps
// its expressions read: outputs, statuses), in definition order. A run's graph is that of the definition the run
// started with.
type WorkflowGraph struct {
	Workflow string      `json:"workflow"`
	Steps    []GraphStep `json:"steps"`
}

// GraphStep is one node of a WorkflowGraph.
type GraphStep struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Task is the task a task step runs; empty for an inline step.
	Task string `json:"task,omitempty"`
	// Needs are the steps that must be final before this one starts, sorted; [] for a first step.
	Needs []string `json:"needs"`
}

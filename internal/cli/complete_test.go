package cli_test

import (
	"strings"
	"testing"
)

// TestCompletion: the shell completion offers task, runner and workflow names, and job and run ids, from the
// server.
func TestCompletion(t *testing.T) {
	h := newHarness(t, true)
	h.ok("", "apply", "-f", h.manifests())
	job := strings.TrimSpace(h.ok("", "run", "hello", "--wait=0"))
	h.ok("", "apply", "-f", exampleWorkflow)
	run := strings.TrimSpace(h.ok("", "run", "workflow", "release", "--async"))
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"run: tasks and the workflow command", []string{"__complete", "run", ""}, []string{"workflow\tStart a run of a workflow", "fail", "greet", "hello", "slow"}},
		{"run workflow: names", []string{"__complete", "run", "workflow", "r"}, []string{"release"}},
		{"get workflows: names", []string{"__complete", "get", "workflows", ""}, []string{"release"}},
		{"get run: ids", []string{"__complete", "get", "run", "release-"}, []string{run}},
		{"logs run: ids", []string{"__complete", "logs", "run", ""}, []string{run}},
		{"cancel run: ids", []string{"__complete", "cancel", "run", "rel"}, []string{run}},
		{"run: prefix", []string{"__complete", "run", "g"}, []string{"greet"}},
		{"run: one task only", []string{"__complete", "run", "hello", ""}, nil},
		{"logs: jobs", []string{"__complete", "logs", "hello-"}, []string{job}},
		{"get: kinds", []string{"__complete", "get", "ta"}, []string{"tasks"}},
		{"get runner: names", []string{"__complete", "get", "runner", ""}, []string{"scripts"}},
		{"get task: names", []string{"__complete", "get", "tasks", "s"}, []string{"slow"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := h.ok("", tt.args...)
			var got []string
			for _, line := range strings.Split(out, "\n") {
				if line != "" && !strings.HasPrefix(line, ":") {
					got = append(got, line)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("runplane %s = %q, want %q", strings.Join(tt.args, " "), got, tt.want)
			}
		})
	}
}

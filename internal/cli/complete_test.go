package cli_test

import (
	"strings"
	"testing"
)

// TestCompletion: the shell completion offers task, runner and job names from the server.
func TestCompletion(t *testing.T) {
	h := newHarness(t, true)
	h.ok("", "apply", "-f", h.manifests())
	job := strings.TrimSpace(h.ok("", "run", "hello", "--wait=0"))
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"run: tasks", []string{"__complete", "run", ""}, []string{"fail", "greet", "hello", "slow"}},
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

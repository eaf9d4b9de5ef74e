package workflow

import (
	"fmt"

	"github.com/runplane/runplane/api"
)

// Refs looks up what a workflow's steps name, for Validate. The caller implements it over its store; an error
// other than an *api.InvalidError (the store failed) is returned by Validate as it is.
type Refs interface {
	// TaskExists reports whether a task of that name exists.
	TaskExists(name string) (bool, error)
	// RunnerExists reports whether a runner of that name exists.
	RunnerExists(name string) (bool, error)
}

// Validate checks w as saving it requires: everything Compile checks, and that every task and runner its
// steps name exists (refs nil: not looked up). Every error about w is an *api.InvalidError naming the step and
// field, as in `steps[2] "deploy".dependsOn[0]: unknown step "buidl"`.
func Validate(w api.Workflow, refs Refs) error {
	if _, err := Compile(w); err != nil {
		return err
	}
	if refs == nil {
		return nil
	}
	for i, s := range w.Steps {
		label := fmt.Sprintf("steps[%d] %q", i, s.Name)
		if s.Task != "" {
			ok, err := refs.TaskExists(s.Task)
			if err != nil {
				return fmt.Errorf("%s.task: look up %q: %w", label, s.Task, err)
			}
			if !ok {
				return api.Invalidf("%s.task: unknown task %q", label, s.Task)
			}
		}
		if s.Runner != "" {
			ok, err := refs.RunnerExists(s.Runner)
			if err != nil {
				return fmt.Errorf("%s.runner: look up %q: %w", label, s.Runner, err)
			}
			if !ok {
				return api.Invalidf("%s.runner: unknown runner %q", label, s.Runner)
			}
		}
	}
	return nil
}

package workflow

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/runplane/runplane/api"
)

// checkShape checks what a step is: a task step (task, input) or an inline job (an image with command, args or
// script lines; or containers), with bounded timeout and retries.
func (sp *stepPlan) checkShape() error {
	if err := checkTimeout(sp.label+".timeout", sp.Timeout); err != nil {
		return err
	}
	if strings.IndexByte(sp.Description, 0) >= 0 || len(sp.Description) > 4096 {
		return sp.invalid("description", "must hold no NUL byte and at most 4096 bytes")
	}
	if sp.Retries < 0 || sp.Retries > MaxRetries {
		return sp.invalid("retries", "%d is out of range: 0 to %d", sp.Retries, MaxRetries)
	}
	input, err := decodeJSON(sp.Input)
	if err != nil {
		return sp.invalid("input", "not valid JSON: %v", err)
	}
	if len(bytes.TrimSpace(sp.Spec)) > 0 {
		spec, err := decodeJSON(sp.Spec)
		if err != nil {
			return sp.invalid("spec", "not valid JSON: %v", err)
		}
		if _, ok := spec.(map[string]any); !ok && spec != nil {
			return sp.invalid("spec", "must be an object")
		}
	}
	if sp.Runner != "" {
		if err := api.ValidateName(sp.Runner); err != nil {
			return sp.invalid("runner", "%s", err.Error())
		}
	}
	if err := sp.Env.Validate(sp.label); err != nil {
		return err
	}
	inline := []string{}
	if sp.Image != "" {
		inline = append(inline, "image")
	}
	if len(sp.Command) > 0 {
		inline = append(inline, "command")
	}
	if len(sp.Args) > 0 {
		inline = append(inline, "args")
	}
	if len(sp.Containers) > 0 {
		inline = append(inline, "containers")
	}
	// An inline step's job settings, as a task's (an event rule's Keptn task sets them).
	var settings []string
	if len(sp.Files) > 0 {
		settings = append(settings, "files")
	}
	if sp.Resources != nil {
		settings = append(settings, "resources")
	}
	if sp.Kubernetes != nil {
		settings = append(settings, "kubernetes")
	}
	if err := sp.Resources.Validate(); err != nil {
		return api.Invalidf("%s.%v", sp.label, err) // "resources.limits.cpu: ..."
	}
	if err := sp.Kubernetes.Validate(); err != nil {
		return api.Invalidf("%s.%v", sp.label, err)
	}
	switch {
	case sp.Task != "":
		if err := api.ValidateName(sp.Task); err != nil {
			return sp.invalid("task", "%s", err.Error())
		}
		if all := append(inline, settings...); len(all) > 0 {
			return sp.invalid(all[0], "a task step runs its task: it has no %s", strings.Join(all, ", "))
		}
		if sp.Runner != "" {
			return sp.invalid("runner", "a task step runs with its task's runner")
		}
		return nil
	case len(sp.Containers) > 0:
		if len(inline) > 1 || input != nil {
			return sp.invalid("containers", "a step with containers has no image, command, args or input: "+
				"each container has its own")
		}
		return api.ValidateContainers(sp.label+".containers", sp.Containers)
	case sp.Image == "":
		return api.Invalidf("%s: a step needs a task, an image or containers", sp.label)
	}
	if strings.IndexByte(sp.Image, 0) >= 0 {
		return sp.invalid("image", "must not contain NUL bytes")
	}
	for i, s := range append(slices.Clone([]string(sp.Command)), sp.Args...) {
		if strings.IndexByte(s, 0) >= 0 {
			return sp.invalid("command", "argument %d must not contain NUL bytes", i)
		}
	}
	if input == nil {
		return nil
	}
	lines, ok := input.([]any)
	if !ok {
		return sp.invalid("input", "an inline step's input is its script: a list of lines")
	}
	for i, l := range lines {
		if _, ok := l.(string); !ok {
			return sp.invalid(fmt.Sprintf("input[%d]", i), "a script line must be a string")
		}
	}
	if len(sp.Command) > 0 {
		return sp.invalid("input", "a step runs either its script (input) or its command, not both")
	}
	return nil
}

// checkCycles refuses a cycle in the steps' order, naming it.
func (p *Plan) checkCycles(edges map[[2]string]string) error {
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(sp *stepPlan) error
	visit = func(sp *stepPlan) error {
		state[sp.Name] = open
		stack = append(stack, sp.Name)
		for _, d := range sp.deps {
			switch state[d] {
			case open:
				i := slices.Index(stack, d)
				cycle := append(slices.Clone(stack[i:]), d)
				from := p.byName[cycle[0]]
				field := edges[[2]string{cycle[0], cycle[1]}]
				return from.invalid(field, "cycle: %s", strings.Join(cycle, " → "))
			case unseen:
				if err := visit(p.byName[d]); err != nil {
					return err
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[sp.Name] = done
		return nil
	}
	for _, sp := range p.steps {
		if state[sp.Name] == unseen {
			if err := visit(sp); err != nil {
				return err
			}
		}
	}
	return nil
}

package workflow

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/runplane/runplane/api"
)

// Vars are what expressions read. Values are JSON-like Go data (as from decodeJSON: integers int64).
type Vars struct {
	Parameters map[string]any
	// Outputs are each step's outputs by name.
	Outputs map[string]map[string]any
	// Steps are each step's status; steps.<s>.succeeded|failed|skipped read it. A failed step counts as failed
	// only once it has no attempt left (the caller gives its final status).
	Steps map[string]api.StepStatus
	// Secrets are the values of the secrets the step references (Plan.Secrets), and no others.
	Secrets map[string]string
}

// activation is vars as CEL reads them. Every step of the plan has its status and an outputs map.
func (p *Plan) activation(v Vars) map[string]any {
	params := map[string]any{}
	for k, d := range p.defaults {
		params[k] = d
	}
	for k, x := range v.Parameters {
		params[k] = x
	}
	outputs := map[string]any{}
	steps := map[string]any{}
	for _, sp := range p.steps {
		o := map[string]any{}
		for k, x := range v.Outputs[sp.Name] {
			o[k] = x
		}
		outputs[sp.Name] = o
		st := v.Steps[sp.Name]
		steps[sp.Name] = map[string]any{
			"succeeded": st == api.StepSucceeded,
			"failed":    st == api.StepFailed,
			"skipped":   st == api.StepSkipped,
		}
	}
	secrets := map[string]any{}
	for k, s := range v.Secrets {
		secrets[k] = s
	}
	return map[string]any{varParameters: params, varOutputs: outputs, varSteps: steps, varSecrets: secrets}
}

// Resolved is a step's input, env and spec with their templates evaluated.
type Resolved struct {
	Input json.RawMessage
	Env   api.EnvVars
	Spec  json.RawMessage
	// Secrets names the secrets the step references (in its env and spec), sorted.
	Secrets []string
}

// Secrets returns the names of the secrets the step's env and spec reference, sorted: the only ones the caller
// needs to fetch for Resolve. Nil for an unknown step.
func (p *Plan) Secrets(step string) []string {
	if sp := p.byName[step]; sp != nil {
		return append([]string(nil), sp.secrets...)
	}
	return nil
}

// Resolve evaluates the templates of step's input, env and spec over v. An error names the step and field:
// an expression that failed (a missing output, a wrong type, over CostLimit) or a missing secret.
func (p *Plan) Resolve(step string, v Vars) (Resolved, error) {
	sp := p.byName[step]
	if sp == nil {
		return Resolved{}, fmt.Errorf("workflow %s: no step %q", p.def.Name, step)
	}
	act := p.activation(v)
	input, err := sp.resolveInput(act)
	if err != nil {
		return Resolved{}, err
	}
	r := Resolved{Input: input, Secrets: append([]string(nil), sp.secrets...)}
	for i, e := range sp.Env {
		val, err := sp.interpolate(fmt.Sprintf("env[%d] %s", i, e.Name), e.Value, act)
		if err != nil {
			return Resolved{}, err
		}
		s, err := text(val)
		if err != nil {
			return Resolved{}, sp.invalid(fmt.Sprintf("env[%d] %s", i, e.Name), "%v", err)
		}
		if strings.IndexByte(s, 0) >= 0 {
			return Resolved{}, sp.invalid(fmt.Sprintf("env[%d] %s", i, e.Name), "the value holds a NUL byte")
		}
		r.Env = append(r.Env, api.EnvVar{Name: e.Name, Value: s})
	}
	if r.Spec, err = sp.resolveJSON("spec", sp.Spec, act); err != nil {
		return Resolved{}, err
	}
	return r, nil
}

// resolveInput evaluates the templates of the step's input (no secrets: Compile refuses them there).
func (sp *stepPlan) resolveInput(act map[string]any) (json.RawMessage, error) {
	return sp.resolveJSON("input", sp.Input, act)
}

// resolveJSON evaluates every template string in raw.
func (sp *stepPlan) resolveJSON(field string, raw json.RawMessage, act map[string]any) (json.RawMessage, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, sp.invalid(field, "not valid JSON: %v", err)
	}
	var walk func(v any, path string) (any, error)
	walk = func(v any, path string) (any, error) {
		switch v := v.(type) {
		case string:
			return sp.interpolate(path, v, act)
		case []any:
			out := make([]any, len(v))
			for i, x := range v {
				y, err := walk(x, fmt.Sprintf("%s[%d]", path, i))
				if err != nil {
					return nil, err
				}
				out[i] = y
			}
			return out, nil
		case map[string]any:
			out := make(map[string]any, len(v))
			for _, k := range sortedKeys(v) {
				y, err := walk(v[k], path+"."+k)
				if err != nil {
					return nil, err
				}
				out[k] = y
			}
			return out, nil
		}
		return v, nil
	}
	out, err := walk(v, field)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, sp.invalid(field, "%v", err)
	}
	return b, nil
}

// interpolate evaluates one string: its value if it is exactly one expression, else the text with every
// expression's value written in.
func (sp *stepPlan) interpolate(field, s string, act map[string]any) (any, error) {
	c := sp.templates[s]
	if c == nil {
		return s, nil // no template (Compile compiled every one)
	}
	if c.t.single() {
		v, err := c.exprs[0].eval(act)
		if err != nil {
			return nil, sp.invalid(field, "%v", err)
		}
		return v, nil
	}
	var b strings.Builder
	for i, pt := range c.t.parts {
		if c.exprs[i] == nil {
			b.WriteString(pt.lit)
			continue
		}
		v, err := c.exprs[i].eval(act)
		if err != nil {
			return nil, sp.invalid(field, "%v", err)
		}
		t, err := text(v)
		if err != nil {
			return nil, sp.invalid(field, "%v", err)
		}
		b.WriteString(t)
	}
	return b.String(), nil
}

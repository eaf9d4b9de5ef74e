package workflow

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/schema"
)

// Bounds on a definition.
const (
	MaxSteps   = 200
	MaxRetries = 10
	// MaxTimeout bounds a run's and a step's timeout.
	MaxTimeout = 30 * 24 * time.Hour
	// maxWhen bounds a step's when entries.
	maxWhen = 32
)

// Plan is a workflow compiled for its runs: every expression parsed and checked once, the order of its steps
// known (dependsOn and the implicit edges of references to other steps). A Plan is immutable and safe for
// concurrent use; compile a definition once and keep the Plan with it.
type Plan struct {
	def        api.Workflow
	params     *schema.Schema
	paramNames map[string]bool // nil: the schema lists no properties, any name goes
	defaults   map[string]any  // top-level property defaults
	steps      []*stepPlan     // definition order
	byName     map[string]*stepPlan
	triggers   map[string]*triggerPlan
}

// stepPlan is one step compiled.
type stepPlan struct {
	api.Step
	index int
	label string // steps[2] "deploy"
	// deps are the steps that must be final first: dependsOn and those its expressions refer to. Sorted.
	deps []string
	// statusRefs are the steps whose status its when reads: their failure or skip does not skip this step.
	statusRefs map[string]bool
	when       []*expr
	templates  map[string]*compiled // by source string, for input, env and spec
	secrets    []string             // sorted
}

// compiled is a template with its expressions compiled (nil for literal parts).
type compiled struct {
	t     template
	exprs []*expr
}

// Compile checks w without looking anything up (Validate also checks the tasks and runners it names) and
// compiles it. Every error is an *api.InvalidError naming the step and field.
func Compile(w api.Workflow) (*Plan, error) {
	if err := api.ValidateName(w.Name); err != nil {
		return nil, api.Invalidf("name: %s", err.Error())
	}
	if strings.IndexByte(w.Description, 0) >= 0 {
		return nil, api.Invalidf("description: must not contain NUL bytes")
	}
	if err := checkTimeout("timeout", w.Timeout); err != nil {
		return nil, err
	}
	if err := checkTimeout("sync_timeout", w.SyncTimeout); err != nil {
		return nil, err
	}
	if len(w.Steps) == 0 {
		return nil, api.Invalidf("steps: a workflow needs at least one step")
	}
	if len(w.Steps) > MaxSteps {
		return nil, api.Invalidf("steps: %d steps, at most %d", len(w.Steps), MaxSteps)
	}
	p := &Plan{def: w, byName: make(map[string]*stepPlan, len(w.Steps))}
	if err := p.compileParameters(); err != nil {
		return nil, err
	}
	for i, s := range w.Steps {
		label := fmt.Sprintf("steps[%d]", i)
		if err := api.ValidateName(s.Name); err != nil {
			return nil, api.Invalidf("%s.name: %s", label, err.Error())
		}
		if p.byName[s.Name] != nil {
			return nil, api.Invalidf("%s.name: %q is used by steps[%d] too", label, s.Name, p.byName[s.Name].index)
		}
		sp := &stepPlan{Step: s, index: i, label: fmt.Sprintf("%s %q", label, s.Name),
			statusRefs: map[string]bool{}, templates: map[string]*compiled{}}
		p.steps = append(p.steps, sp)
		p.byName[s.Name] = sp
	}
	edges := map[[2]string]string{} // (step, dep) → the field the edge comes from
	for _, sp := range p.steps {
		if err := p.compileStep(sp, edges); err != nil {
			return nil, err
		}
	}
	if err := p.checkCycles(edges); err != nil {
		return nil, err
	}
	if err := p.compileTriggers(); err != nil {
		return nil, err
	}
	return p, nil
}

func checkTimeout(what string, d api.Duration) error {
	if d < 0 || time.Duration(d) > MaxTimeout {
		return api.Invalidf("%s: %s is out of range: 0 (none) to %s", what, time.Duration(d), MaxTimeout)
	}
	return nil
}

// invalid is an error about one field of a step.
func (sp *stepPlan) invalid(field, format string, args ...any) error {
	return api.Invalidf("%s.%s: %s", sp.label, field, fmt.Sprintf(format, args...))
}

// compileParameters compiles the run input's schema and reads its top-level properties.
func (p *Plan) compileParameters() error {
	raw, err := ParametersSchema(p.def.Parameters)
	if err != nil {
		return api.Invalidf("parameters: %v", err)
	}
	p.def.Parameters = raw
	s, err := schema.Compile(raw)
	if err != nil {
		return api.Invalidf("parameters: %v", err)
	}
	p.params = s
	doc, _ := decodeJSON(raw)
	top, _ := doc.(map[string]any)
	props, ok := top["properties"].(map[string]any)
	if !ok {
		return nil
	}
	p.paramNames = map[string]bool{}
	p.defaults = map[string]any{}
	for name, v := range props {
		p.paramNames[name] = true
		if m, ok := v.(map[string]any); ok {
			if d, ok := m["default"]; ok {
				p.defaults[name] = d
			}
		}
	}
	return nil
}

// compileStep checks one step and compiles its expressions, adding its edges.
func (p *Plan) compileStep(sp *stepPlan, edges map[[2]string]string) error {
	if err := sp.checkShape(); err != nil {
		return err
	}
	for i, d := range sp.DependsOn {
		field := fmt.Sprintf("dependsOn[%d]", i)
		switch {
		case d == sp.Name:
			return sp.invalid(field, "a step cannot depend on itself")
		case p.byName[d] == nil:
			return sp.invalid(field, "unknown step %q", d)
		case slices.Contains(sp.DependsOn[:i], d):
			return sp.invalid(field, "%q is listed twice", d)
		}
		edges[[2]string{sp.Name, d}] = "dependsOn"
	}
	if len(sp.When) > maxWhen {
		return sp.invalid("when", "%d entries, at most %d", len(sp.When), maxWhen)
	}
	for i, src := range sp.When {
		field := fmt.Sprintf("when[%d]", i)
		x, err := compileWhen(src)
		if err != nil {
			return sp.invalid(field, "%v", err)
		}
		if err := p.addRefs(sp, field, x.refs, edges); err != nil {
			return err
		}
		sp.when = append(sp.when, x)
	}
	var err error
	each := func(field string, s string) {
		if err == nil {
			err = p.compileTemplate(sp, field, s, edges)
		}
	}
	// An inline step's input is shell script, where ${HOME} and ${x:-y} are the shell's: an expression that does not
	// compile stays text there.
	lenient := sp.Task == ""
	walkStrings(sp.Input, "input", func(field, s string) {
		if err == nil {
			err = p.compileTemplateMode(sp, field, s, edges, lenient)
		}
	})
	for i, e := range sp.Env {
		each(fmt.Sprintf("env[%d] %s", i, e.Name), e.Value)
	}
	walkStrings(sp.Spec, "spec", each)
	if err != nil {
		return err
	}
	deps := map[string]bool{}
	for e := range edges {
		if e[0] == sp.Name {
			deps[e[1]] = true
		}
	}
	sp.deps = sortedKeys(deps)
	slices.Sort(sp.secrets)
	sp.secrets = slices.Compact(sp.secrets)
	return nil
}

// compileWhen compiles one when entry: a bare expression or exactly one ${…}.
func compileWhen(src string) (*expr, error) {
	body := src
	if hasTemplate(src) {
		t, err := parseTemplate(src)
		if err != nil {
			return nil, err
		}
		if !t.single() {
			return nil, fmt.Errorf("%q must be one expression, bare or as ${…}", short(src))
		}
		body = t.parts[0].expr
	}
	if strings.TrimSpace(body) == "" {
		return nil, fmt.Errorf("empty condition")
	}
	x, err := compileExpr(body)
	if err != nil {
		return nil, err
	}
	if !x.boolish {
		return nil, fmt.Errorf("expression %q is not a boolean", short(body))
	}
	return x, nil
}

// compileTemplate compiles the templates of one string of a step's input, env or spec.
func (p *Plan) compileTemplate(sp *stepPlan, field, s string, edges map[[2]string]string) error {
	return p.compileTemplateMode(sp, field, s, edges, false)
}

// compileTemplateMode is compileTemplate where, if lenient, an expression that does not compile is text.
func (p *Plan) compileTemplateMode(sp *stepPlan, field, s string, edges map[[2]string]string, lenient bool) error {
	if !hasTemplate(s) || sp.templates[s] != nil {
		if c := sp.templates[s]; c != nil {
			for _, x := range c.exprs {
				if x != nil {
					if err := p.addRefs(sp, field, x.refs, edges); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	t, err := parseTemplate(s)
	if err != nil && lenient {
		return nil
	}
	if err != nil {
		return sp.invalid(field, "%v", err)
	}
	c := &compiled{t: t, exprs: make([]*expr, len(t.parts))}
	for i, pt := range t.parts {
		if pt.expr == "" {
			continue
		}
		x, err := compileExpr(pt.expr)
		if err != nil && lenient {
			c.t.parts[i] = part{lit: pt.raw}
			continue
		}
		if err != nil {
			return sp.invalid(field, "%v", err)
		}
		if err := p.addRefs(sp, field, x.refs, edges); err != nil {
			return err
		}
		c.exprs[i] = x
	}
	sp.templates[s] = c
	return nil
}

// addRefs checks the references of one expression of sp's field and records the edges and secrets they mean.
func (p *Plan) addRefs(sp *stepPlan, field string, refs []ref_, edges map[[2]string]string) error {
	for _, r := range refs {
		switch r.root {
		case varParameters:
			if p.paramNames != nil && len(r.keys) > 0 && !p.paramNames[r.keys[0]] {
				return sp.invalid(field, "unknown parameter %q: the parameters schema has %s", r.keys[0],
					quoteList(sortedKeys(p.paramNames)))
			}
		case varOutputs, varSteps:
			step := r.keys[0]
			switch {
			case step == sp.Name:
				return sp.invalid(field, "a step cannot read its own %s", r.root)
			case p.byName[step] == nil:
				return sp.invalid(field, "unknown step %q in %s", step, r.root)
			}
			if r.root == varSteps {
				if !slices.Contains(statusFields, r.keys[1]) {
					return sp.invalid(field, "steps.%s.%s: a step's status is one of %s", step, r.keys[1],
						strings.Join(statusFields, ", "))
				}
				sp.statusRefs[step] = true
			}
			if _, ok := edges[[2]string{sp.Name, step}]; !ok {
				edges[[2]string{sp.Name, step}] = field
			}
		case varSecrets:
			if !strings.HasPrefix(field, "env[") && field != "spec" && !strings.HasPrefix(field, "spec.") &&
				!strings.HasPrefix(field, "spec[") {
				return sp.invalid(field, "secrets may be used only in a step's env and spec")
			}
			sp.secrets = append(sp.secrets, r.keys[0])
		case varEvent:
			return sp.invalid(field, "event is a trigger's payload: only a trigger's binding and when read it")
		}
	}
	return nil
}

func quoteList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// walkStrings calls f for every string in raw (JSON), with its path under root.
func walkStrings(raw json.RawMessage, root string, f func(path, s string)) {
	v, err := decodeJSON(raw)
	if err != nil {
		return // checkShape refused it
	}
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch v := v.(type) {
		case string:
			f(path, v)
		case []any:
			for i, x := range v {
				walk(x, fmt.Sprintf("%s[%d]", path, i))
			}
		case map[string]any:
			for _, k := range sortedKeys(v) {
				walk(v[k], path+"."+k)
			}
		}
	}
	walk(v, root)
}

// Definition returns the workflow the plan was compiled from, its parameters as a JSON Schema.
func (p *Plan) Definition() api.Workflow { return p.def }

// Dependencies returns the steps that must be final before step starts: its dependsOn and the steps its
// expressions read (outputs, statuses), sorted. Nil for an unknown step.
func (p *Plan) Dependencies(step string) []string {
	if sp := p.byName[step]; sp != nil {
		return append([]string(nil), sp.deps...)
	}
	return nil
}

// Parameters checks a run's input against the workflow's parameters schema (an *api.InvalidError listing the
// failing paths) and returns it with the defaults of missing top-level parameters filled in. Empty input is {}.
func (p *Plan) Parameters(raw json.RawMessage) (json.RawMessage, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, api.Invalidf("parameters: not valid JSON: %v", err)
	}
	if v == nil {
		v = map[string]any{}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, api.Invalidf("parameters: must be an object")
	}
	for k, d := range p.defaults {
		if _, ok := m[k]; !ok {
			m[k] = d
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, api.Invalidf("parameters: %v", err)
	}
	if err := p.params.Validate(b); err != nil {
		return nil, err
	}
	return b, nil
}

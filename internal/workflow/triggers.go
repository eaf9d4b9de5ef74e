package workflow

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/runplane/runplane/api"
)

// maxTriggers bounds a workflow's triggers.
const maxTriggers = 32

// triggerFields are the fields of a trigger (object is the server's, accepted so an exported workflow applies).
var triggerFields = []string{"name", "source", "binding", "when", "object"}

// triggerPlan is one trigger compiled: its when entries and its binding's templates.
type triggerPlan struct {
	api.WorkflowTrigger
	// sp holds the binding's compiled templates and labels its errors (triggers[0] "push").
	sp   *stepPlan
	when []*expr
}

// inTrigger reports whether path is inside a trigger, where !Data may be used.
func inTrigger(path string) bool {
	return strings.HasPrefix(path, "triggers[") || strings.HasPrefix(path, "spec.triggers[")
}

// parseTrigger reads one trigger. at is its path.
func parseTrigger(c *converter, v any, at string) (api.WorkflowTrigger, error) {
	var t api.WorkflowTrigger
	m, ok := v.(map[string]any)
	if !ok {
		return t, c.invalid(at, "a trigger must be a mapping")
	}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(triggerFields, k) {
			return t, c.invalid(join(at, k), "unknown field %q", k)
		}
	}
	for _, k := range sortedKeys(m) {
		if err := decodeStrict(map[string]any{k: m[k]}, &t); err != nil {
			path := join(at, k)
			if c.lines[path] == 0 {
				path = at
			}
			return t, c.invalid(path, "%v", err)
		}
	}
	return t, nil
}

// dataPath turns Relay's !Data query (a path into the payload: report.host, assignments[0].id, ['a b'].c) into a
// CEL expression over event.
func dataPath(q string) (string, error) {
	var b strings.Builder
	b.WriteString(varEvent)
	if strings.TrimSpace(q) == "" {
		return "", fmt.Errorf("empty query")
	}
	for i := 0; i < len(q); {
		switch c := q[i]; {
		case c == '.' && i > 0:
			i++
			if i == len(q) || q[i] == '.' || q[i] == '[' {
				return "", fmt.Errorf("a name must follow '.'")
			}
		case c == '[':
			end := strings.IndexByte(q[i:], ']')
			if end < 0 {
				return "", fmt.Errorf("'[' without ']'")
			}
			in := q[i+1 : i+end]
			if n, err := strconv.Atoi(in); err == nil && n >= 0 {
				b.WriteString("[" + strconv.Itoa(n) + "]")
			} else if len(in) >= 2 && (in[0] == '\'' || in[0] == '"') && in[len(in)-1] == in[0] {
				b.WriteString("[" + celString(in[1:len(in)-1]) + "]")
			} else {
				return "", fmt.Errorf("[%s]: want an index or a quoted name", in)
			}
			i += end + 1
		default:
			j := i
			for j < len(q) && q[j] != '.' && q[j] != '[' && q[j] != ']' {
				j++
			}
			if j == i {
				return "", fmt.Errorf("unexpected %q at %d", q[i], i)
			}
			b.WriteString(celKey(q[i:j]))
			i = j
		}
	}
	return b.String(), nil
}

// compileTriggers checks the workflow's triggers and compiles their when entries and bindings. Only what needs
// no server is checked here: the server parses schedules and checks who may save them.
func (p *Plan) compileTriggers() error {
	ts := p.def.Triggers
	if len(ts) > maxTriggers {
		return api.Invalidf("triggers: %d triggers, at most %d", len(ts), maxTriggers)
	}
	p.triggers = map[string]*triggerPlan{}
	for i, t := range ts {
		label := fmt.Sprintf("triggers[%d]", i)
		if err := api.ValidateName(t.Name); err != nil {
			return api.Invalidf("%s.name: %s", label, err.Error())
		}
		if p.triggers[t.Name] != nil {
			return api.Invalidf("%s.name: %q is used by another trigger too", label, t.Name)
		}
		label += fmt.Sprintf(" %q", t.Name)
		if err := api.ValidateName(api.TriggerObjectName(p.def.Name, t.Name)); err != nil {
			return api.Invalidf("%s.name: the workflow's name, a dot and the trigger's name make %s", label,
				strings.TrimPrefix(err.Error(), "name "))
		}
		tp := &triggerPlan{WorkflowTrigger: t, sp: &stepPlan{label: label, templates: map[string]*compiled{}}}
		if err := tp.checkSource(); err != nil {
			return err
		}
		if len(t.When) > maxWhen {
			return tp.sp.invalid("when", "%d entries, at most %d", len(t.When), maxWhen)
		}
		for j, src := range t.When {
			x, err := compileWhen(src)
			if err == nil {
				err = eventOnly(x)
			}
			if err != nil {
				return tp.sp.invalid(fmt.Sprintf("when[%d]", j), "%v", err)
			}
			tp.when = append(tp.when, x)
		}
		if t.Binding != nil {
			for _, name := range sortedKeys(t.Binding.Parameters) {
				field := "binding.parameters." + name
				if p.paramNames != nil && !p.paramNames[name] {
					return tp.sp.invalid(field, "unknown parameter %q: the parameters schema has %s", name,
						quoteList(sortedKeys(p.paramNames)))
				}
				raw := t.Binding.Parameters[name]
				if _, err := decodeJSON(raw); err != nil {
					return tp.sp.invalid(field, "not valid JSON: %v", err)
				}
				var err error
				walkStrings(raw, field, func(path, s string) {
					if err == nil {
						err = tp.compileTemplate(path, s)
					}
				})
				if err != nil {
					return err
				}
			}
		}
		p.triggers[t.Name] = tp
	}
	return nil
}

// checkSource checks a trigger's source: a known type and the fields of that type only.
func (tp *triggerPlan) checkSource() error {
	s := tp.Source
	has := map[string]bool{"schedule": s.Schedule != "", "timezone": s.Timezone != "", "image": s.Image != "",
		"scheme": s.Scheme != "", "schema": len(s.Schema) > 0, "event": s.Event != "", "eventSource": s.EventSource != ""}
	var allowed []string
	switch s.Type {
	case api.TriggerSourceSchedule:
		allowed = []string{"schedule", "timezone"}
		if s.Schedule == "" {
			return tp.sp.invalid("source.schedule", "a schedule trigger needs a schedule (cron syntax)")
		}
		if len(s.Schedule) > api.MaxScheduleLength {
			return tp.sp.invalid("source.schedule", "longer than %d characters", api.MaxScheduleLength)
		}
	case api.TriggerSourceWebhook:
		allowed = []string{"image", "scheme"}
	case api.TriggerSourcePush:
		allowed = []string{"scheme", "schema"}
	case api.TriggerSourceEvent:
		allowed = []string{"event", "eventSource"}
		if s.Event == "" {
			return tp.sp.invalid("source.event", "an event trigger needs event: a regular expression on the event's type")
		}
		if len(s.Event) > 1024 {
			return tp.sp.invalid("source.event", "longer than 1024 characters")
		}
		if _, err := regexp.Compile(s.Event); err != nil {
			return tp.sp.invalid("source.event", "%v", err)
		}
	case "":
		return tp.sp.invalid("source.type", "required: schedule, webhook, push or event")
	default:
		return tp.sp.invalid("source.type", "unknown trigger type %q: want schedule, webhook, push or event", short(s.Type))
	}
	for _, f := range sortedKeys(has) {
		if has[f] && !slices.Contains(allowed, f) {
			return tp.sp.invalid("source."+f, "a %s trigger has no %s", s.Type, f)
		}
	}
	if s.Scheme != "" && !slices.Contains(api.WebhookSchemes, s.Scheme) {
		return tp.sp.invalid("source.scheme", "unknown scheme %q", short(string(s.Scheme)))
	}
	for _, f := range []string{s.Image, s.Timezone, s.EventSource} {
		if strings.IndexByte(f, 0) >= 0 || len(f) > 1024 {
			return tp.sp.invalid("source", "a field holds a NUL byte or is longer than 1024 characters")
		}
	}
	return nil
}

// compileTemplate compiles one string of the trigger's binding.
func (tp *triggerPlan) compileTemplate(field, s string) error {
	if !hasTemplate(s) || tp.sp.templates[s] != nil {
		return nil
	}
	t, err := parseTemplate(s)
	if err != nil {
		return tp.sp.invalid(field, "%v", err)
	}
	c := &compiled{t: t, exprs: make([]*expr, len(t.parts))}
	for i, pt := range t.parts {
		if pt.expr == "" {
			continue
		}
		x, err := compileExpr(pt.expr)
		if err == nil {
			err = eventOnly(x)
		}
		if err != nil {
			return tp.sp.invalid(field, "%v", err)
		}
		c.exprs[i] = x
	}
	tp.sp.templates[s] = c
	return nil
}

// eventOnly refuses an expression of a trigger that reads anything but the payload.
func eventOnly(x *expr) error {
	for _, r := range x.refs {
		if r.root != varEvent {
			return fmt.Errorf("a trigger reads only its payload (event, or !Data), not %s", r.root)
		}
	}
	return nil
}

// Bound is what a trigger's firing makes of its payload.
type Bound struct {
	// Parameters are the run's parameters (a JSON object), nil when the trigger binds none.
	Parameters json.RawMessage
	// Skip, when not empty, says which when entry was false: the run must not start.
	Skip string
}

// Bind evaluates trigger's when and binding over payload (JSON; empty reads as {}): the run's parameters, or why
// it must not start. An error (an expression that fails over this payload: a missing key, a wrong type) is an
// *api.InvalidError naming the trigger and field; the firing starts nothing.
func (p *Plan) Bind(trigger string, payload []byte) (Bound, error) {
	tp := p.triggers[trigger]
	if tp == nil {
		return Bound{}, api.Invalidf("workflow %s has no trigger %q", p.def.Name, trigger)
	}
	data, err := decodeJSON(payload)
	if err != nil {
		return Bound{}, api.Invalidf("%s: the payload is not JSON: %v", tp.sp.label, err)
	}
	if data == nil {
		data = map[string]any{}
	}
	act := map[string]any{varEvent: data}
	for i, x := range tp.when {
		ok, err := x.evalBool(act)
		if err != nil {
			return Bound{}, tp.sp.invalid(fmt.Sprintf("when[%d]", i), "%v", err)
		}
		if !ok {
			return Bound{Skip: fmt.Sprintf("%s.when[%d] is false: %s", tp.sp.label, i, short(tp.When[i]))}, nil
		}
	}
	if tp.Binding == nil || len(tp.Binding.Parameters) == 0 {
		return Bound{}, nil
	}
	params := map[string]json.RawMessage{}
	for _, name := range sortedKeys(tp.Binding.Parameters) {
		v, err := tp.sp.resolveJSON("binding.parameters."+name, tp.Binding.Parameters[name], act)
		if err != nil {
			return Bound{}, err
		}
		params[name] = v
	}
	b, err := json.Marshal(params)
	if err != nil {
		return Bound{}, tp.sp.invalid("binding", "%v", err)
	}
	return Bound{Parameters: b}, nil
}

// Trigger returns the workflow's trigger of that name.
func (p *Plan) Trigger(name string) (api.WorkflowTrigger, bool) {
	if tp := p.triggers[name]; tp != nil {
		return tp.WorkflowTrigger, true
	}
	return api.WorkflowTrigger{}, false
}

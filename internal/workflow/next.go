package workflow

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/runplane/runplane/api"
)

// State is a run as the advancer stored it: all Next needs to decide.
type State struct {
	Status api.RunStatus
	// Parameters are the run's input (Plan.Parameters filled its defaults; Next fills them again).
	Parameters json.RawMessage
	// Steps are the steps' states by name; a step absent is pending with no attempt.
	Steps map[string]StepState
	// CancelRequested: the run is to end cancelled. DeadlinePassed: the run's timeout has passed (it ends failed).
	CancelRequested bool
	DeadlinePassed  bool
}

// StepState is one step of a stored run.
type StepState struct {
	Status api.StepStatus // "" reads as pending
	// Attempt is the latest attempt submitted, from 1; 0: never submitted.
	Attempt int
	Outputs map[string]json.RawMessage
}

// Decision is what to do to advance a run. Applying it and calling Next again on the new state gives no new
// action until a running step's job ends. Every list is sorted by step name.
type Decision struct {
	// Submit lists the steps to start now: record each as running at its Attempt, then create its job with an
	// idempotency key derived from (run, step, attempt).
	Submit []Submit
	// Skip lists pending steps to mark skipped; Message says why (a false when entry, or a dependency that
	// failed or was skipped).
	Skip []Mark
	// Fail lists steps to mark failed without a job: their when or input could not be evaluated. Mark.Attempt
	// is to be recorded: it leaves no retry, since the same state evaluates the same way.
	Fail []Mark
	// Cancel lists running steps whose jobs to cancel (the run is being cancelled or timed out); their jobs'
	// ends record their final statuses.
	Cancel []string
	// Cancelled lists pending steps to mark cancelled.
	Cancelled []Mark
	// Status is the run's status after this decision (running once a step started; final when every step is).
	Status api.RunStatus
	// Reason says why a finished run failed or was cancelled.
	Reason string
}

// Submit is one step to start.
type Submit struct {
	Step    string
	Attempt int
	// Input is the step's input with its templates evaluated (never holding a secret).
	Input json.RawMessage
	// Secrets are the secrets its env and spec need: fetch them, and Plan.Resolve gives its env and spec.
	Secrets []string
}

// Mark sets a step's status with a message.
type Mark struct {
	Step    string
	Attempt int
	Message string
}

// Empty reports whether d asks for nothing: no step to change, and the run's status as it was.
func (d Decision) Empty(was api.RunStatus) bool {
	return len(d.Submit)+len(d.Skip)+len(d.Fail)+len(d.Cancel)+len(d.Cancelled) == 0 && d.Status == was
}

// Next decides how to advance a run of def in state. It compiles def each time: the engine should keep a Plan
// per definition and call its Next. A definition that does not compile (it was stored by an older version)
// ends the run failed.
func Next(def api.Workflow, state State) Decision {
	p, err := Compile(def)
	if err != nil {
		d := Decision{Status: api.RunFailed, Reason: "the workflow definition is invalid: " + err.Error()}
		for _, name := range sortedKeys(state.Steps) {
			if state.Steps[name].Status == api.StepRunning {
				d.Cancel = append(d.Cancel, name)
			}
		}
		if len(d.Cancel) > 0 {
			d.Status = state.Status
		}
		return d
	}
	return p.Next(state)
}

// cur is the working copy of one step's state while Next decides.
type cur struct {
	status  api.StepStatus
	attempt int
}

// Next decides how to advance a run in state. It is deterministic, total (never panics on any state) and pure.
func (p *Plan) Next(state State) Decision {
	steps := make(map[string]*cur, len(p.steps))
	for _, sp := range p.steps {
		st := state.Steps[sp.Name]
		c := &cur{status: st.Status, attempt: max(st.Attempt, 0)}
		if !c.status.Final() && c.status != api.StepRunning {
			c.status = api.StepPending
		}
		steps[sp.Name] = c
	}
	var d Decision
	if state.CancelRequested || state.DeadlinePassed || state.Status.Final() {
		return p.stop(state, steps)
	}
	vars := p.stateVars(state)
	for changed := true; changed; {
		changed = false
		for _, sp := range p.steps {
			c := steps[sp.Name]
			if c.status != api.StepPending || !p.depsFinal(sp, steps) {
				continue
			}
			changed = true
			if msg := p.blocked(sp, steps); msg != "" {
				c.status = api.StepSkipped
				d.Skip = append(d.Skip, Mark{Step: sp.Name, Attempt: c.attempt, Message: msg})
				continue
			}
			p.start(sp, c, vars, steps, &d)
		}
	}
	for _, sp := range p.steps { // retries
		if c := steps[sp.Name]; c.status == api.StepFailed && c.attempt > 0 && c.attempt <= sp.Retries {
			p.start(sp, c, vars, steps, &d)
		}
	}
	d.Status, d.Reason = p.runStatus(state.Status, steps, len(d.Submit) > 0)
	d.sort()
	return d
}

// start evaluates sp's when and input and submits it, or marks it skipped or failed.
func (p *Plan) start(sp *stepPlan, c *cur, vars Vars, steps map[string]*cur, d *Decision) {
	vars.Steps = make(map[string]api.StepStatus, len(steps))
	for name, s := range steps {
		if p.finalFor(name, s) {
			vars.Steps[name] = s.status
		}
	}
	act := p.activation(vars)
	fail := func(msg string) {
		c.status, c.attempt = api.StepFailed, max(sp.Retries+1, c.attempt)
		d.Fail = append(d.Fail, Mark{Step: sp.Name, Attempt: c.attempt, Message: msg})
	}
	if c.attempt == 0 {
		for i, x := range sp.when {
			ok, err := x.evalBool(act)
			if err != nil {
				fail(fmt.Sprintf("when[%d]: %v", i, err))
				return
			}
			if !ok {
				c.status = api.StepSkipped
				d.Skip = append(d.Skip, Mark{Step: sp.Name, Message: fmt.Sprintf("when[%d] is false: %s", i, short(sp.When[i]))})
				return
			}
		}
	}
	input, err := sp.resolveInput(act)
	if err != nil {
		fail(strings.TrimPrefix(err.Error(), sp.label+"."))
		return
	}
	c.status, c.attempt = api.StepRunning, c.attempt+1
	d.Submit = append(d.Submit, Submit{Step: sp.Name, Attempt: c.attempt, Input: input,
		Secrets: append([]string(nil), sp.secrets...)})
}

// stateVars reads the parameters and outputs of state, skipping what does not decode (an expression reading
// it then fails with a message naming it).
func (p *Plan) stateVars(state State) Vars {
	v := Vars{Parameters: map[string]any{}, Outputs: map[string]map[string]any{}}
	if x, err := decodeJSON(state.Parameters); err == nil {
		if m, ok := x.(map[string]any); ok {
			v.Parameters = m
		}
	}
	for _, sp := range p.steps {
		out := map[string]any{}
		for k, raw := range state.Steps[sp.Name].Outputs {
			if x, err := decodeJSON(raw); err == nil {
				out[k] = x
			}
		}
		v.Outputs[sp.Name] = out
	}
	return v
}

// finalFor reports whether a step is final for its dependents: a failed step with an attempt left is not.
func (p *Plan) finalFor(name string, c *cur) bool {
	if c.status == api.StepFailed {
		sp := p.byName[name]
		return c.attempt == 0 || c.attempt > sp.Retries
	}
	return c.status.Final()
}

func (p *Plan) depsFinal(sp *stepPlan, steps map[string]*cur) bool {
	for _, dep := range sp.deps {
		if !p.finalFor(dep, steps[dep]) {
			return false
		}
	}
	return true
}

// blocked says why sp is skipped for its dependencies: one that did not succeed, unless sp's when reads its
// status (run on failure, as in Relay). Empty: not blocked.
func (p *Plan) blocked(sp *stepPlan, steps map[string]*cur) string {
	for _, dep := range sp.deps {
		st := steps[dep].status
		if st == api.StepSucceeded || sp.statusRefs[dep] {
			continue
		}
		switch st {
		case api.StepSkipped:
			return fmt.Sprintf("dependency %q was skipped", dep)
		case api.StepCancelled:
			return fmt.Sprintf("dependency %q was cancelled", dep)
		}
		return fmt.Sprintf("dependency %q failed", dep)
	}
	return ""
}

// stop cancels a run: running steps' jobs are cancelled, pending steps marked cancelled; the run ends when
// nothing runs. A run that has ended only has any step still running cancelled.
func (p *Plan) stop(state State, steps map[string]*cur) Decision {
	var d Decision
	running := false
	for _, sp := range p.steps {
		c := steps[sp.Name]
		switch {
		case c.status == api.StepRunning:
			d.Cancel = append(d.Cancel, sp.Name)
			running = true
		case !p.finalFor(sp.Name, c) && !state.Status.Final():
			msg := "the run was cancelled"
			if !state.CancelRequested {
				msg = "the run timed out"
			}
			d.Cancelled = append(d.Cancelled, Mark{Step: sp.Name, Attempt: c.attempt, Message: msg})
		}
	}
	switch {
	case state.Status.Final():
		d.Status = state.Status
	case running:
		d.Status = api.RunRunning
	case state.CancelRequested:
		d.Status, d.Reason = api.RunCancelled, "cancelled"
	default:
		d.Status, d.Reason = api.RunFailed, "the run timed out"
	}
	d.sort()
	return d
}

// runStatus is the run's status once steps are as decided.
func (p *Plan) runStatus(was api.RunStatus, steps map[string]*cur, submitted bool) (api.RunStatus, string) {
	if was.Final() {
		return was, ""
	}
	var failed, cancelled []string
	done := true
	for _, sp := range p.steps {
		c := steps[sp.Name]
		submitted = submitted || c.status == api.StepRunning
		done = done && p.finalFor(sp.Name, c)
		switch c.status {
		case api.StepFailed:
			failed = append(failed, sp.Name)
		case api.StepCancelled:
			cancelled = append(cancelled, sp.Name)
		}
	}
	switch {
	case !done && (submitted || was == api.RunRunning):
		return api.RunRunning, ""
	case !done:
		return orQueued(was), ""
	case len(failed) > 0:
		return api.RunFailed, "failed: " + quoteList(failed)
	case len(cancelled) > 0:
		return api.RunCancelled, "cancelled: " + quoteList(cancelled)
	}
	return api.RunSucceeded, ""
}

func orQueued(s api.RunStatus) api.RunStatus {
	if s == "" {
		return api.RunQueued
	}
	return s
}

func (d *Decision) sort() {
	byStep := func(a, b Mark) int { return strings.Compare(a.Step, b.Step) }
	slices.SortFunc(d.Submit, func(a, b Submit) int { return strings.Compare(a.Step, b.Step) })
	slices.SortFunc(d.Skip, byStep)
	slices.SortFunc(d.Fail, byStep)
	slices.SortFunc(d.Cancelled, byStep)
	slices.Sort(d.Cancel)
}

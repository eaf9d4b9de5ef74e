package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/workflow"
)

// submit creates the job of one attempt of a step and returns its id. Its idempotency key is derived from (run,
// step, attempt), so a decision applied twice (by two servers, or again after a conflict) creates one job.
func (e *Engine) submit(ctx context.Context, run store.Run, sub workflow.Submit) (string, error) {
	req, err := stepRequest(run, sub)
	if err != nil {
		return "", err
	}
	s, err := e.jobs.Submit(ctx, req)
	if err != nil {
		return "", err
	}
	return s.ID, nil
}

// stepRequest is the submission of the job of one attempt of a step of run.
func stepRequest(run store.Run, sub workflow.Submit) (jobs.Request, error) {
	def, ok := stepOf(run.Definition, sub.Step)
	if !ok {
		return jobs.Request{}, api.Invalidf("step %q is not in the run's workflow", sub.Step)
	}
	req := jobs.Request{
		Owner: run.Owner,
		// Step keys live in a scope no user has: a user's own Idempotency-Key can never name a step's job.
		OwnerID:        "run:" + run.ID,
		Input:          sub.Input,
		IdempotencyKey: stepKey(run.ID, sub.Step, sub.Attempt),
		Run:            run.ID,
		Step:           sub.Step,
	}
	if def.Task != "" {
		req.Task = def.Task
	} else {
		def.Input = sub.Input // its script lines, templates resolved
		t, err := inlineTask(def)
		if err != nil {
			return jobs.Request{}, err
		}
		req.Inline = &t
		req.Input = nil // an inline step's input is its script, not EXTRA_VARS
		req.InputFiles = def.Files
	}
	return req, nil
}

// stepKey is the idempotency key of one attempt of a step of a run.
func stepKey(run, step string, attempt int) string {
	return fmt.Sprintf("run/%s/%s/%d", run, step, attempt)
}

// stepOf returns the step of w named name.
func stepOf(w api.Workflow, name string) (api.Step, bool) {
	for _, s := range w.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return api.Step{}, false
}

// inlineTask is the anonymous task an inline step runs: its containers, or one container of its image with its
// command and args, or its input lines as a shell script (Relay's form). Its env is not here: it may hold
// secrets and is given to the job when it starts (StepEnv).
func inlineTask(s api.Step) (api.Task, error) {
	t := api.Task{Name: s.Name, Runner: s.Runner, Timeout: s.Timeout, Containers: s.Containers, Resources: s.Resources,
		Kubernetes: s.Kubernetes}
	if len(t.Containers) == 0 {
		c := api.Container{Name: s.Name, Image: s.Image, Command: s.Command, Args: s.Args}
		if len(s.Input) > 0 && string(s.Input) != "null" {
			var lines []string
			if err := json.Unmarshal(s.Input, &lines); err != nil {
				return api.Task{}, api.Invalidf("steps %q.input: an inline step's input is a list of script lines", s.Name)
			}
			if len(c.Command) > 0 {
				return api.Task{}, api.Invalidf("steps %q: give input lines or a command, not both", s.Name)
			}
			c.Command = []string{"sh", "-c", strings.Join(lines, "\n")}
		}
		t.Containers = []api.Container{c}
	}
	if err := t.Validate(); err != nil {
		return api.Task{}, err
	}
	return t, nil
}

// StepEnv gives the job of a step what it needs when it starts: its env with templates resolved (values holding
// secrets as secrets), the metadata API's URL, and its token. It is the job engine's Options.StepEnv.
func (e *Engine) StepEnv(ctx context.Context, job store.Job) (jobs.Step, error) {
	// The run as this engine last stored it, when it records job as its step's running job: the decision that
	// submitted the job was stored, and what happened to the run since (another server's cancel) reaches the job
	// as it would a moment after it started. Else the run is read.
	run, ok := e.states.take(job.Run)
	if !ok || !records(run, job) {
		var err error
		if run, err = e.getRun(ctx, job.Run); err != nil {
			return jobs.Step{}, fmt.Errorf("run %s: %w", job.Run, err)
		}
	}
	// A job created for a decision that was never stored (its server lost the race to one that cancelled or
	// ended the run) is cancelled, but it may be claimed first: it must not start.
	switch {
	case run.Status.Final():
		return jobs.Step{}, fmt.Errorf("run %s already ended %s: step %s does not start", run.ID, run.Status, job.Step)
	case run.CancelRequested:
		return jobs.Step{}, fmt.Errorf("run %s is being cancelled: step %s does not start", run.ID, job.Step)
	}
	// The job's key names its attempt. The run's state may not have recorded it yet: a job can start (and end)
	// before the advance that submitted it stored the run, which then still names the attempt before.
	attempt := attemptOfKey(job.IdempotencyKey)
	if attempt == 0 {
		for _, s := range run.Steps {
			if s.Name == job.Step {
				attempt = s.Attempt
			}
		}
	}
	resolved, sensitive, err := e.resolve(ctx, run, job.Step, !firstJob(run, job))
	if err != nil {
		return jobs.Step{}, err
	}
	var timeout time.Duration
	discard := false
	if def, ok := stepOf(run.Definition, job.Step); ok {
		timeout = time.Duration(def.Timeout) // an inline step's is its job's task's already; a task step's is here
		discard = def.DiscardFiles
	}
	var env []string
	secrets := map[string]string{}
	for _, v := range resolved.Env {
		if len(resolved.Secrets) > 0 || holdsAny(v.Value, sensitive) {
			// Which values came from a secret is not tracked per variable: every value of a step that reads
			// secrets, and every one holding a sensitive output, is treated as a secret (masked in the log, never
			// in a pod spec).
			secrets[v.Name] = v.Value
		} else {
			env = append(env, v.Name+"="+v.Value)
		}
	}
	env = append(env, api.EnvRun+"="+run.ID, api.EnvStep+"="+job.Step, fmt.Sprintf("%s=%d", api.EnvAttempt, attempt))
	if e.opts.MetadataURL != "" {
		env = append(env, api.EnvMetadataURL+"="+e.opts.MetadataURL, api.EnvRelayURL+"="+e.opts.MetadataURL)
	}
	if e.opts.IssueToken != nil {
		expires := e.opts.Now().Add(tokenLife(run.Definition, job.Step))
		tok, err := e.opts.IssueToken(StepScope{Run: run.ID, Step: job.Step, Attempt: attempt, Job: job.ID}, expires)
		if err != nil {
			return jobs.Step{}, err
		}
		secrets[api.EnvStepToken] = tok
	}
	return jobs.Step{Env: env, Secrets: secrets, Masks: sensitive, Timeout: timeout, DiscardFiles: discard}, nil
}

// firstJob reports whether job is the first job of run to start, so that the run can have no values
// yet: only a step's running job sets values (through the metadata API, for its own step), and a rerun's
// carried-over outputs belong to steps it carries over as succeeded. It holds when run records job as its step's
// first attempt, running, and every other step as never submitted: the decision that submitted job submitted no
// other step (each job it submits is recorded in the run it stores), and from there no step can start before a job
// ends. A run that does not record job yet (read before the decision that submitted it was stored, which may have
// submitted others beside it that already ran) does not tell.
func firstJob(run store.Run, job store.Job) bool {
	for _, s := range run.Steps {
		switch {
		case s.Name == job.Step:
			if s.Job != job.ID || s.Status != api.StepRunning || s.Attempt != 1 {
				return false
			}
		case s.Status != api.StepPending && s.Status != "" || s.Attempt != 0 || s.Job != "":
			return false
		}
	}
	return true
}

// records reports whether run, live, with its definition, has job as the running job of job's step.
func records(run store.Run, job store.Job) bool {
	if run.Status.Final() || run.CancelRequested || run.Definition.Name == "" {
		return false
	}
	for _, s := range run.Steps {
		if s.Name == job.Step {
			return s.Job == job.ID && s.Status == api.StepRunning
		}
	}
	return false
}

// holdsAny reports whether s contains any of values.
func holdsAny(s string, values []string) bool {
	for _, v := range values {
		if v != "" && strings.Contains(s, v) {
			return true
		}
	}
	return false
}

// tokenLife is how long a step's token is valid: its timeout (else the run's, else a day), and a minute more. It
// is refused as soon as the step's job ended, whatever its expiry.
func tokenLife(w api.Workflow, step string) time.Duration {
	d := 24 * time.Hour
	if s, ok := stepOf(w, step); ok && s.Timeout > 0 {
		d = time.Duration(s.Timeout)
	} else if w.Timeout > 0 {
		d = time.Duration(w.Timeout)
	}
	return d + time.Minute
}

// attemptOfKey reads the attempt back from a step's idempotency key; 0 if it is not one.
func attemptOfKey(key string) int {
	i := strings.LastIndexByte(key, '/')
	var n int
	if i < 0 || !strings.HasPrefix(key, "run/") {
		return 0
	}
	fmt.Sscanf(key[i+1:], "%d", &n)
	return n
}

// Resolve evaluates step's env and spec in run as it is now, for the metadata API.
func (e *Engine) Resolve(ctx context.Context, run store.Run, step string) (workflow.Resolved, error) {
	r, _, err := e.resolve(ctx, run, step, true)
	return r, err
}

// resolve evaluates step's input, env and spec over the run's parameters, outputs, step statuses and the secrets
// the step references (from the runner it runs with), and returns the run's sensitive outputs as text, to mask.
// readValues false: the run has no values (firstJob), which are not read.
func (e *Engine) resolve(ctx context.Context, run store.Run, step string, readValues bool) (workflow.Resolved, []string, error) {
	plan, err := e.plans.forRun(run)
	if err != nil {
		return workflow.Resolved{}, nil, err
	}
	// A step's job may start before the advance that submitted it stored what it read (a dependency's end):
	// read the ends of the run's jobs here too. Not the step's own: it is the one running.
	if _, err := e.absorb(ctx, &run, nil, step); err != nil {
		return workflow.Resolved{}, nil, err
	}
	var values []store.RunValue
	if readValues {
		if values, err = e.st.RunValues(ctx, run.ID); err != nil {
			return workflow.Resolved{}, nil, err
		}
	}
	var sensitive []string
	for _, v := range values {
		// A sensitive output marked before it was set holds null: nothing to mask yet.
		if t := valueText(v.Value); v.Sensitive && v.Kind == store.ValueOutput && t != "" && t != "null" {
			sensitive = append(sensitive, t)
		}
	}
	st := stateOf(run, values, e.opts.Now())
	vars := workflow.Vars{Parameters: map[string]any{}, Outputs: map[string]map[string]any{}, Steps: map[string]api.StepStatus{}}
	if len(run.Parameters) > 0 {
		if err := json.Unmarshal(run.Parameters, &vars.Parameters); err != nil {
			return workflow.Resolved{}, nil, fmt.Errorf("run %s: parameters: %w", run.ID, err)
		}
	}
	for name, s := range st.Steps {
		vars.Steps[name] = s.Status
		out := map[string]any{}
		for k, raw := range s.Outputs {
			var x any
			if json.Unmarshal(raw, &x) == nil {
				out[k] = x
			}
		}
		vars.Outputs[name] = out
	}
	if names := plan.Secrets(step); len(names) > 0 {
		if vars.Secrets, err = e.secretsFor(ctx, run.Definition, step, names); err != nil {
			return workflow.Resolved{}, nil, err
		}
	}
	r, err := plan.Resolve(step, vars)
	return r, sensitive, err
}

// valueText is a value as it appears in text: a JSON string's contents, anything else's JSON.
func valueText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// secretsFor returns the named secrets of the runner step runs with (its own, or its task's): a workflow's
// secrets are its runners' secrets, which the step's job gets anyway.
func (e *Engine) secretsFor(ctx context.Context, w api.Workflow, step string, names []string) (map[string]string, error) {
	s, _ := stepOf(w, step)
	runner := s.Runner
	if s.Task != "" {
		t, err := e.st.GetTask(ctx, s.Task)
		if err != nil {
			return nil, fmt.Errorf("step %s: task %s: %w", step, s.Task, err)
		}
		runner = t.Runner
	}
	if runner == "" {
		return nil, api.Invalidf("step %q references secrets %s but runs with no runner to take them from", step, strings.Join(names, ", "))
	}
	r, err := e.st.GetRunner(ctx, runner)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.Invalidf("step %q: runner %q does not exist", step, runner)
	}
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		v, ok := r.Secret[n]
		if !ok {
			return nil, api.Invalidf("step %q: runner %q has no secret %q", step, runner, n)
		}
		out[n] = v
	}
	return out, nil
}

// StepSecrets returns the secrets step's definition references (in its env and spec), and no others, for the
// metadata API.
func (e *Engine) StepSecrets(ctx context.Context, run store.Run, step string) (map[string]string, error) {
	plan, err := e.plans.forRun(run)
	if err != nil {
		return nil, err
	}
	names := plan.Secrets(step)
	if len(names) == 0 {
		return map[string]string{}, nil
	}
	return e.secretsFor(ctx, run.Definition, step, names)
}

package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Workflow is a DAG of steps, each run as one job (Relay's workflow). Its runs take Parameters as input.
//
// Expressions: a string value in a step's input, env or spec may hold ${…} templates evaluated with CEL over
// parameters, outputs.<step>.<name>, steps.<step>.succeeded|failed|skipped and secrets.<name>; a string that is
// exactly one ${…} takes the expression's value (an object stays an object). A step's when entries are CEL
// expressions, written bare or as ${…}. Relay's YAML tags (!Parameter, !Output, !Secret) are read as the same
// expressions by the workflow parser.
type Workflow struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Parameters is a JSON Schema for a run's input (an object); Relay's {name: {description, default}} map is
	// accepted too and stored as the JSON Schema it means.
	Parameters json.RawMessage `json:"parameters,omitempty"`
	Steps      []Step          `json:"steps"`
	// Timeout ends a run that takes longer (its running steps are cancelled). Zero: no limit.
	Timeout Duration `json:"timeout,omitempty"`
	// Synchronous runs make POST /workflows/{name}/runs wait for the run (SyncTimeout at most) by default.
	Synchronous bool     `json:"synchronous,omitempty"`
	SyncTimeout Duration `json:"sync_timeout,omitempty"`
	// Triggers start runs: on a schedule, on a webhook or push, on an event (Relay's triggers).
	Triggers []WorkflowTrigger `json:"triggers,omitempty"`
}

// Step is one node of a workflow: a task (Task with Input as its EXTRA_VARS) or an inline job (Image with
// Command/Args/Input script lines, or Containers; Runner for a checkout).
type Step struct {
	Name string `json:"name"`
	// Description says what the step does (Relay's workflow library writes one).
	Description string `json:"description,omitempty"`
	// DependsOn names steps that must be final before this one starts (a single name reads as a list of one, as
	// Relay writes it).
	DependsOn Strings    `json:"dependsOn,omitempty"`
	When      Conditions `json:"when,omitempty"`
	// Timeout bounds each attempt of the step's job; Retries is how many more attempts a failed one gets.
	Timeout Duration `json:"timeout,omitempty"`
	Retries int      `json:"retries,omitempty"`

	Task string `json:"task,omitempty"`
	// Input is the task's input (any JSON, with templates) for a task step; for an inline step with an image,
	// Relay's script lines (a list of strings, run by the image's shell in order).
	Input json.RawMessage `json:"input,omitempty"`

	Image      string      `json:"image,omitempty"`
	Command    Strings     `json:"command,omitempty"`
	Args       []string    `json:"args,omitempty"`
	Containers []Container `json:"containers,omitempty"`
	Runner     string      `json:"runner,omitempty"`
	Env        EnvVars     `json:"env,omitempty"`
	// Spec is an object the step reads back from the metadata API (GET /spec), templates resolved.
	Spec json.RawMessage `json:"spec,omitempty"`
	// Files, Resources and Kubernetes are an inline step's job's input files (relative path → content, put in
	// its input directory, also at /keptn, before its container starts; base64 in JSON), resources and Kubernetes
	// settings, as a task's. An event rule's Keptn task sets them.
	Files      map[string][]byte `json:"files,omitempty"`
	Resources  *TaskResources    `json:"resources,omitempty"`
	Kubernetes *TaskKubernetes   `json:"kubernetes,omitempty"`
	// DiscardFiles: what the step's containers leave in their output and metadata directories is not kept with
	// its job (no one reads it: an event rule's Keptn task, whose contract has no output files). Keeping them costs
	// every job a copy, and on Kubernetes one more container.
	DiscardFiles bool `json:"discardFiles,omitempty"`
}

// Conditions are a step's when entries: it runs only when every one is true. They read one expression, a
// boolean, or a list of them.
type Conditions []string

// UnmarshalJSON reads a string, a boolean, or a list of strings and booleans.
func (c *Conditions) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("when: %w", err)
	}
	one := func(v any) (string, error) {
		switch v := v.(type) {
		case string:
			return v, nil
		case bool:
			return fmt.Sprint(v), nil
		}
		return "", fmt.Errorf("when: %v is neither an expression nor a boolean", v)
	}
	switch v := v.(type) {
	case nil:
		*c = nil
	case []any:
		out := make(Conditions, 0, len(v))
		for _, e := range v {
			s, err := one(e)
			if err != nil {
				return err
			}
			out = append(out, s)
		}
		*c = out
	default:
		s, err := one(v)
		if err != nil {
			return err
		}
		*c = Conditions{s}
	}
	return nil
}

// Strings is a list of strings that also reads a single string (as a one-element list), as Relay writes a
// step's command.
type Strings []string

// UnmarshalJSON reads a string (as a one-element list) or a list of strings.
func (s *Strings) UnmarshalJSON(b []byte) error {
	if t := strings.TrimSpace(string(b)); strings.HasPrefix(t, `"`) {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = Strings{one}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*s = l
	return nil
}

// RunStatus is where a workflow run is in its life. Queued and running are live; the rest are final.
type RunStatus string

// The statuses of a run.
const (
	RunQueued    RunStatus = "queued"
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunFailed    RunStatus = "failed"
	RunCancelled RunStatus = "cancelled"
)

// Final reports whether s is an end state.
func (s RunStatus) Final() bool {
	return s == RunSucceeded || s == RunFailed || s == RunCancelled
}

// StepStatus is where one step of a run is.
type StepStatus string

// The statuses of a step. Pending and running are live; the rest are final.
const (
	StepPending   StepStatus = "pending"
	StepRunning   StepStatus = "running"
	StepSucceeded StepStatus = "succeeded"
	StepFailed    StepStatus = "failed"
	StepSkipped   StepStatus = "skipped"
	StepCancelled StepStatus = "cancelled"
)

// Final reports whether s is an end state.
func (s StepStatus) Final() bool {
	return s == StepSucceeded || s == StepFailed || s == StepSkipped || s == StepCancelled
}

// Run is one run of a workflow.
type Run struct {
	ID             string          `json:"id"`
	Workflow       string          `json:"workflow"`
	Owner          string          `json:"owner"`
	Status         RunStatus       `json:"status"`
	Parameters     json.RawMessage `json:"parameters,omitempty"`
	CreateTime     time.Time       `json:"create_time"`
	StartTime      *time.Time      `json:"start_time,omitempty"`
	CompletionTime *time.Time      `json:"completion_time,omitempty"`
	Reason         string          `json:"reason,omitempty"`
	Steps          []StepRun       `json:"steps"`
	// Trigger is what started the run when no one submitted it directly (a cron job, a webhook, an event).
	Trigger *Trigger `json:"trigger,omitempty"`
}

// StepRun is one step of a run: its state, its current job and the outputs it produced.
type StepRun struct {
	Name   string     `json:"name"`
	Status StepStatus `json:"status"`
	// Job is the id of the step's job (its latest attempt's); empty before it was submitted.
	Job            string     `json:"job,omitempty"`
	Attempt        int        `json:"attempt,omitempty"`
	StartTime      *time.Time `json:"start_time,omitempty"`
	CompletionTime *time.Time `json:"completion_time,omitempty"`
	// Outputs are the step's outputs: its ^JSON result's top-level keys and what it set through the metadata API.
	// Sensitive ones read as Mask.
	Outputs map[string]json.RawMessage `json:"outputs,omitempty"`
	// Message says why the step was skipped (the when that was false) or failed.
	Message string `json:"message,omitempty"`
}

// RunCreated is the answer to a run submission that did not finish within the wait (Kriten's shape, as for jobs).
type RunCreated struct {
	Msg    string    `json:"msg"`
	ID     string    `json:"id"`
	Status RunStatus `json:"status,omitempty"`
}

// The environment of a workflow step's job, besides the job contract's: its run, step and attempt, the metadata
// API's base URL (also as Relay's METADATA_API_URL) and the step's token for it (a secret: masked in the log,
// never in a pod spec).
const (
	EnvRun         = "RUNPLANE_RUN"
	EnvStep        = "RUNPLANE_STEP"
	EnvAttempt     = "RUNPLANE_ATTEMPT"
	EnvMetadataURL = "RUNPLANE_METADATA_URL"
	EnvRelayURL    = "METADATA_API_URL"
	EnvStepToken   = "RUNPLANE_STEP_TOKEN"
)

// RunCreatedMsg is the message of a created run.
const RunCreatedMsg = "run created successfully"

package api

import "time"

// EventRules is a rule set: a Keptn job-executor-service job/config.yaml (apiVersion v2, actions) with a name and
// an owner. An event whose type matches an action runs the action's tasks in order as one workflow run, as the
// owner; like Keptn, the first matching action that is not silent handles an event, unless Multiple lets every
// matching action run.
//
// The fields carry json and yaml tags: the YAML form is Keptn's file unchanged.
type EventRules struct {
	Name string `json:"name" yaml:"name"`
	// Owner is the user the rules' runs run as: whoever created or last replaced the rule set (read-only).
	Owner      string        `json:"owner,omitempty" yaml:"owner,omitempty"`
	APIVersion string        `json:"apiVersion,omitempty" yaml:"apiVersion,omitempty"`
	Actions    []KeptnAction `json:"actions,omitempty" yaml:"actions,omitempty"`
	// Multiple lets every matching action run (runplane's addition; Keptn runs the first non-silent one).
	Multiple bool `json:"multiple,omitempty" yaml:"multiple,omitempty"`
	// Runner, when set, is the runner whose checkout and secrets the tasks run with (runplane's addition): an
	// env entry valueFrom secret reads that runner's secret of its name.
	Runner string `json:"runner,omitempty" yaml:"runner,omitempty"`
	// Path, instead of APIVersion and Actions, names a Keptn job/config.yaml in the runner's repository, read at
	// each event's commit (gitcommitid; else the branch head), as the job-executor reads its config from Keptn's
	// configuration repository (runplane's addition).
	Path string `json:"path,omitempty" yaml:"path,omitempty"`
	// Workflow is set by the server on the rule set of a workflow's event trigger (named <workflow>.<trigger>,
	// read-only): its one action starts a run of Workflow, with parameters bound from the event, instead of tasks.
	Workflow   string    `json:"workflow,omitempty" yaml:"-"`
	CreateTime time.Time `json:"created_at,omitzero" yaml:"-"`
	UpdateTime time.Time `json:"updated_at,omitzero" yaml:"-"`
}

// KeptnAction is one action of a job-executor config: the events that trigger it and the tasks it runs in order.
type KeptnAction struct {
	Name   string       `json:"name" yaml:"name"`
	Silent bool         `json:"silent,omitempty" yaml:"silent,omitempty"`
	Events []KeptnEvent `json:"events" yaml:"events"`
	Tasks  []KeptnTask  `json:"tasks" yaml:"tasks"`
}

// KeptnEvent matches an event: Name is a regular expression searched in the event's type (unanchored, as Go's
// regexp.MatchString does in Keptn); JSONPath, when its property is set, must give exactly Match on the event.
type KeptnEvent struct {
	Name     string        `json:"name" yaml:"name"`
	JSONPath KeptnJSONPath `json:"jsonpath,omitzero" yaml:"jsonpath,omitempty"`
}

// KeptnJSONPath is an equality filter on a JSONPath of the event ($.data.x, $.type, ...).
type KeptnJSONPath struct {
	Property string `json:"property" yaml:"property"`
	Match    string `json:"match" yaml:"match"`
}

// KeptnTask is one task of an action: one container, one step of the action's run.
type KeptnTask struct {
	Name                    string               `json:"name" yaml:"name"`
	Files                   []string             `json:"files,omitempty" yaml:"files,omitempty"`
	Image                   string               `json:"image" yaml:"image"`
	ImagePullPolicy         string               `json:"imagePullPolicy,omitempty" yaml:"imagePullPolicy,omitempty"`
	Cmd                     []string             `json:"cmd,omitempty" yaml:"cmd,omitempty"`
	Args                    []string             `json:"args,omitempty" yaml:"args,omitempty"`
	Env                     []KeptnEnv           `json:"env,omitempty" yaml:"env,omitempty"`
	Resources               *KeptnResources      `json:"resources,omitempty" yaml:"resources,omitempty"`
	WorkingDir              string               `json:"workingDir,omitempty" yaml:"workingDir,omitempty"`
	MaxPollDuration         *int                 `json:"maxPollDuration,omitempty" yaml:"maxPollDuration,omitempty"`
	Namespace               string               `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	TTLSecondsAfterFinished *int32               `json:"ttlSecondsAfterFinished,omitempty" yaml:"ttlSecondsAfterFinished,omitempty"`
	SecurityContext         KeptnSecurityContext `json:"securityContext,omitzero" yaml:"securityContext,omitempty"`
	ServiceAccount          *string              `json:"serviceAccount,omitempty" yaml:"serviceAccount,omitempty"`
	Annotations             map[string]string    `json:"annotations,omitempty" yaml:"annotations,omitempty"`
}

// KeptnEnv is one environment entry of a task: from the event (Value a JSONPath, As string|json|yaml), from a
// secret (Name the secret), or a string (Value).
type KeptnEnv struct {
	Name      string `json:"name" yaml:"name"`
	Value     string `json:"value,omitempty" yaml:"value,omitempty"`
	ValueFrom string `json:"valueFrom" yaml:"valueFrom"`
	As        string `json:"as,omitempty" yaml:"as,omitempty"`
}

// The sources of a KeptnEnv value.
const (
	EnvFromEvent  = "event"
	EnvFromSecret = "secret"
	EnvFromString = "string"
)

// KeptnResources are a task's resource requirements.
type KeptnResources struct {
	Limits   KeptnResourceList `json:"limits,omitzero" yaml:"limits,omitempty"`
	Requests KeptnResourceList `json:"requests,omitzero" yaml:"requests,omitempty"`
}

// KeptnResourceList is a cpu and memory quantity.
type KeptnResourceList struct {
	CPU    string `json:"cpu,omitempty" yaml:"cpu,omitempty"`
	Memory string `json:"memory,omitempty" yaml:"memory,omitempty"`
}

// KeptnSecurityContext is the subset of a Kubernetes container security context a task may set.
type KeptnSecurityContext struct {
	Capabilities             *KeptnCapabilities `json:"capabilities,omitempty" yaml:"capabilities,omitempty"`
	Privileged               *bool              `json:"privileged,omitempty" yaml:"privileged,omitempty"`
	RunAsUser                *int64             `json:"runAsUser,omitempty" yaml:"runAsUser,omitempty"`
	RunAsGroup               *int64             `json:"runAsGroup,omitempty" yaml:"runAsGroup,omitempty"`
	RunAsNonRoot             *bool              `json:"runAsNonRoot,omitempty" yaml:"runAsNonRoot,omitempty"`
	ReadOnlyRootFilesystem   *bool              `json:"readOnlyRootFilesystem,omitempty" yaml:"readOnlyRootFilesystem,omitempty"`
	AllowPrivilegeEscalation *bool              `json:"allowPrivilegeEscalation,omitempty" yaml:"allowPrivilegeEscalation,omitempty"`
	ProcMount                *string            `json:"procMount,omitempty" yaml:"procMount,omitempty"`
	SeccompProfile           *KeptnSeccomp      `json:"seccompProfile,omitempty" yaml:"seccompProfile,omitempty"`
}

// KeptnCapabilities are the capabilities added to and dropped from a task's container.
type KeptnCapabilities struct {
	Add  []string `json:"add,omitempty" yaml:"add,omitempty"`
	Drop []string `json:"drop,omitempty" yaml:"drop,omitempty"`
}

// KeptnSeccomp is a container's seccomp profile.
type KeptnSeccomp struct {
	Type             *string `json:"type" yaml:"type"`
	LocalhostProfile *string `json:"localhostProfile,omitempty" yaml:"localhostProfile,omitempty"`
}

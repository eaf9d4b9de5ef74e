package api

import (
	"encoding/json"
	"strings"
	"time"
)

// Task is a command in a runner's repository, with an input schema.
type Task struct {
	Name    string `json:"name"`
	Runner  string `json:"runner"`
	Command string `json:"command"`
	// Containers, instead of Command, make each job run these containers in order in one workspace (see
	// Container); Runner is then optional (a checkout when set).
	Containers  []Container     `json:"containers,omitempty"`
	Synchronous bool            `json:"synchronous"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	// Timeout ends a job that runs longer, killing its whole process tree (reason "timeout"). Zero: no limit.
	Timeout Duration `json:"timeout,omitempty"`
	// SyncTimeout is how long a synchronous submission waits for the job before answering as async.
	// Zero: DefaultSyncTimeout.
	SyncTimeout Duration `json:"sync_timeout,omitempty"`
	// Resources bound what each job may use (cpu, memory, pids), in every executor. Nil: no limits, unless
	// kubernetes.resources sets some, which then apply in every executor too (see EffectiveLimits).
	Resources *TaskResources `json:"resources,omitempty"`
	// Network is the network the task's jobs get: "" or NetworkNone (no network, only their own loopback),
	// NetworkPrivate or NetworkHost. Container executors enforce it; the local one shares the host's network.
	Network string `json:"network,omitempty"`
	// Kubernetes places and sizes the task's jobs on a container executor; others ignore it. Nil: the defaults.
	Kubernetes *TaskKubernetes `json:"kubernetes,omitempty"`
}

// DefaultSyncTimeout is how long a synchronous task's submission waits when the task sets no sync_timeout.
const DefaultSyncTimeout = 20 * time.Second

// MaxSyncTimeout bounds how long any request may wait for a job.
const MaxSyncTimeout = 10 * time.Minute

// Validate checks the fields a task needs, without a store. It does not compile the schema.
func (t *Task) Validate() error {
	if err := ValidateName(t.Name); err != nil {
		return err
	}
	switch {
	case len(t.Containers) > 0:
		if t.Command != "" {
			return Invalidf("command and containers: give one of them")
		}
		if err := ValidateContainers("containers", t.Containers); err != nil {
			return err
		}
	case t.Runner == "":
		return Invalidf("runner is required")
	case t.Command == "":
		return Invalidf("command is required (or containers)")
	}
	if len(t.Command) > 64<<10 {
		return Invalidf("command longer than 64 KiB")
	}
	if strings.IndexByte(t.Command, 0) >= 0 {
		return Invalidf("command must not contain NUL bytes: it is run as sh -c <command>")
	}
	if t.Timeout < 0 || t.SyncTimeout < 0 {
		return Invalidf("timeout and sync_timeout must not be negative")
	}
	if time.Duration(t.SyncTimeout) > MaxSyncTimeout {
		return Invalidf("sync_timeout must be at most %s", MaxSyncTimeout)
	}
	if len(t.Schema) > 0 && string(t.Schema) != "null" && !json.Valid(t.Schema) {
		return Invalidf("schema is not valid JSON")
	}
	if err := t.Resources.Validate(); err != nil {
		return err
	}
	if err := ValidateNetwork(t.Network); err != nil {
		return err
	}
	return t.Kubernetes.Validate()
}

// EffectiveLimits are the resource limits t's jobs run with: resources.limits, or, when the task sets no
// resources, kubernetes.resources.limits, so that a task written for Kubernetes is limited in every executor.
func (t *Task) EffectiveLimits() *ResourceRequirements {
	if !t.Resources.IsZero() {
		return (*ResourceRequirements)(t.Resources)
	}
	if t.Kubernetes != nil {
		return t.Kubernetes.Resources
	}
	return nil
}

// EffectiveSyncTimeout is how long a synchronous submission of t waits by default.
func (t *Task) EffectiveSyncTimeout() time.Duration {
	if t.SyncTimeout > 0 {
		return time.Duration(t.SyncTimeout)
	}
	return DefaultSyncTimeout
}

package api

import (
	"encoding/json"
	"time"
)

// Kratix's names, as its files and status spell them.
const (
	// KratixAPIVersion is the apiVersion of Kratix's own kinds (Promise, Pipeline, Destination, ...).
	KratixAPIVersion = "platform.kratix.io/v1alpha1"
	KindPromise      = "Promise"
	// PromiseVersionLabel is the label that carries a promise's version.
	PromiseVersionLabel = "kratix.io/promise-version"
	// PromiseStatusAvailable and PromiseStatusUnavailable are a promise's status.status.
	PromiseStatusAvailable   = "Available"
	PromiseStatusUnavailable = "Unavailable"
)

// Promise is a Kratix Promise as Kratix writes it: an API (a CustomResourceDefinition) that resources are requested
// from, the workflows that fulfil them, and where their output goes. A file written for Kratix reads unchanged;
// fields runplane does not know are ignored.
type Promise struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Metadata   ObjectMeta    `json:"metadata"`
	Spec       PromiseSpec   `json:"spec"`
	Status     PromiseStatus `json:"status"`
}

// ObjectMeta is the Kubernetes object metadata runplane keeps. The server sets Generation (incremented when the
// spec changes), UID, CreationTimestamp and ResourceVersion (the stored version: a PUT that names one is stored
// only over that version, else 409).
type ObjectMeta struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	Generation        int64             `json:"generation,omitempty"`
	UID               string            `json:"uid,omitempty"`
	ResourceVersion   string            `json:"resourceVersion,omitempty"`
	CreationTimestamp *time.Time        `json:"creationTimestamp,omitempty"`
}

// PromiseSpec is a Kratix PromiseSpec.
type PromiseSpec struct {
	// API is the CustomResourceDefinition of the requests' type, as written (apiextensions.k8s.io/v1).
	API              json.RawMessage   `json:"api,omitempty"`
	Workflows        PromiseWorkflows  `json:"workflows,omitzero"`
	RequiredPromises []RequiredPromise `json:"requiredPromises,omitempty"`
	// Dependencies are static manifests written to every destination the promise is scheduled to.
	Dependencies         []json.RawMessage   `json:"dependencies,omitempty"`
	DestinationSelectors []PromiseScheduling `json:"destinationSelectors,omitempty"`
}

// PromiseWorkflows are a promise's pipelines: for each request (Resource) and for the promise itself (Promise),
// on configure (create, update, reconcile) and on delete.
type PromiseWorkflows struct {
	Config   WorkflowsConfig `json:"config,omitzero"`
	Resource WorkflowActions `json:"resource,omitzero"`
	Promise  WorkflowActions `json:"promise,omitzero"`
}

// WorkflowsConfig is spec.workflows.config.
type WorkflowsConfig struct {
	PipelineNamespace string `json:"pipelineNamespace,omitempty"`
	// ReconciliationInterval is a Go duration ("10h"), how often configure workflows run again.
	ReconciliationInterval string `json:"reconciliationInterval,omitempty"`
}

// WorkflowActions lists the pipelines of an action, run in order.
type WorkflowActions struct {
	Configure []Pipeline `json:"configure,omitempty"`
	Delete    []Pipeline `json:"delete,omitempty"`
}

// RequiredPromise names a promise, at a version, that must be installed for this one to be available.
type RequiredPromise struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// PromiseScheduling selects destinations by their labels.
type PromiseScheduling struct {
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// PromiseStatus is a promise's status as Kratix shows it.
type PromiseStatus struct {
	Conditions         []Condition             `json:"conditions,omitempty"`
	Message            string                  `json:"message,omitempty"`
	Status             string                  `json:"status,omitempty"`
	Version            string                  `json:"version,omitempty"`
	Kind               string                  `json:"kind,omitempty"`
	APIVersion         string                  `json:"apiVersion,omitempty"`
	ObservedGeneration int64                   `json:"observedGeneration,omitempty"`
	Kratix             *KratixStatus           `json:"kratix,omitempty"`
	RequiredPromises   []RequiredPromiseStatus `json:"requiredPromises,omitempty"`
	Workflows          int64                   `json:"workflows,omitempty"`
	WorkflowsSucceeded int64                   `json:"workflowsSucceeded,omitempty"`
	WorkflowsFailed    int64                   `json:"workflowsFailed,omitempty"`
	LastAvailableTime  *time.Time              `json:"lastAvailableTime,omitempty"`
}

// Condition is a Kubernetes condition (metav1.Condition).
type Condition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"` // True, False or Unknown
	Reason             string    `json:"reason,omitempty"`
	Message            string    `json:"message,omitempty"`
	LastTransitionTime time.Time `json:"lastTransitionTime"`
	ObservedGeneration int64     `json:"observedGeneration,omitempty"`
}

// KratixStatus is status.kratix: Kratix's own bookkeeping, which pipelines may not write.
type KratixStatus struct {
	Kind              string          `json:"kind,omitempty"`
	Version           string          `json:"version,omitempty"`
	APIVersion        string          `json:"apiVersion,omitempty"`
	Status            string          `json:"status,omitempty"`
	LastAvailableTime *time.Time      `json:"lastAvailableTime,omitempty"`
	Workflows         KratixWorkflows `json:"workflows,omitzero"`
	// DeletionTimestamp is when a delete was asked for: the delete workflow runs, then the object is removed.
	DeletionTimestamp *time.Time `json:"deletionTimestamp,omitempty"`
	// Outputs say where the pipelines' output went (Kratix #823).
	Outputs []KratixOutput `json:"outputs,omitempty"`
}

// KratixOutput is one workload group of a pipeline's output at one destination: where its files were written.
type KratixOutput struct {
	Pipeline string `json:"pipeline"`
	// Group is the workload group's id, Directory its directory in the output ("." for the default group).
	Group     string `json:"group"`
	Directory string `json:"directory,omitempty"`
	// Destination and StateStore are where the files went; "" when no destination matched (Message says so).
	Destination string `json:"destination,omitempty"`
	StateStore  string `json:"stateStore,omitempty"`
	// Path is the placement's directory in the state store (mode nestedByMetadata), Files the files written,
	// relative to the store's root; Version the commit that holds them (git).
	Path    string   `json:"path,omitempty"`
	Files   []string `json:"files,omitempty"`
	Version string   `json:"version,omitempty"`
	Message string   `json:"message,omitempty"`
	// Job is the pipeline job whose output this is: a group that matched no destination is placed from it when
	// one appears.
	Job string `json:"job,omitempty"`
	// Selectors are the group's own selectors from its pipeline's destination-selectors.yaml; a promise
	// workflow's, for its default group, also apply to its requests' output (Kratix's promise-workflow source).
	Selectors map[string]string `json:"selectors,omitempty"`
}

// KratixWorkflows is the state of each pipeline of the last workflow.
type KratixWorkflows struct {
	Pipelines           []PipelineStatus `json:"pipelines,omitempty"`
	SuspendedGeneration int64            `json:"suspendedGeneration,omitempty"`
	// Action, Generation, PromiseGeneration and Round are runplane's: the workflow the pipelines are of, the
	// object's and its promise's generations they run for, and how many times the workflow was started, resumed
	// or retried (part of each pipeline run's idempotency key).
	Action            string `json:"action,omitempty"`
	Generation        int64  `json:"generation,omitempty"`
	PromiseGeneration int64  `json:"promiseGeneration,omitempty"`
	Round             int64  `json:"round,omitempty"`
}

// PipelineStatus is one pipeline's phase: Pending, Running, Succeeded, Failed or Suspended.
type PipelineStatus struct {
	Name               string     `json:"name"`
	Phase              string     `json:"phase"`
	Message            string     `json:"message,omitempty"`
	NextRetryAt        *time.Time `json:"nextRetryAt,omitempty"`
	Attempts           int        `json:"attempts,omitempty"`
	LastTransitionTime *time.Time `json:"lastTransitionTime,omitempty"`
}

// RequiredPromiseStatus is how one required promise stands: State is Kratix's sentence ("Requirement installed",
// "Requirement not installed", "Requirement not installed at the specified version").
type RequiredPromiseStatus struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	State   string `json:"state"`
}

// ResourceRequest is a request for a resource of a promise's API, as Kratix writes it in object.yaml: apiVersion
// and kind are the promise's API, spec any JSON object its schema accepts (stored with defaults applied), status
// what the server and the pipelines wrote (status.yaml merged into it).
type ResourceRequest struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   ObjectMeta      `json:"metadata"`
	Spec       json.RawMessage `json:"spec,omitempty"`
	Status     json.RawMessage `json:"status,omitempty"`
}

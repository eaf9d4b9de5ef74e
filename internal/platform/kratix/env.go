package kratix

import (
	"strconv"
	"strings"

	"github.com/runplane/runplane/api"
)

// WorkflowType says whose workflow runs: a resource request's or a promise's (KRATIX_WORKFLOW_TYPE).
type WorkflowType string

// The workflow types.
const (
	TypeResource WorkflowType = "resource"
	TypePromise  WorkflowType = "promise"
)

// Action is the workflow that runs: configure (on create, update and reconcile) or delete
// (KRATIX_WORKFLOW_ACTION).
type Action string

// The workflow actions.
const (
	ActionConfigure Action = "configure"
	ActionDelete    Action = "delete"
)

// What a promise is to its own workflows: Kratix's Promise kind, cluster-scoped.
const (
	PromiseAPIVersion = "platform.kratix.io/v1alpha1"
	PromiseKind       = "Promise"
	PromisePlural     = "promises"
)

// The environment variables Kratix gives every pipeline container (api/v1alpha1/pipeline_types.go).
const (
	EnvWorkflowAction  = "KRATIX_WORKFLOW_ACTION"
	EnvWorkflowType    = "KRATIX_WORKFLOW_TYPE"
	EnvPromiseName     = "KRATIX_PROMISE_NAME"
	EnvPipelineName    = "KRATIX_PIPELINE_NAME"
	EnvObjectKind      = "KRATIX_OBJECT_KIND"
	EnvObjectGroup     = "KRATIX_OBJECT_GROUP"
	EnvObjectVersion   = "KRATIX_OBJECT_VERSION"
	EnvObjectName      = "KRATIX_OBJECT_NAME"
	EnvObjectNamespace = "KRATIX_OBJECT_NAMESPACE"
	EnvCRDPlural       = "KRATIX_CRD_PLURAL"
	EnvClusterScoped   = "KRATIX_CLUSTER_SCOPED"
)

// Target is the object a workflow runs for, and how its API names it.
type Target struct {
	Type    WorkflowType `json:"type"`
	Action  Action       `json:"action"`
	Promise string       `json:"promise"`
	// APIVersion ("group/version"), Kind, Name and Namespace are the object's: the request's, or the promise's
	// (PromiseTarget). Namespace is "" for a cluster-scoped object.
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Namespace  string `json:"namespace,omitempty"`
	// Plural is the plural of the object's kind in its API (the CRD's spec.names.plural; "promises").
	Plural        string `json:"plural"`
	ClusterScoped bool   `json:"clusterScoped,omitempty"`
}

// PromiseTarget is the target of a promise's own workflow: the Promise object, cluster-scoped, as Kratix's
// Pipeline.ForPromise names it.
func PromiseTarget(promise string, action Action) Target {
	return Target{Type: TypePromise, Action: action, Promise: promise, APIVersion: PromiseAPIVersion,
		Kind: PromiseKind, Name: promise, Plural: PromisePlural, ClusterScoped: true}
}

// ResourceTarget is the target of a resource request's workflow: the request of kind (apiVersion "group/version",
// plural as the promise's API names it) called name in namespace ("" when the API is cluster-scoped).
func ResourceTarget(promise string, action Action, apiVersion, kind, plural, name, namespace string, clusterScoped bool) Target {
	if clusterScoped {
		namespace = ""
	}
	return Target{Type: TypeResource, Action: action, Promise: promise, APIVersion: apiVersion, Kind: kind,
		Name: name, Namespace: namespace, Plural: plural, ClusterScoped: clusterScoped}
}

// GroupVersion splits an apiVersion as Kubernetes does: "group/version", or a version alone (the core group "").
func GroupVersion(apiVersion string) (group, version string) {
	if i := strings.LastIndexByte(apiVersion, '/'); i >= 0 {
		return apiVersion[:i], apiVersion[i+1:]
	}
	return "", apiVersion
}

// Env is the KRATIX_* environment of every container of pipeline in t's workflow, in Kratix's order and with its
// values (PipelineFactory.defaultEnvVars): a promise workflow names the Promise (kind Promise, group
// platform.kratix.io, version v1alpha1, the promise's name, namespace "", plural promises, cluster-scoped true).
func Env(t Target, pipeline string) api.EnvVars {
	group, version := GroupVersion(t.APIVersion)
	ns := t.Namespace
	if t.ClusterScoped {
		ns = ""
	}
	return api.EnvVars{
		{Name: EnvWorkflowAction, Value: string(t.Action)},
		{Name: EnvWorkflowType, Value: string(t.Type)},
		{Name: EnvPromiseName, Value: t.Promise},
		{Name: EnvPipelineName, Value: pipeline},
		{Name: EnvObjectKind, Value: t.Kind},
		{Name: EnvObjectGroup, Value: group},
		{Name: EnvObjectVersion, Value: version},
		{Name: EnvObjectName, Value: t.Name},
		{Name: EnvObjectNamespace, Value: ns},
		{Name: EnvCRDPlural, Value: t.Plural},
		{Name: EnvClusterScoped, Value: strconv.FormatBool(t.ClusterScoped)},
	}
}

package promise

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/runplane/runplane/api"
)

// DefaultNamespace is a request's namespace when none is given.
const DefaultNamespace = "default"

// CheckRequest checks a resource request of the type a defines and returns it as it is stored: apiVersion the
// storage version's, namespace filled in (none for a cluster-scoped type, whatever was given), spec pruned and defaulted (Schema.Apply)
// with the schema of the served version the request names. Server-set metadata (generation, uid,
// resourceVersion, creationTimestamp) and status are left for the caller.
func CheckRequest(a *API, r api.ResourceRequest) (api.ResourceRequest, error) {
	v := a.Served(r.APIVersion)
	if v == nil {
		return r, api.Invalidf("apiVersion: Unsupported value: %q: supported values: %s", r.APIVersion, quotedServed(a))
	}
	if r.Kind != a.Names.Kind {
		return r, api.Invalidf("kind: Unsupported value: %q: supported values: %q", r.Kind, a.Names.Kind)
	}
	if err := ValidateName("metadata.name", r.Metadata.Name); err != nil {
		return r, err
	}
	if a.Namespaced() {
		if r.Metadata.Namespace == "" {
			r.Metadata.Namespace = DefaultNamespace
		}
		if err := ValidateName("metadata.namespace", r.Metadata.Namespace); err != nil {
			return r, err
		}
	} else {
		r.Metadata.Namespace = "" // as the API server ignores a namespace given to a cluster-scoped object
	}
	if err := checkLabels("metadata.labels", r.Metadata.Labels); err != nil {
		return r, err
	}
	what := fmt.Sprintf("%s.%s %q", a.Names.Kind, a.Group, r.Metadata.Name)
	spec, err := v.Schema.Apply(what, r.Spec)
	if err != nil {
		return r, err
	}
	r.Spec = spec
	r.APIVersion = a.APIVersion()
	return r, nil
}

func quotedServed(a *API) string {
	var vs []any
	for _, v := range a.Versions {
		if v.Served {
			vs = append(vs, a.Group+"/"+v.Name)
		}
	}
	return quotedList(vs)
}

// checkLabels checks label keys and values as Kubernetes does, roughly: keys up to 317 bytes ([prefix/]name),
// values up to 63.
func checkLabels(path string, labels map[string]string) error {
	for k, v := range labels {
		if k == "" || len(k) > 317 {
			return api.Invalidf("%s: Invalid value: %q: a label key must be a qualified name", path, k)
		}
		if len(v) > 63 {
			return api.Invalidf("%s: Invalid value: %.20q...: a label value must be no more than 63 characters", path, v)
		}
	}
	return nil
}

// Kratix's words for a request that no pipeline has run for yet.
const (
	MessagePending = "Pending"
	// ConditionConfigureWorkflowCompleted is the request's (and promise's) workflow condition.
	ConditionConfigureWorkflowCompleted = "ConfigureWorkflowCompleted"
	ReasonPipelinesInProgress           = "PipelinesInProgress"
	MessagePipelinesInProgress          = "Pipelines are still in progress"
)

// PendingStatus is a new request's status as Kratix shows it before its configure workflow ran: message Pending
// and ConfigureWorkflowCompleted False (PipelinesInProgress), with the generation it observed.
func PendingStatus(now time.Time, generation int64) json.RawMessage {
	st := map[string]any{
		"message":            MessagePending,
		"observedGeneration": generation,
		"conditions": []api.Condition{{
			Type:               ConditionConfigureWorkflowCompleted,
			Status:             "False",
			Reason:             ReasonPipelinesInProgress,
			Message:            MessagePipelinesInProgress,
			LastTransitionTime: now.UTC().Truncate(time.Second),
		}},
	}
	b, _ := json.Marshal(st)
	return b
}

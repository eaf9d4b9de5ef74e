package promise

import (
	"time"

	"github.com/runplane/runplane/api"
)

// Kratix's states and words for a promise's requirements and availability.
const (
	RequirementInstalled             = "Requirement installed"
	RequirementNotInstalled          = "Requirement not installed"
	RequirementNotInstalledAtVersion = "Requirement not installed at the specified version"
	ConditionRequirementsFulfilled   = "RequirementsFulfilled"
	ConditionAvailable               = "Available"
	reasonRequirementsInstalled      = "RequirementsInstalled"
	reasonRequirementsNotInstalled   = "RequirementsNotInstalled"
	reasonPromiseAvailable           = "PromiseAvailable"
	reasonPromiseUnavailable         = "PromiseUnavailable"
	messageRequirementsFulfilled     = "Requirements fulfilled"
	messageRequirementsNotFulfilled  = "Requirements not fulfilled"
	messageAvailable                 = "Ready to fulfil resource requests"
	messageUnavailable               = "Cannot fulfil resource requests"
)

// Version is a promise's version: its kratix.io/promise-version label, "" when it has none.
func PromiseVersion(p api.Promise) string { return p.Metadata.Labels[api.PromiseVersionLabel] }

// Status computes a promise's status as Kratix shows it before any workflow ran, from what is installed:
// installed maps each stored promise's name to its version. A promise whose required promises are all installed
// at the versions it names is Available; otherwise it is stored Unavailable with RequirementsFulfilled False,
// each requirement's state, and a message naming the first unmet one, and requests for it are refused until a
// later write (of it or of the promise it requires) finds its requirements met. The conditions keep their
// lastTransitionTime when their status did not change from prev.
func Status(p api.Promise, a *API, installed map[string]string, prev api.PromiseStatus, now time.Time) api.PromiseStatus {
	now = now.UTC().Truncate(time.Second)
	st := api.PromiseStatus{
		Version:            PromiseVersion(p),
		ObservedGeneration: p.Metadata.Generation,
		Kratix:             &api.KratixStatus{Version: PromiseVersion(p)},
	}
	if a != nil {
		st.Kind, st.APIVersion = a.Names.Kind, a.APIVersion()
		st.Kratix.Kind, st.Kratix.APIVersion = st.Kind, st.APIVersion
	}
	fulfilled := true
	unmet := ""
	for _, r := range p.Spec.RequiredPromises {
		state := RequirementInstalled
		v, ok := installed[r.Name]
		switch {
		case !ok:
			state = RequirementNotInstalled
		case v != r.Version:
			state = RequirementNotInstalledAtVersion
		}
		if state != RequirementInstalled {
			if fulfilled {
				unmet = "required promise " + r.Name + " at version " + r.Version + ": " + state
			}
			fulfilled = false
		}
		st.RequiredPromises = append(st.RequiredPromises, api.RequiredPromiseStatus{Name: r.Name, Version: r.Version, State: state})
	}
	var conds []api.Condition
	if len(p.Spec.RequiredPromises) > 0 {
		c := api.Condition{Type: ConditionRequirementsFulfilled, Status: "True", Reason: reasonRequirementsInstalled,
			Message: messageRequirementsFulfilled}
		if !fulfilled {
			c.Status, c.Reason, c.Message = "False", reasonRequirementsNotInstalled, messageRequirementsNotFulfilled
		}
		conds = append(conds, c)
	}
	avail := api.Condition{Type: ConditionAvailable, Status: "True", Reason: reasonPromiseAvailable, Message: messageAvailable}
	if fulfilled {
		st.Status, st.Kratix.Status = api.PromiseStatusAvailable, api.PromiseStatusAvailable
		st.Message = "Available"
		t := now
		if prev.Status == api.PromiseStatusAvailable && prev.LastAvailableTime != nil {
			t = *prev.LastAvailableTime
		}
		st.LastAvailableTime, st.Kratix.LastAvailableTime = &t, &t
	} else {
		avail.Status, avail.Reason, avail.Message = "False", reasonPromiseUnavailable, messageUnavailable
		st.Status, st.Kratix.Status = api.PromiseStatusUnavailable, api.PromiseStatusUnavailable
		st.Message = "Unavailable: " + unmet
	}
	conds = append(conds, avail)
	for i := range conds {
		conds[i].ObservedGeneration = p.Metadata.Generation
		conds[i].LastTransitionTime = now
		for _, old := range prev.Conditions {
			if old.Type == conds[i].Type && old.Status == conds[i].Status {
				conds[i].LastTransitionTime = old.LastTransitionTime
			}
		}
	}
	st.Conditions = conds
	// What the workflows of the promise set (the controller's bookkeeping, their conditions and counters) is theirs:
	// kept as it was.
	for _, c := range prev.Conditions {
		if c.Type != ConditionRequirementsFulfilled && c.Type != ConditionAvailable {
			st.Conditions = append(st.Conditions, c)
		}
	}
	if k := prev.Kratix; k != nil {
		st.Kratix.Workflows, st.Kratix.DeletionTimestamp, st.Kratix.Outputs = k.Workflows, k.DeletionTimestamp, k.Outputs
	}
	st.Workflows, st.WorkflowsSucceeded, st.WorkflowsFailed = prev.Workflows, prev.WorkflowsSucceeded, prev.WorkflowsFailed
	return st
}

// Available reports whether requests may be made of a promise with this status.
func Available(st api.PromiseStatus) bool { return st.Status == api.PromiseStatusAvailable }

package api

import (
	"encoding/json"
	"time"
)

// Access is what a role grants: write implies read.
type Access string

// The two levels of access.
const (
	AccessRead  Access = "read"
	AccessWrite Access = "write"
)

// Resources a role can grant access to. ResourceAll ("*") grants every resource, still at the role's access.
const (
	ResourceAll          = "*"
	ResourceRunners      = "runners"
	ResourceTasks        = "tasks"
	ResourceJobs         = "jobs"
	ResourceCronJobs     = "cronjobs"
	ResourceUsers        = "users"
	ResourceGroups       = "groups"
	ResourceRoles        = "roles"
	ResourceRoleBindings = "role_bindings"
	ResourceAPITokens    = "api_tokens"
	ResourceWebhooks     = "webhooks"
	ResourceAuditLogs    = "audit_logs"
	// ResourceWorkflows guards workflow definitions; ResourceRuns their runs, by workflow name (write: may start
	// and cancel them).
	ResourceWorkflows = "workflows"
	ResourceRuns      = "runs"
	// ResourceEvents guards CloudEvents, by source (write: may post events of that source); ResourceEventRules
	// event rule sets, by name.
	ResourceEvents     = "events"
	ResourceEventRules = "event_rules"
	// ResourcePromises guards Kratix promises, by name; ResourceResources the resource requests made of them, by
	// the name of their promise (write: may request, change and delete them).
	ResourcePromises  = "promises"
	ResourceResources = "resources"
)

// Resources lists every resource a role may name, "*" excepted, in a stable order.
var Resources = []string{
	ResourceRunners, ResourceTasks, ResourceJobs, ResourceCronJobs, ResourceUsers, ResourceGroups, ResourceRoles,
	ResourceRoleBindings, ResourceAPITokens, ResourceWebhooks, ResourceAuditLogs, ResourceWorkflows, ResourceRuns,
	ResourceEventSinks,
	ResourceEvents, ResourceEventRules, ResourcePromises, ResourceResources,
	ResourceDestinations, ResourceStateStores, ResourceCompositionDefinitions, ResourceCompositions,
}

// AllIDs in ResourceIDs grants every object of the resource.
const AllIDs = "*"

// Role grants Access to the objects ResourceIDs of Resource. Objects are named as their routes address them:
// runners, tasks and cronjobs by name, jobs by the name of their task, the rest by id.
type Role struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Resource    string    `json:"resource"`
	ResourceIDs []string  `json:"resource_ids"`
	Access      Access    `json:"access"`
	Builtin     bool      `json:"builtin,omitempty"`
	CreateTime  time.Time `json:"created_at"`
	UpdateTime  time.Time `json:"updated_at"`
}

// UnmarshalJSON accepts resource_names, Kriten's newer spelling, as a synonym of resource_ids (which wins when
// both are sent). Like encoding/json, it keeps the fields the document does not mention, so a PATCH can decode
// onto the stored role.
func (r *Role) UnmarshalJSON(b []byte) error {
	type plain Role
	var names struct {
		IDs   *[]string `json:"resource_ids"`
		Names *[]string `json:"resource_names"`
	}
	if err := json.Unmarshal(b, &names); err != nil {
		return err
	}
	if err := json.Unmarshal(b, (*plain)(r)); err != nil {
		return err
	}
	if names.IDs == nil && names.Names != nil {
		r.ResourceIDs = *names.Names
	}
	return nil
}

// Validate checks a role, without a store.
func (r *Role) Validate() error {
	if r.Name == "" {
		return Invalidf("name is required")
	}
	if err := validateLabel("name", r.Name, 256); err != nil {
		return err
	}
	if !ValidResource(r.Resource) {
		return Invalidf("resource %q: want one of %v or %q", r.Resource, Resources, ResourceAll)
	}
	if r.Access != AccessRead && r.Access != AccessWrite {
		return Invalidf("access %q: want %q or %q", r.Access, AccessRead, AccessWrite)
	}
	if len(r.ResourceIDs) == 0 {
		return Invalidf("resource_ids is required: list names or ids, or %q for all", AllIDs)
	}
	return validateIDs("resource_ids", r.ResourceIDs)
}

// ValidResource reports whether a role may name resource.
func ValidResource(resource string) bool {
	if resource == ResourceAll {
		return true
	}
	for _, r := range Resources {
		if r == resource {
			return true
		}
	}
	return false
}
